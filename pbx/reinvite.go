package pbx

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
)

// sideState is one side's session in an answered call: the SDP the PBX
// last sent that phone, what the phone last said, and the offer/answer
// exchanges in progress on its dialog.
type sideState struct {
	sdp       sdpParams // what the PBX last sent; version goes up by one per SDP
	holding   bool      // the phone has put the call on hold
	moh       *media.Playback
	indicated bool // the PBX told the phone it is held (re-INVITE a=sendonly)

	inPending  bool // a re-INVITE or UPDATE from the phone is being answered
	outPending bool // the PBX's own re-INVITE to the phone is in progress
	ackSeq     uint32
	acked      chan struct{} // closed by the ACK of the 2xx to the phone's re-INVITE
	ackBody    []byte        // that ACK's body
}

// onTargetRefresh handles a re-INVITE or UPDATE: a new offer inside a
// call's dialog (hold, resume, a new address or codec) or, without a body,
// a session refresh.
func (e *Engine) onTargetRefresh(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := e.requestDialog(req)
	if !ok {
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	}
	ref.call.offerIn(ref, req, tx)
}

// offerIn answers an offer from one side. It refuses one that overlaps
// another exchange on the dialog (RFC 3261 14.2, RFC 3311 5.2): 491 while
// the PBX's own re-INVITE is pending (glare; the phone retries after a
// random wait), 500 with Retry-After while the phone's previous one is.
func (c *call) offerIn(ref dialogRef, req *sip.Request, tx sip.ServerTransaction) {
	e := c.e
	side := ref.side
	c.mu.Lock()
	l := c.currentLegLocked(ref)
	switch {
	case c.state == CallEnding || (c.state == CallAnswered && l == nil):
		c.mu.Unlock()
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	case c.state == CallAnswered && c.legs[1-side] == nil:
		// A call the PBX answers alone (echo test, feature code) keeps its
		// media; a failed re-INVITE leaves the session as it was (RFC 3261
		// 14.2).
		c.mu.Unlock()
		e.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		return
	case c.state != CallAnswered:
		c.mu.Unlock()
		e.respond(tx, req, sip.StatusRequestPending, "Request Pending", nil)
		return
	case l.st.outPending:
		c.mu.Unlock()
		e.respond(tx, req, sip.StatusRequestPending, "Request Pending", nil)
		return
	case l.st.inPending:
		c.mu.Unlock()
		e.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error (previous offer pending)",
			[]sip.Header{sip.NewHeader("Retry-After", strconv.Itoa(rand.IntN(10)))})
		return
	}
	s := &l.st
	s.inPending = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		s.inPending = false
		c.mu.Unlock()
		c.indicate(side) // an indication held back by this exchange
	}()
	ref.dlg().refreshTarget(req)

	isInvite := req.Method == sip.INVITE
	if len(req.Body()) == 0 {
		if !isInvite {
			e.respond(tx, req, sip.StatusOK, "OK", nil) // a session refresh
			return
		}
		// An offerless re-INVITE: the PBX offers, the ACK answers.
		body := c.nextSDP(side, func(p *sdpParams) {
			p.codecs, p.eventPT, p.dir = offerCodecs(c.legs[side].ep.PayloadType()), telephoneEventPT, c.wantDirLocked(side)
		})
		ack, ok := c.answerOffer(side, req, tx, body)
		if !ok || len(ack) == 0 {
			return
		}
		if answer, err := parseSDP(ack); err == nil {
			c.applySDP(side, answer)
		} else {
			c.log.Info("bad SDP in ACK", "side", side.String(), "error", err)
		}
		return
	}
	offer, err := parseSDP(req.Body())
	if err != nil {
		f := failureFor(err)
		e.respond(tx, req, f.code, f.reason, nil)
		return
	}
	sdes := c.rekeySRTP(side, &offer)
	body := c.nextSDP(side, func(p *sdpParams) {
		p.codecs, p.eventPT, p.dir = []uint8{pickCodec(offer)}, offer.eventPT, offer.dir.answer()
		if sdes != nil {
			p.sdes = sdes
		}
	})
	c.applySDP(side, offer)
	if !isInvite {
		if err := tx.Respond(c.e.dialogResponse(req, sip.StatusOK, "OK", body)); err != nil {
			c.log.Debug("answer UPDATE failed", "error", err)
		}
		return
	}
	c.answerOffer(side, req, tx, body)
}

