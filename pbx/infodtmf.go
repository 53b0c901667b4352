package pbx

import (
	"context"
	"strconv"
	"strings"
	"time"

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

// onInfo takes SIP INFO inside a call. A DTMF key press is recorded for
// the side that sent it, queued to play to the other phone as an RFC 4733
// event (or passed on as INFO if that phone negotiated no
// telephone-event), then answered 200. Any other INFO is passed to the
// other phone and its answer returned.
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
	c, side := ref.call, ref.side
	other := c.answeredPeer(side)
	if d, ok := parseInfoDTMF(ct, req.Body()); ok {
		// The key is recorded and queued for the other phone before the
		// 200: a phone sends its next key only after that, and sipgo runs
		// each request on its own goroutine, so queueing after the answer
		// let a later key overtake an earlier one under load.
		c.onDigit(side, d, "info")
		if other != nil && !c.hearsMusic(1-side) { // else nobody to hear it, or music that must go on
			if _, err := other.PlayDigits(string(d.Rune())); err != nil {
				c.passInfo(1-side, ct, req.Body()) // that phone takes no telephone-event
			}
		}
		e.respond(tx, req, sip.StatusOK, "OK", nil)
		return
	}
	if other == nil {
		e.respond(tx, req, sip.StatusNotImplemented, "Not Implemented", nil)
		return
	}
	code, reason := c.passInfo(1-side, ct, req.Body())
	e.respond(tx, req, code, reason, nil)
}

// answeredPeer is the endpoint of the phone on the other side from side,
// once the call is answered and has one, else nil.
func (c *call) answeredPeer(side media.Side) *media.Endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != CallAnswered || c.legs[1-side] == nil || c.legs[1-side].dlg == nil {
		return nil
	}
	return c.legs[1-side].ep
}

// hearsMusic reports whether a side is held, hearing music on hold.
func (c *call) hearsMusic(side media.Side) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.legs[side] != nil && c.legs[side].st.moh != nil
}

// passInfo sends an INFO to one side and returns its answer (500 if none).
func (c *call) passInfo(side media.Side, contentType string, body []byte) (int, string) {
	req := c.dialogRequest(side, sip.INFO)
	if contentType != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	}
	req.SetBody(body)
	ctx, cancel := context.WithTimeout(c.e.ctx, infoTimeout)
	defer cancel()
	res, err := c.e.client.Do(ctx, req)
	if err != nil {
		c.log.Debug("INFO to other phone failed", "error", err)
		return 504, "Server Time-out"
	}
	return res.StatusCode, res.Reason
}

// infoTimeout bounds the wait for the other phone's answer to an INFO.
const infoTimeout = 5 * time.Second
