package pbx

import (
	"errors"
	"sort"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// Pickup feature codes: *8 answers a call ringing any extension of the
// caller's pickup group, **NNN one ringing extension NNN.
const (
	groupPickupCode    = "*8"
	directedPickupCode = "**"
)

// pickupTarget is what a pickup code asks for: one extension's ringing
// call, or any in the caller's pickup group.
type pickupTarget struct {
	ext string // **NNN; empty for *8
}

// parsePickupCode recognises *8 and **NNN.
func parsePickupCode(dialed string) (pickupTarget, bool) {
	switch {
	case dialed == groupPickupCode:
		return pickupTarget{}, true
	case strings.HasPrefix(dialed, directedPickupCode) && dialplan.IsNumber(dialed[len(directedPickupCode):]):
		return pickupTarget{ext: dialed[len(directedPickupCode):]}, true
	}
	return pickupTarget{}, false
}

// errNothingToPickUp means no call rings where a pickup asked.
var errNothingToPickUp = errors.New("no ringing call to pick up")

// pickup is a phone's INVITE offered to a ringing call, which answers it
// in place of the phones it rings.
type pickup struct {
	in    *inbound // the picking phone's dialog; its INVITE is still open
	offer mediaOffer
	who   party
	// result receives whether the ringing call answered the INVITE.
	result chan bool
}

// asPickup offers this call's INVITE, with its offer, to a ringing call.
func (c *call) asPickup(offer mediaOffer) *pickup {
	return &pickup{in: c.in, offer: offer, who: c.from, result: make(chan bool, 1)}
}

// pickUp serves a pickup code: the oldest matching ringing call takes
// this call's INVITE and answers it. This goroutine keeps the INVITE's
// transaction alive until then.
func (c *call) pickUp(pt pickupTarget, offer mediaOffer) (failure, bool) {
	p := c.asPickup(offer)
	for _, x := range c.e.ringingCalls(c.caller, pt) {
		if taken, answered := c.offerPickup(x, p); taken {
			return pickupFailure(answered), false
		}
		if c.stopped() {
			return failure{sip.StatusRequestTerminated, "Request Terminated", store.DispositionNoAnswer, causeCancelled}, false
		}
	}
	return failure{sip.StatusNotFound, "Not Found (nothing to pick up)", store.DispositionFailed, errNothingToPickUp.Error()}, false
}

// offerPickup offers p to the ringing call x. It reports whether x took
// it (else it stopped ringing first, or this call ended), and if so
// whether x answered this call's INVITE.
func (c *call) offerPickup(x *call, p *pickup) (taken, answered bool) {
	x.mu.Lock()
	over := x.ringOver
	x.mu.Unlock()
	if over == nil {
		return false, false
	}
	select {
	case x.pickups <- p:
	case <-over:
		return false, false
	case <-c.done:
		return false, false
	}
	answered = <-p.result
	if answered {
		c.log.Info("picked up", "call", x.id)
	}
	return true, answered
}

// pickupFailure is how a call that offered itself as a pickup ends: it
// was handed over, or the ringing call took it but could not answer it.
func pickupFailure(answered bool) failure {
	if answered {
		return failure{cause: causeHandedOver}
	}
	return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, "pickup failed"}
}

// ringingCalls lists the calls a pickup by picker may take, oldest first:
// ringing one of the picker's group (or the one extension asked for), and
// not placed by the picker.
func (e *Engine) ringingCalls(picker store.Extension, pt pickupTarget) []*call {
	var out []*call
	for _, x := range e.calls.list() {
		x.mu.Lock()
		ringing, callee := x.state == CallRinging && x.ringOver != nil, x.ringingExt
		x.mu.Unlock()
		if !ringing || x.caller.Number == picker.Number {
			continue
		}
		if pt.ext != "" {
			if callee.Number == pt.ext {
				out = append(out, x)
			}
			continue
		}
		if samePickupGroup(picker, callee) {
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].startedAt.Before(out[j].startedAt) })
	return out
}

// samePickupGroup reports whether picker may pick up calls ringing callee
// with *8: both are in the same pickup group (by default, all are).
func samePickupGroup(picker, callee store.Extension) bool {
	return picker.PickupGroup == callee.PickupGroup
}

// takePickup answers a picking phone's INVITE as the callee side l of
// this ringing call, and tells the picker's goroutine how it went.
func (c *call) takePickup(l *leg, p *pickup) (failure, bool) {
	if err := l.ep.Update(legConfig(p.offer)); err != nil {
		p.result <- false
		c.log.Warn("pickup refused", "error", err)
		return failureFor(err), false
	}
	sdp := c.answerSDP(p.offer, int(l.ep.Local().Port()))
	c.mu.Lock()
	l.dlg, l.who, l.st.sdp = p.in, p.who, sdp
	c.mu.Unlock()
	c.e.calls.addDialog(p.in.key(), dialogRef{call: c, side: media.SideB, in: p.in})
	acked, err := p.in.answer(buildSDP(sdp), c.done)
	p.result <- err == nil
	if err != nil {
		c.log.Info("could not answer picking phone", "error", err)
		return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, "pickup failed"}, false
	}
	if !acked {
		c.stop(causeNoACK)
	}
	c.log.Info("call picked up", "by", p.who.number)
	return failure{}, true
}
