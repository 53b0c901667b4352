package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/officepbx/pbx/pbx/store"
)

var outboundClasses = []string{"internal", "local", "national", "international"}

// validateExtension checks every field of e, normalising auth_algorithms in
// place, and adds each problem to fe. secretGiven says whether the client
// chose the secret (a generated or kept one needs no check). The error is
// only for a failing store.
func (s *Server) validateExtension(ctx context.Context, e *store.Extension, secretGiven bool, fe fieldErrors) error {
	if !isDigits(e.Number, 2, 10) {
		fe.add("number", "must be 2 to 10 digits")
	}
	if msg := checkText(e.Name, maxNameLen); msg != "" {
		fe.add("name", msg)
	}
	if msg := checkEmail(e.Email); msg != "" {
		fe.add("email", msg)
	}
	if secretGiven {
		if msg := checkSecret(e.Secret); msg != "" {
			fe.add("secret", msg)
		}
	}
	if algs, msg := normaliseAlgorithms(e.AuthAlgorithms); msg != "" {
		fe.add("auth_algorithms", msg)
	} else {
		e.AuthAlgorithms = algs
	}
	if e.RingSeconds < 5 || e.RingSeconds > 300 {
		fe.add("ring_seconds", "must be from 5 to 300")
	}
	if e.Voicemail.PIN != "" && !isDigits(e.Voicemail.PIN, 4, 10) {
		fe.add("voicemail.pin", "must be empty or 4 to 10 digits")
	}
	if v := e.Voicemail.MaxSeconds; v < 10 || v > 600 {
		fe.add("voicemail.max_seconds", "must be from 10 to 600")
	}
	if v := e.Voicemail.MaxMessages; v < 1 || v > 1000 {
		fe.add("voicemail.max_messages", "must be from 1 to 1000")
	}
	if v := e.Voicemail.DeleteAfterDays; v < 0 || v > 3650 {
		fe.add("voicemail.delete_after_days", "must be from 0 (never) to 3650")
	}
	for _, f := range []struct{ field, dest string }{
		{"voicemail.operator", e.Voicemail.Operator},
		{"forward.always", e.Forward.Always},
		{"forward.busy", e.Forward.Busy},
		{"forward.no_answer", e.Forward.NoAnswer},
	} {
		msg, err := s.store.ForwardProblem(ctx, f.dest, e.Number)
		if err != nil {
			return err
		}
		if msg != "" {
			fe.add(f.field, msg)
		}
	}
	if !validPickupGroup(e.PickupGroup) {
		fe.add("pickup_group", "must be empty (the default group) or up to 32 of a-z, 0-9, '_' and '-'")
	}
	if !slices.Contains(outboundClasses, e.Outbound) {
		fe.add("outbound", "must be one of internal, local, national, international")
	}
	if e.MaxCalls < 0 || e.MaxCalls > 1000 {
		fe.add("max_calls", "must be 0 (no limit) to 1000")
	}
	if !slices.Contains([]string{store.SRTPOff, store.SRTPOptional, store.SRTPRequired}, e.SRTP) {
		fe.add("srtp", "must be one of off, optional, required")
	}
	return nil
}

// validPickupGroup reports whether g is a pickup group name: "" (the
// default group every extension shares) or 1-32 of [a-z0-9_-].
func validPickupGroup(g string) bool {
	if len(g) > 32 {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// normaliseAlgorithms checks a digest algorithm list and orders it as the
// challenges go out: SHA-256 before MD5 (RFC 8760).
func normaliseAlgorithms(in []string) ([]string, string) {
	if len(in) == 0 {
		return nil, "must list at least one of MD5, SHA-256"
	}
	var md5, sha bool
	for _, a := range in {
		var seen *bool
		switch strings.ToUpper(a) {
		case "MD5":
			seen = &md5
		case "SHA-256":
			seen = &sha
		default:
			return nil, fmt.Sprintf("unknown algorithm %q; want MD5 or SHA-256", a)
		}
		if *seen {
			return nil, fmt.Sprintf("lists %s twice", strings.ToUpper(a))
		}
		*seen = true
	}
	var out []string
	if sha {
		out = append(out, "SHA-256")
	}
	if md5 {
		out = append(out, "MD5")
	}
	return out, ""
}
