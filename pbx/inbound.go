package pbx

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// inbound is the caller's dialog, where the PBX is the UAS.
type inbound struct {
	e   *Engine
	req *sip.Request // the INVITE, with the PBX's To tag added
	tx  sip.ServerTransaction
	tag string

	acked   chan struct{}
	ackOnce sync.Once
	cseq    atomic.Uint32 // CSeq of the PBX's requests in this dialog
	routes  []sip.Header  // the dialog's route set

	mu     sync.Mutex
	target sip.Uri // the caller's Contact, refreshed by re-INVITE
}

func newInbound(e *Engine, req *sip.Request, tx sip.ServerTransaction) *inbound {
	in := &inbound{e: e, req: req.Clone(), tx: tx, tag: sip.GenerateTagN(16), acked: make(chan struct{}),
		routes: routeSet(req, false)}
	in.req.To().Params.Add("tag", in.tag)
	if ct := req.Contact(); ct != nil {
		in.target = *ct.Address.Clone()
	}
	return in
}

func (in *inbound) key() dialogKey {
	return dialogKey{callID: in.req.CallID().Value(), localTag: in.tag}
}

// response builds a response to the INVITE carrying the dialog's tag.
func (in *inbound) response(code int, reason string, body []byte) *sip.Response {
	return in.e.dialogResponse(in.req, code, reason, body)
}

// dialogResponse builds the PBX's response to a request that makes or
// changes a dialog (INVITE, re-INVITE, UPDATE): Server, and for 101-299
// the Contact and Allow of the dialog; body is SDP.
func (e *Engine) dialogResponse(req *sip.Request, code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	res.AppendHeader(sip.NewHeader("Server", e.cfg.UserAgent))
	if code > 100 && code < 300 {
		ct := e.contact(req.Transport())
		res.AppendHeader(&ct)
		res.AppendHeader(sip.NewHeader("Allow", allowMethods))
		res.AppendHeader(sip.NewHeader("Supported", supportedOptions))
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

// respond sends a provisional or failure response to the INVITE.
func (in *inbound) respond(code int, reason string) {
	if err := in.tx.Respond(in.response(code, reason, nil)); err != nil {
		in.e.log.Debug("respond to INVITE failed", "code", code, "error", err)
	}
}

// respondBody sends a provisional response with a body (183 with SDP).
func (in *inbound) respondBody(code int, reason string, body []byte) {
	if err := in.tx.Respond(in.response(code, reason, body)); err != nil {
		in.e.log.Debug("respond to INVITE failed", "code", code, "error", err)
	}
}

// ack records the caller's ACK of the 2xx.
func (in *inbound) ack() { in.ackOnce.Do(func() { close(in.acked) }) }

// answer sends 200 OK with sdp and waits for the caller's ACK, sending the
// 2xx again over unreliable transports (RFC 3261 13.3.1.4: the UAS core,
// not the transaction, retransmits it). It reports whether the ACK came;
// it gives up when stop closes or after 64*T1.
func (in *inbound) answer(sdp []byte, stop <-chan struct{}) (bool, error) {
	res := in.response(sip.StatusOK, "OK", sdp)
	if err := in.tx.Respond(res); err != nil {
		return false, fmt.Errorf("send 200 OK: %w", err)
	}
	return in.e.awaitACK(in.tx, res, in.acked, stop), nil
}

// awaitACK waits for the ACK of a 2xx already sent on tx, sending the 2xx
// again over unreliable transports (RFC 3261 13.3.1.4: the UAS core, not
// the transaction, retransmits it). It reports whether the ACK came; it
// gives up when stop closes or after 64*T1.
func (e *Engine) awaitACK(tx sip.ServerTransaction, res *sip.Response, acked, stop <-chan struct{}) bool {
	giveUp := time.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	interval := sip.T1
	resend := time.NewTimer(interval)
	defer resend.Stop()
	if sip.IsReliable(res.Transport()) {
		resend.Stop()
	}
	for {
		select {
		case <-acked:
			return true
		case <-stop:
			return false
		case <-giveUp.C:
			return false
		case <-resend.C:
			if err := tx.Respond(res); err != nil {
				e.log.Debug("resend 200 OK failed", "error", err)
			}
			interval = min(2*interval, sip.T2)
			resend.Reset(interval)
		}
	}
}

// bye ends the dialog from the PBX's side. The request goes to where the
// INVITE came from (the phone may sit behind NAT), over its transport.
func (in *inbound) bye(ctx context.Context) error {
	res, err := in.e.client.Do(ctx, in.request(sip.BYE))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("caller answered BYE with %d", res.StatusCode)
	}
	return nil
}
