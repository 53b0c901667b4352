package pbxtest

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Directions a phone puts in its SDP (RFC 3264).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// Hold puts the call on hold as a desk phone's hold key does: a re-INVITE
// with a=sendonly. The phone keeps sending its tone, so a test can tell
// that the PBX no longer passes it on. It returns the final response.
func (c *Call) Hold(ctx context.Context) (*sip.Response, error) { return c.Reinvite(ctx, SendOnly) }

// Resume takes the call off hold: a re-INVITE with a=sendrecv.
func (c *Call) Resume(ctx context.Context) (*sip.Response, error) { return c.Reinvite(ctx, SendRecv) }

// Reinvite sends a re-INVITE offering the phone's codecs with direction
// dir, ACKs a 2xx and returns the final response.
func (c *Call) Reinvite(ctx context.Context, dir string) (*sip.Response, error) {
	req := c.inDialog(sip.INVITE)
	req.AppendHeader(sip.NewHeader("Contact", "<"+c.ua.Contact()+">"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	body := withDirection(buildSDP(c.media.port(), c.ua.Codecs, c.ua.EventPT), dir)
	// An SRTP phone offers a new key with each re-INVITE (RFC 4568 §7.1.4
	// lets it), and takes the answer's.
	var fresh []byte
	if c.media.localKey != nil && c.SRTP() {
		fresh = newKey()
		body = withCrypto(body, cryptoLine{tag: 1, suite: srtpSuite80, key: fresh}, true)
	}
	req.SetBody(body)
	res, err := c.ua.Send(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 == 2 && fresh != nil {
		if err := c.media.rekey(fresh, res.Body()); err != nil {
			return res, err
		}
	}
	if res.StatusCode/100 == 2 {
		ack := c.inDialog(sip.ACK)
		ack.CSeq().SeqNo = req.CSeq().SeqNo
		c.ua.toPBX(ack)
		if err := c.ua.client.WriteRequest(ack); err != nil {
			return res, fmt.Errorf("ACK: %w", err)
		}
	}
	return res, nil
}

// withDirection replaces the direction attribute of an SDP body.
func withDirection(body []byte, dir string) []byte {
	return []byte(strings.Replace(string(body), "a=sendrecv", "a="+dir, 1))
}

// SDPDirection reads the first direction attribute of an SDP body
// (sendrecv if none).
func SDPDirection(body []byte) string {
	for line := range strings.Lines(string(body)) {
		switch d := strings.TrimSpace(strings.TrimPrefix(line, "a=")); d {
		case SendRecv, SendOnly, RecvOnly, Inactive:
			return d
		}
	}
	return SendRecv
}

// answerDirection is the direction that answers an offered one.
func answerDirection(offered string) string {
	switch offered {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return offered
}

// Offered is the direction of each re-INVITE the PBX sent this call, in
// order (a PBX tells a held party with a=sendonly).
func (c *Call) Offered() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.offered...)
}

// WaitOffered waits until the PBX has sent n re-INVITEs and returns the
// direction of the n-th.
func (c *Call) WaitOffered(ctx context.Context, n int) (string, error) {
	for {
		c.mu.Lock()
		got, ch := c.offered, c.reinvited
		c.mu.Unlock()
		if len(got) >= n {
			return got[n-1], nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for re-INVITE %d (have %d): %w", n, len(got), ctx.Err())
		}
	}
}

// HoldReinvites makes the phone keep the PBX's next re-INVITEs unanswered
// until release is called (to test glare).
func (c *Call) HoldReinvites() (release func()) {
	gate := make(chan struct{})
	c.mu.Lock()
	c.gate = gate
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		if c.gate == gate {
			c.gate = nil
		}
		c.mu.Unlock()
		close(gate)
	}
}

// onReinvite answers a re-INVITE of the PBX inside a call: the same
// media, the answering direction.
func (u *UA) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := u.call(req.CallID().Value())
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "No Such Call", nil))
		return
	}
	dir := SDPDirection(req.Body())
	c.mu.Lock()
	c.offered = append(c.offered, dir)
	c.routes = c.routes[:0]
	for _, h := range req.GetHeaders("Route") {
		c.routes = append(c.routes, h.Value())
	}
	close(c.reinvited)
	c.reinvited = make(chan struct{})
	gate := c.gate
	c.mu.Unlock()
	if gate != nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusTrying, "Trying", nil))
		select {
		case <-gate:
		case <-u.ctx.Done():
			return
		}
	}
	offer, err := parseSDP(req.Body())
	codec, ok := chooseCodec(offer.codecs, u.Codecs)
	if err != nil || !ok {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil))
		return
	}
	body := withDirection(buildSDP(c.media.port(), []uint8{codec}, u.EventPT), answerDirection(dir))
	if line, ok := c.media.answerRekey(offer.crypto); ok {
		// An SRTP phone answers each re-INVITE with a new key of its own.
		body = withCrypto(body, line, offer.savp)
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	res.AppendHeader(sip.NewHeader("Contact", "<"+u.Contact()+">"))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	tx.Respond(res)
}

// Routes are the Route header values of the PBX's last re-INVITE.
func (c *Call) Routes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.routes...)
}
