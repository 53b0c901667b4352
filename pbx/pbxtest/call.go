package pbxtest

import (
	"context"
	"fmt"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Call is one call of a test UA, placed (Invite, Dial) or received
// (NextCall). While it is up its phone sends a continuous tone and
// measures the audio it receives.
type Call struct {
	ua       *UA
	Outgoing bool
	// Invite is the INVITE as sent (after the last authentication round)
	// or as received: a test reads caller ID from its From.
	Invite *sip.Request

	media *mediaSession

	ringing, final, ended, cancelled, acked           chan struct{}
	ringOnce, finalOnce, endOnce, cancelOnce, ackOnce sync.Once

	mu           sync.Mutex
	status       int
	response     *sip.Response // the final response to an outgoing INVITE
	localTag     string
	remoteTag    string
	remoteTarget sip.Uri
	cseq         uint32
	endedBy      string // "remote" or "local"

	earlySDP  []byte        // the SDP of a 183 to an outgoing INVITE
	infos     []string      // bodies of INFO requests received
	routes    []string      // Route headers of the last re-INVITE received
	offered   []string      // directions of the PBX's re-INVITEs
	reinvited chan struct{} // closed and replaced at each re-INVITE
	gate      chan struct{} // while set, re-INVITEs wait for it

	referNotifies chan ReferNotify // NOTIFYs of a transfer received in the call
}

func (u *UA) newCall(outgoing bool) (*Call, error) {
	var key []byte // the phone's SRTP key (WithSRTP), set before the receiver starts
	if u.SRTP {
		key = newKey()
	}
	m, err := newMediaSession(u.EventPT, key)
	if err != nil {
		return nil, err
	}
	c := &Call{ua: u, Outgoing: outgoing, media: m, ringing: make(chan struct{}), final: make(chan struct{}),
		ended: make(chan struct{}), cancelled: make(chan struct{}), acked: make(chan struct{}),
		localTag: sip.GenerateTagN(12), reinvited: make(chan struct{}), referNotifies: make(chan ReferNotify, 16)}
	return c, nil
}

// Status is the final status of the INVITE (0 while pending).
func (c *Call) Status() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Response is the final response to an outgoing INVITE.
func (c *Call) Response() *sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.response
}

// From is the caller as the INVITE names it (display name and number).
func (c *Call) From() *sip.FromHeader { return c.Invite.From() }

// EndedByRemote reports whether the other side sent BYE.
func (c *Call) EndedByRemote() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endedBy == "remote"
}

func wait(ctx context.Context, ch <-chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	}
}

// WaitRinging waits for a 180/183 (outgoing) or until the call rings.
func (c *Call) WaitRinging(ctx context.Context) error { return wait(ctx, c.ringing, "ringing") }

// WaitFinal waits for the final status of the INVITE and returns it.
func (c *Call) WaitFinal(ctx context.Context) (int, error) {
	if err := wait(ctx, c.final, "final response"); err != nil {
		return 0, err
	}
	return c.Status(), nil
}

// WaitEnded waits until a BYE ends the call, from either side.
func (c *Call) WaitEnded(ctx context.Context) error { return wait(ctx, c.ended, "BYE") }

// WaitAcked waits for the ACK of the 200 OK a received call answered.
func (c *Call) WaitAcked(ctx context.Context) error { return wait(ctx, c.acked, "ACK") }

// WaitCancelled waits until a received call is CANCELled.
func (c *Call) WaitCancelled(ctx context.Context) error { return wait(ctx, c.cancelled, "CANCEL") }

// Heard is the power at freq (Hz) in the latest half second of received
// audio: compare frequencies to tell which tone the phone hears.
func (c *Call) Heard(freq float64) float64 { return c.media.heard(freq) }

// WaitAudio waits until n audio packets have arrived in all.
func (c *Call) WaitAudio(ctx context.Context, n int) error { return c.media.waitPackets(ctx, n) }

