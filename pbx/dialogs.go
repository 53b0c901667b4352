package pbx

import (
	"github.com/emiago/sipgo/sip"
)

// requestDialog finds the dialog an in-dialog request belongs to: the
// PBX's tag is the request's To tag, whichever side sends it.
func (e *Engine) requestDialog(req *sip.Request) (dialogRef, bool) {
	to, cid := req.To(), req.CallID()
	if to == nil || cid == nil {
		return dialogRef{}, false
	}
	tag, ok := to.Params.Get("tag")
	if !ok || tag == "" {
		return dialogRef{}, false
	}
	return e.calls.dialog(dialogKey{callID: cid.Value(), localTag: tag})
}

// onAck takes the ACK of a 2xx of the PBX. ACKs of failure responses
// stay in their transaction and never get here; stray ACKs are dropped.
func (e *Engine) onAck(req *sip.Request, _ sip.ServerTransaction) {
	e.metrics.countRequest(req.Method)
	ref, ok := e.requestDialog(req)
	if !ok || req.CSeq() == nil {
		return
	}
	if ref.in != nil && req.CSeq().SeqNo == ref.in.req.CSeq().SeqNo {
		ref.in.ack() // of the answer to the dialog's INVITE
		return
	}
	ref.call.ackIn(ref.side, req.CSeq().SeqNo, req.Body())
}

// onBye takes a phone's hang-up. A phone that is a side of its call ends
// the call, unless it is transferring it (its REFER then carries on); a
// phone still ringing, or one that left by transfer, only leaves.
func (e *Engine) onBye(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := e.requestDialog(req)
	if !ok {
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	}
	e.respond(tx, req, sip.StatusOK, "OK", nil)
	c := ref.call
	c.mu.Lock()
	l := c.currentLegLocked(ref)
	current := l != nil
	transferring := false
	if current {
		l.hungUp = true
		transferring = l.transferring
	}
	callerSide := c.callerSide
	if ref.fork != nil {
		// A BYE may beat the call's choice of this fork as the winner:
		// setup reads the mark under the same lock.
		ref.fork.byeReceived = true
	}
	c.mu.Unlock()
	switch {
	case !current || transferring:
	case ref.side == callerSide: // the caller of the call's current record
		c.stop(causeCallerHungUp)
	default:
		c.stop(causeCalleeHungUp)
	}
	if !current {
		e.calls.removeDialog(ref.dlg().key(), c)
	}
}

// onCancel answers a CANCEL that matched no pending INVITE (the
// transaction layer handles those that do).
func (e *Engine) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
}
