package pbx

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
)

// errBadRefer is a REFER the PBX cannot read or carry out as asked.
var errBadRefer = errors.New("bad REFER")

// referTarget is what a REFER asks for: a number to call (blind
// transfer), or a dialog whose other party to connect (attended transfer:
// Refer-To carries a Replaces header).
type referTarget struct {
	number   string
	replaces *replacesID
}

// replacesID names a dialog as RFC 3891's Replaces header does: its
// Call-ID and its two tags, as seen by the phone that names it.
type replacesID struct {
	callID, toTag, fromTag string
	earlyOnly              bool
}

// parseReferTo reads a Refer-To value: a SIP URI, in angle brackets or
// not, whose user part is a dialable number, with an optional Replaces
// header (URI-escaped, RFC 3891 §7.1).
func parseReferTo(v string) (referTarget, error) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return referTarget{}, fmt.Errorf("%w: Refer-To has no closing '>'", errBadRefer)
		}
		v = v[i+1 : i+j]
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i] // without brackets, parameters belong to the header
	}
	uriPart, headers, _ := strings.Cut(v, "?")
	var uri sip.Uri
	if err := sip.ParseUri(uriPart, &uri); err != nil {
		return referTarget{}, fmt.Errorf("%w: Refer-To URI: %v", errBadRefer, err)
	}
	if uri.Scheme != "sip" && uri.Scheme != "sips" {
		return referTarget{}, fmt.Errorf("%w: Refer-To must be a SIP URI", errBadRefer)
	}
	user := uri.User
	if u, err := url.PathUnescape(user); err == nil {
		user = u // a phone may escape '*' as %2A
	}
	rt := referTarget{number: user}
	for _, h := range strings.Split(headers, "&") {
		name, val, _ := strings.Cut(h, "=")
		if !strings.EqualFold(name, "Replaces") {
			continue
		}
		raw, err := url.QueryUnescape(val)
		if err != nil {
			return referTarget{}, fmt.Errorf("%w: Replaces: %v", errBadRefer, err)
		}
		id, err := parseReplaces(raw)
		if err != nil {
			return referTarget{}, err
		}
		rt.replaces = &id
	}
	if rt.replaces == nil && !isTransferTarget(rt.number) {
		return referTarget{}, fmt.Errorf("%w: Refer-To %q names no number", errBadRefer, uri.User)
	}
	return rt, nil
}

// parseReplaces reads a Replaces header value:
// call-id;to-tag=T;from-tag=F[;early-only].
func parseReplaces(v string) (replacesID, error) {
	parts := strings.Split(v, ";")
	id := replacesID{callID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			id.toTag = val
		case "from-tag":
			id.fromTag = val
		case "early-only":
			id.earlyOnly = true
		}
	}
	if id.callID == "" || id.toTag == "" || id.fromTag == "" {
		return replacesID{}, fmt.Errorf("%w: Replaces needs a Call-ID, to-tag and from-tag", errBadRefer)
	}
	return id, nil
}

// replacedDialog finds the dialog a Replaces names. The PBX's own tag is
// its to-tag when the phone that sent it is the UAC of that dialog, its
// from-tag otherwise: both are tried.
func (e *Engine) replacedDialog(id replacesID) (dialogRef, bool) {
	if ref, ok := e.calls.dialog(dialogKey{callID: id.callID, localTag: id.toTag}); ok {
		return ref, true
	}
	return e.calls.dialog(dialogKey{callID: id.callID, localTag: id.fromTag})
}

// isTransferTarget reports whether a blind transfer's target is a number
// or a star code (the three-way code *3).
func isTransferTarget(s string) bool {
	return dialplan.IsNumber(s) || (strings.HasPrefix(s, "*") && dialplan.IsNumber(s[1:]))
}