// answerOffer sends 200 with body to a re-INVITE and waits for its ACK,
// whose body it returns.
func (c *call) answerOffer(side media.Side, req *sip.Request, tx sip.ServerTransaction, body []byte) ([]byte, bool) {
	acked := make(chan struct{})
	c.mu.Lock()
	s := &c.legs[side].st
	s.ackSeq, s.acked, s.ackBody = req.CSeq().SeqNo, acked, nil
	c.mu.Unlock()
	res := c.e.dialogResponse(req, sip.StatusOK, "OK", body)
	if err := tx.Respond(res); err != nil {
		c.log.Debug("answer re-INVITE failed", "error", err)
		return nil, false
	}
	if !c.e.awaitACK(tx, res, acked, c.done) {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.ackBody, true
}

// ackIn takes the ACK of a 2xx to a phone's re-INVITE.
func (c *call) ackIn(side media.Side, seq uint32, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.legs[side] == nil {
		return
	}
	s := &c.legs[side].st
	if s.acked == nil || s.ackSeq != seq {
		return // a retransmission, or a stray
	}
	s.ackBody = body
	close(s.acked)
	s.acked = nil
}

// nextSDP changes the SDP the PBX sends one side and returns it with the
// next version number (RFC 3264 §8).
func (c *call) nextSDP(side media.Side, change func(*sdpParams)) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.legs[side].st
	p := s.sdp
	if p.sdes == nil {
		p.sdes = c.legs[side].calleeSDES()
	}
	change(&p)
	p.version++
	s.sdp = p
	return buildSDP(p)
}

// offerCodecs is what the PBX offers a phone in a new offer: its current
// codec first, then the other law.
func offerCodecs(current uint8) []uint8 {
	if current == media.PayloadPCMA {
		return []uint8{media.PayloadPCMA, media.PayloadPCMU}
	}
	return []uint8{media.PayloadPCMU, media.PayloadPCMA}
}

// applySDP takes a side's new SDP (an offer or an answer): its address and
// codec go to its endpoint, its direction decides hold.
func (c *call) applySDP(side media.Side, o mediaOffer) {
	ep := c.endpoint(side)
	followSRTPKey(ep, &o)
	err := ep.Update(legConfig(o))
	if err != nil {
		c.log.Warn("cannot apply new SDP", "side", side.String(), "error", err)
		return
	}
	// Only a phone in two-way audio is watched for dead media: one that
	// holds may send nothing at all.
	ep.SetSending(o.dir.receives())
	ep.SetReceiving(o.dir == dirSendRecv)
	holding := !o.dir.receives()
	c.mu.Lock()
	s := &c.legs[side].st
	changed := s.holding != holding
	s.holding = holding
	c.mu.Unlock()
	if changed {
		c.log.Info("hold", "side", side.String(), "holding", holding)
		c.setHeld(1-side, holding)
	}
}

// setHeld starts or stops music on hold to one side, whom the other side
// holds, and tells its phone.
func (c *call) setHeld(side media.Side, held bool) {
	c.mu.Lock()
	l := c.legs[side]
	if l == nil {
		c.mu.Unlock()
		return
	}
	ep, s := l.ep, &l.st
	switch {
	case held && (s.moh == nil || ended(s.moh)):
		s.moh = ep.Play(c.e.musicOnHold())
	case !held && s.moh != nil:
		s.moh.Stop()
		s.moh = nil
	}
	c.mu.Unlock()
	c.e.callWatch.notify()
	c.indicate(side)
}