// Received is the number of audio packets received so far.
func (c *Call) Received() int { return c.media.received() }

// Sent is how many audio packets (20 ms frames) the phone has sent.
func (c *Call) Sent() int64 { return c.media.sent.Load() }

// StopMedia silences the phone, as if it had died.
func (c *Call) StopMedia() { c.media.stopSending() }

func (c *Call) setFinal(code int, res *sip.Response) {
	c.mu.Lock()
	if c.status == 0 {
		c.status, c.response = code, res
	}
	c.mu.Unlock()
	c.finalOnce.Do(func() { close(c.final) })
}

func (c *Call) end(by string) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		c.endedBy = by
		c.mu.Unlock()
		close(c.ended)
	})
	c.media.close()
}

// close releases the call's media (when the UA closes).
func (c *Call) close() { c.media.close() }

// Hangup sends BYE and waits for its answer.
func (c *Call) Hangup(ctx context.Context) error {
	req := c.inDialog(sip.BYE)
	c.end("local")
	res, err := c.ua.Send(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode != sip.StatusOK {
		return fmt.Errorf("BYE answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// SendInfo sends an INFO with the given body inside the call (for
// instance application/dtmf-relay "Signal=5\r\nDuration=160\r\n") and
// returns the answer.
func (c *Call) SendInfo(ctx context.Context, contentType string, body []byte) (*sip.Response, error) {
	req := c.inDialog(sip.INFO)
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody(body)
	return c.ua.Send(ctx, req)
}

// inDialog builds a request inside the call's dialog.
func (c *Call) inDialog(method sip.RequestMethod) *sip.Request {
	c.mu.Lock()
	c.cseq++
	req := sip.NewRequest(method, *c.remoteTarget.Clone())
	seq := c.cseq
	c.mu.Unlock()
	if c.Outgoing {
		req.AppendHeader(sip.HeaderClone(c.Invite.From()))
		req.AppendHeader(sip.HeaderClone(c.Response().To()))
	} else {
		from := c.Invite.To().AsFrom()
		from.Params.Add("tag", c.localTag)
		to := c.Invite.From().AsTo()
		req.AppendHeader(&from)
		req.AppendHeader(&to)
	}
	req.AppendHeader(sip.HeaderClone(c.Invite.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	return req
}

// Cancel CANCELs a pending outgoing INVITE and waits for the answer to
// the CANCEL (the INVITE's own 487 then shows in WaitFinal).
func (c *Call) Cancel(ctx context.Context) error {
	c.mu.Lock()
	inv := c.Invite
	c.mu.Unlock()
	req := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	req.AppendHeader(sip.HeaderClone(inv.Via()))
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	c.ua.toPBX(req)
	res, err := c.ua.client.Do(ctx, req, func(_ *sipgo.Client, r *sip.Request) error {
		r.SetBody(nil)
		return nil
	})
	if err != nil {
		return err
	}
	if res.StatusCode != sip.StatusOK {
		return fmt.Errorf("CANCEL answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// Energy is the mean power of the latest received audio (about half a
// second): near 0 for silence.
func (c *Call) Energy() float64 { return c.media.energy() }

// Listen waits until n more audio packets have arrived, so that Heard and
// Energy describe only audio received from now on.
func (c *Call) Listen(ctx context.Context, n int) error {
	return c.media.waitPackets(ctx, c.media.received()+n)
}

// EarlySDP is the SDP of a provisional response (183) to the call's
// INVITE, or nil.
func (c *Call) EarlySDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.earlySDP
}

// Infos returns the bodies of the INFO requests the phone received in the
// call.
func (c *Call) Infos() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.infos...)
}

// onInfo answers INFO inside a call with 200 and records its body.
func (u *UA) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	u.count(req.Method)
	c := u.call(req.CallID().Value())
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "No Such Call", nil))
		return
	}
	c.mu.Lock()
	c.infos = append(c.infos, string(req.Body()))
	c.mu.Unlock()
	tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
}
