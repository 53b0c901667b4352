package pbx

import (
	"context"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// replaceDialog serves an INVITE with Replaces (RFC 3891): the calling
// phone takes the place of the phone of the dialog it names. A dialog of
// a call that rings (a phone's BLF key picking it up) is a pickup; one of
// an answered call is replaced, and its phone hung up. This goroutine
// answers the INVITE, then hands its dialog to that call.
func (c *call) replaceDialog(value string, offer mediaOffer) (failure, bool) {
	e := c.e
	id, err := parseReplaces(value)
	if err != nil {
		return failure{sip.StatusBadRequest, "Bad Request (Replaces)", store.DispositionFailed, causeBadRequest}, false
	}
	ref, ok := e.replacedDialog(id)
	noDialog := failure{sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", store.DispositionFailed, causeUnknownNumber}
	if !ok {
		return noDialog, false
	}
	k := ref.call
	k.mu.Lock()
	state, cur := k.state, k.currentLegLocked(ref)
	k.mu.Unlock()
	switch {
	case state == CallRinging && ref.fork != nil:
		return c.pickUpCall(k, offer)
	case state != CallAnswered || cur == nil:
		return noDialog, false
	case id.earlyOnly:
		return failure{sip.StatusBusyHere, "Busy Here (dialog confirmed)", store.DispositionBusy, causeBusy}, false
	}
	ports, err := e.ports.Allocate()
	if err != nil {
		return failureFor(err), false
	}
	nl, err := k.newLeg(ref.side, ports, offer, c.from)
	if err != nil {
		return failureFor(err), false
	}
	nl.owner.Store(nil) // not on the call until it is swapped in
	nl.dlg = c.in
	nl.st.sdp = c.answerSDP(offer, ports.RTPPort())
	acked, err := c.in.answer(buildSDP(nl.st.sdp), c.done)
	if err != nil || !acked {
		nl.ep.Close()
		if err == nil {
			c.byeAsync(c.in)
		}
		return failure{sip.StatusRequestTerminated, "Request Terminated", store.DispositionNoAnswer, causeCancelled}, false
	}
	if !k.swapLeg(ref.side, cur, nl) {
		nl.ep.Close()
		ctx, cancel := context.WithTimeout(e.ctx, byeTimeout)
		defer cancel()
		_ = c.in.bye(ctx)
		return failure{cause: causeHandedOver}, false
	}
	k.mu.Lock()
	hungUp := cur.hungUp
	k.mu.Unlock()
	if !hungUp {
		k.byeAsync(cur.dlg)
	}
	c.log.Info("replaced a dialog", "call", k.id, "side", ref.side.String())
	return failure{cause: causeHandedOver}, false
}

// pickUpCall offers this call's INVITE to one ringing call, as a pickup.
func (c *call) pickUpCall(k *call, offer mediaOffer) (failure, bool) {
	p := c.asPickup(offer)
	if taken, answered := c.offerPickup(k, p); taken {
		return pickupFailure(answered), false
	}
	return failure{sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", store.DispositionFailed, errNothingToPickUp.Error()}, false
}
