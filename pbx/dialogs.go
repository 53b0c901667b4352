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

// onAck takes the caller's ACK of our 2xx. ACKs of failure responses
// stay in their transaction and never get here; stray ACKs are dropped.
func (e *Engine) onAck(req *sip.Request, _ sip.ServerTransaction) {
	e.metrics.countRequest(req.Method)
	ref, ok := e.requestDialog(req)
	if !ok || req.CSeq() == nil {
		return
	}
	if ref.fork == nil && req.CSeq().SeqNo == ref.call.in.req.CSeq().SeqNo {
		ref.call.in.ack() // of the call's answer
		return
	}
	ref.call.ackIn(ref.side(), req.CSeq().SeqNo, req.Body())
}

// onBye ends the call a BYE's dialog belongs to.
func (e *Engine) onBye(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := e.requestDialog(req)
	if !ok {
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	}
	e.respond(tx, req, sip.StatusOK, "OK", nil)
	c := ref.call
	switch {
	case ref.fork == nil:
		c.stop(causeCallerHungUp)
	default:
		c.mu.Lock()
		winner := c.winner == ref.fork
		// A BYE may beat the call's choice of this fork as the winner:
		// ring reads the mark under the same lock.
		ref.fork.byeReceived = true
		c.mu.Unlock()
		if winner {
			c.stop(causeCalleeHungUp)
		}
		// A fork that lost the race hangs up by itself.
	}
}

// onCancel answers a CANCEL that matched no pending INVITE (the
// transaction layer handles those that do).
func (e *Engine) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
}