// ended reports whether a playback has finished, or was stopped or
// replaced. Done closes only once the playback's goroutine notices a
// replacement: music on hold replaced by a transfer's ringback and a
// failure right after it (a 486 at once) found it not yet done, kept it
// as playing, and the transferee heard the holder instead of music.
func ended(p *media.Playback) bool { return p.Over() }

// indicate tells a side's phone whether it is held, by a re-INVITE with
// a=sendonly (held) or a=sendrecv, so that it can show it. One runs per
// side at a time, and not while the phone's own offer is being answered;
// it repeats until the phone has been told the current state. It retries
// after 491 as RFC 3261 14.1 says.
func (c *call) indicate(side media.Side) {
	c.mu.Lock()
	l := c.legs[side]
	// Alone on the call, a phone is told only by an application's call
	// (a transferee brought into a room is told it is no longer held).
	alone := c.legs[1-side] == nil && c.appDone == nil
	if l == nil || l.dlg == nil || l.st.outPending || l.st.inPending || alone || c.state != CallAnswered {
		c.mu.Unlock()
		return
	}
	s := &l.st
	s.outPending = true
	// Under c.mu while the call is answered: its own count on the wait
	// group is still held, so this Add cannot race with shutdown's Wait.
	c.e.calls.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.e.calls.wg.Done()
		for {
			c.mu.Lock()
			want := s.moh != nil
			if want == s.indicated || c.state != CallAnswered || s.inPending || c.legs[side] != l {
				s.outPending = false
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			code := c.reinvite(side)
			c.mu.Lock()
			if code != sip.StatusRequestPending {
				s.indicated = want // told, or refused: either way, no loop
			}
			c.mu.Unlock()
			if code == sip.StatusRequestPending {
				// 2.1-4 s if the PBX chose the dialog's Call-ID, else 0-2 s.
				wait := time.Duration(rand.Int64N(int64(2 * time.Second)))
				if side == media.SideB {
					wait += 2100 * time.Millisecond
				}
				select {
				case <-time.After(wait):
				case <-c.done:
				}
			}
		}
	}()
}

// reinvite sends the PBX's offer to one side and applies the answer. It
// returns the final status code (0 if none came).
func (c *call) reinvite(side media.Side) int {
	e := c.e
	body := c.nextSDP(side, func(p *sdpParams) {
		p.codecs, p.eventPT, p.dir = offerCodecs(c.legs[side].ep.PayloadType()), telephoneEventPT, c.wantDirLocked(side)
	})
	req := c.dialogRequest(side, sip.INVITE)
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	ctx, cancel := context.WithTimeout(e.ctx, 64*sip.T1)
	defer cancel()
	tx, err := e.client.TransactionRequest(ctx, req)
	if err != nil {
		c.log.Debug("re-INVITE failed", "side", side.String(), "error", err)
		return 0
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode < 200 {
				continue
			}
			if res.StatusCode >= 300 {
				c.log.Info("re-INVITE refused", "side", side.String(), "code", res.StatusCode)
				return res.StatusCode
			}
			e.sendACK(tx, c.ackFor(side, req.CSeq().SeqNo), c.log)
			if answer, err := parseSDP(res.Body()); err == nil {
				c.applySDP(side, answer)
			} else {
				c.log.Info("bad SDP in re-INVITE answer", "side", side.String(), "error", err)
			}
			return res.StatusCode
		case <-tx.Done():
			return 0
		case <-c.done:
			return 0
		}
	}
}

// wantDirLocked is wantDir for use inside nextSDP's change, which runs
// under c.mu.
func (c *call) wantDirLocked(side media.Side) direction {
	if o := c.legs[1-side]; o != nil && o.st.holding {
		return dirSendOnly
	}
	return dirSendRecv
}
