package pbxtest

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Policy is how a UA treats the calls it receives.
type Policy struct {
	// Reject, if set, answers every call with this status (e.g. 486).
	Reject int
	// RingFor is how long the phone rings before it answers.
	RingFor time.Duration
	// RingForever never answers: the call rings until CANCEL.
	RingForever bool
	// EarlyMedia answers 183 Session Progress with SDP while ringing and
	// sends its tone from then on (as a phone playing a ringback or an
	// announcement).
	EarlyMedia bool
	// Challenge, when 401 or 407, makes the UA act as a provider that
	// authenticates calls: an INVITE without credentials is answered
	// with that challenge, one with wrong credentials (for the UA's User
	// and Secret) with 403.
	Challenge int
	// BeforeAnswer, if set, runs just before the phone sends its 200 OK:
	// a test races the answer with something else (the caller's CANCEL).
	BeforeAnswer func(*Call)
}

// SetPolicy sets how the UA treats calls from now on. The default answers
// at once.
func (u *UA) SetPolicy(p Policy) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.policy = p
}

// NextCall waits for the next call the UA receives.
func (u *UA) NextCall(ctx context.Context) (*Call, error) {
	select {
	case c := <-u.incoming:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a call to %s: %w", u.User, ctx.Err())
	}
}

// onInvite receives a call and treats it per the UA's policy.
func (u *UA) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	u.count(req.Method)
	if to := req.To(); to != nil && to.Params.Has("tag") {
		u.onReinvite(req, tx)
		return
	}
	u.mu.Lock()
	challenge := u.policy.Challenge
	u.mu.Unlock()
	if challenge != 0 && !u.checkChallenge(req, tx, challenge) {
		return
	}
	if !u.begin() {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Closing", nil))
		return
	}
	defer u.wg.Done()
	c, err := u.newCall(false)
	if err != nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, err.Error(), nil))
		return
	}
	c.Invite = req
	if tag, ok := req.From().Params.Get("tag"); ok {
		c.remoteTag = tag
	}
	if ct := req.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	}
	tagged := req.Clone()
	tagged.To().Params.Add("tag", c.localTag)
	respond := func(code int, reason string, body []byte) error {
		res := sip.NewResponseFromRequest(tagged, code, reason, body)
		res.AppendHeader(sip.NewHeader("Contact", "<"+u.Contact()+">"))
		if body != nil {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		return tx.Respond(res)
	}
	u.addCall(req.CallID().Value(), c)
	u.mu.Lock()
	p := u.policy
	u.mu.Unlock()
	tx.OnCancel(func(*sip.Request) { c.cancelOnce.Do(func() { close(c.cancelled) }) })
	select {
	case u.incoming <- c:
	default:
		u.t.Errorf("UA %s: too many unread calls", u.User)
	}
	respond(sip.StatusRinging, "Ringing", nil)
	c.ringOnce.Do(func() { close(c.ringing) })
	if p.Reject != 0 {
		respond(p.Reject, "Rejected", nil)
		c.setFinal(p.Reject, nil)
		c.close()
		return
	}
	// Negotiate now: early media needs the answer before the 200.
	offer, err := parseSDP(req.Body())
	codec, ok := chooseCodec(offer.codecs, u.Codecs)
	if err != nil || !ok {
		respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		c.setFinal(sip.StatusNotAcceptableHere, nil)
		c.close()
		return
	}
	// Answer telephone-event with the offer's payload type, as RFC 3264
	// §6.1 asks: both directions then use it.
	evPT := u.EventPT
	if offer.eventPT != 0 {
		evPT = offer.eventPT
		c.media.receiveEventPT(evPT)
	}
	body := buildSDP(c.media.port(), []uint8{codec}, evPT)
	if mine, err := c.media.keyFrom(offer.crypto, -1); err != nil {
		u.t.Logf("SRTP keys of the offer: %v", err)
	} else if mine != nil {
		body = withCrypto(body, *mine, offer.savp)
	}
	if p.EarlyMedia {
		c.media.start(offer.addr, codec, offer.eventPT, u.Tone)
		respond(sip.StatusSessionInProgress, "Session Progress", body)
	}
	var answerAt <-chan time.Time
	if !p.RingForever {
		t := time.NewTimer(p.RingFor)
		defer t.Stop()
		answerAt = t.C
	}
	select {
	case <-answerAt:
	case <-c.cancelled:
		c.setFinal(sip.StatusRequestTerminated, nil)
		c.close()
		return
	case <-u.ctx.Done():
		c.close()
		return
	}
	if p.BeforeAnswer != nil {
		p.BeforeAnswer(c)
	}
	c.media.start(offer.addr, codec, offer.eventPT, u.Tone)
	if err := respond(sip.StatusOK, "OK", body); err != nil {
		c.setFinal(sip.StatusRequestTerminated, nil)
		c.close()
		return
	}
	c.setFinal(sip.StatusOK, nil)
	// Send the 2xx again until the ACK comes (UDP).
	interval := sip.T1
	resend := time.NewTimer(interval)
	defer resend.Stop()
	giveUp := time.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	for {
		select {
		case <-c.acked:
			return
		case <-c.ended:
			return
		case <-giveUp.C:
			return
		case <-u.ctx.Done():
			return
		case <-resend.C:
			respond(sip.StatusOK, "OK", body)
			interval = min(2*interval, sip.T2)
			resend.Reset(interval)
		}
	}
}

func (u *UA) onAck(req *sip.Request, _ sip.ServerTransaction) {
	u.count(req.Method)
	if c := u.call(req.CallID().Value()); c != nil {
		c.ackOnce.Do(func() { close(c.acked) })
	}
}

func (u *UA) onBye(req *sip.Request, tx sip.ServerTransaction) {
	u.count(req.Method)
	c := u.call(req.CallID().Value())
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	c.end("remote")
}

func (u *UA) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	u.count(req.Method)
	tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
}

func (u *UA) addCall(callID string, c *Call) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls[callID] = c
}

func (u *UA) call(callID string) *Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[callID]
}

// begin counts a call goroutine in, unless the UA is closing.
func (u *UA) begin() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closing {
		return false
	}
	u.wg.Add(1)
	return true
}

// closeCalls stops every call's media and the call goroutines.
func (u *UA) closeCalls() {
	u.cancel()
	u.mu.Lock()
	u.closing = true
	calls := make([]*Call, 0, len(u.calls))
	for _, c := range u.calls {
		calls = append(calls, c)
	}
	u.mu.Unlock()
	for _, c := range calls {
		c.close()
	}
	u.wg.Wait()
}
