package pbx

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
)

// parseInfoDTMF reads a key press from a SIP INFO body, as phones set to
// "SIP INFO" DTMF send it: application/dtmf-relay ("Signal=5\r\nDuration=160")
// or application/dtmf ("5"). The key may be 0-9, *, #, A-D, or the event
// code (10 for *, 11 for #). It reports false for any other content.
func parseInfoDTMF(contentType string, body []byte) (media.Digit, bool) {
	ct, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	switch strings.TrimSpace(ct) {
	case "application/dtmf-relay":
		var d media.Digit
		found := false
		for line := range strings.Lines(string(body)) {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "signal":
				if d.Event, found = keyEvent(v); !found {
					return media.Digit{}, false
				}
			case "duration": // milliseconds
				if ms, err := strconv.Atoi(v); err == nil && ms > 0 {
					d.Duration = uint16(min(ms*8, 0xffff))
				}
			}
		}
		return d, found
	case "application/dtmf":
		ev, ok := keyEvent(strings.TrimSpace(string(body)))
		return media.Digit{Event: ev}, ok
	}
	return media.Digit{}, false
}

// keyEvent maps a key ("5", "*", "#", "A") or an event code ("11") to its
// RFC 4733 event code.
func keyEvent(s string) (uint8, bool) {
	if len(s) == 1 {
		if i := strings.IndexByte("0123456789*#ABCD", strings.ToUpper(s)[0]); i >= 0 {
			return uint8(i), true
		}
		return 0, false
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 15 {
		return uint8(n), true
	}
	return 0, false
}

// onInfo takes SIP INFO inside a call: a DTMF key press is recorded for
// the side that sent it and answered 200; other INFO packages are not
// supported (501).
func (e *Engine) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := e.requestDialog(req)
	if !ok {
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	d, ok := parseInfoDTMF(ct, req.Body())
	if !ok {
		e.respond(tx, req, sip.StatusNotImplemented, "Not Implemented", nil)
		return
	}
	side := media.SideA
	if ref.fork != nil {
		side = media.SideB
	}
	ref.call.onDigit(side, d, "info")
	e.respond(tx, req, sip.StatusOK, "OK", nil)
}
