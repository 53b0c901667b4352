// Package dialplan decides where a call goes: destinations, and the
// dial-plan language (docs/dialplan.md): lexer, parser, validator,
// interpreter and trace. It is a pure library: no I/O, no SIP, no database.
package dialplan

import (
	"errors"
	"fmt"
	"strings"
)

// Destination kinds, as written before the first colon.
const (
	KindExtension  = "extension"
	KindVoicemail  = "voicemail"
	KindRingGroup  = "ringgroup"
	KindIVR        = "ivr"
	KindConference = "conference"
	KindTrunk      = "trunk"
	KindNumber     = "number"
	KindHangup     = "hangup"
)

// ErrBadDestination is wrapped by every destination syntax error.
var ErrBadDestination = errors.New("invalid destination")

// Destination is a parsed target such as "extension:101" or "trunk:pstn:5551234".
type Destination struct {
	Kind   string
	Number string // the number for every kind but hangup
	Trunk  string // the trunk name for kind trunk
}

// String formats d back into its canonical text form.
func (d Destination) String() string {
	switch d.Kind {
	case KindHangup:
		return KindHangup
	case KindTrunk:
		return KindTrunk + ":" + d.Trunk + ":" + d.Number
	}
	return d.Kind + ":" + d.Number
}

// ParseDestination parses the destination syntax of the product contract:
// extension:N, voicemail:N, ringgroup:N, ivr:N, conference:N,
// trunk:NAME:NUMBER, number:NUMBER, hangup. It checks syntax only; whether
// the target exists is the caller's question.
func ParseDestination(s string) (Destination, error) {
	if s == KindHangup {
		return Destination{Kind: KindHangup}, nil
	}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Destination{}, fmt.Errorf("%w %q: want kind:target, e.g. extension:101, or hangup", ErrBadDestination, s)
	}
	switch kind {
	case KindExtension, KindVoicemail, KindRingGroup, KindIVR, KindConference:
		if !IsNumber(rest) {
			return Destination{}, fmt.Errorf("%w %q: %s needs a number of digits", ErrBadDestination, s, kind)
		}
		return Destination{Kind: kind, Number: rest}, nil
	case KindNumber:
		if !IsDialString(rest) {
			return Destination{}, fmt.Errorf("%w %q: number needs digits, optionally with a leading +", ErrBadDestination, s)
		}
		return Destination{Kind: kind, Number: rest}, nil
	case KindTrunk:
		name, num, ok := strings.Cut(rest, ":")
		if !ok || !IsName(name) || !IsDialString(num) {
			return Destination{}, fmt.Errorf("%w %q: want trunk:NAME:NUMBER", ErrBadDestination, s)
		}
		return Destination{Kind: kind, Trunk: name, Number: num}, nil
	}
	return Destination{}, fmt.Errorf("%w %q: unknown kind %q (extension, voicemail, ringgroup, ivr, conference, trunk, number, hangup)",
		ErrBadDestination, s, kind)
}

// IsNumber reports whether s is 1-15 ASCII digits: an internal number.
func IsNumber(s string) bool {
	if len(s) == 0 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsDialString reports whether s is a number as dialled: digits with an
// optional leading '+', 1-32 characters.
func IsDialString(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// IsName reports whether s is a name usable in a destination: letters,
// digits, '-', '_' and '.', 1-64 characters.
func IsName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}
