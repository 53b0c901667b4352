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
}

func newInbound(e *Engine, req *sip.Request, tx sip.ServerTransaction) *inbound {
	in := &inbound{e: e, req: req.Clone(), tx: tx, tag: sip.GenerateTagN(16), acked: make(chan struct{})}
	in.req.To().Params.Add("tag", in.tag)
	return in
}

func (in *inbound) key() dialogKey {
	return dialogKey{callID: in.req.CallID().Value(), localTag: in.tag}
}

// response builds a response to the INVITE carrying the dialog's tag.
func (in *inbound) response(code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(in.req, code, reason, body)
	res.AppendHeader(sip.NewHeader("Server", in.e.cfg.UserAgent))
	if code > 100 && code < 300 {
		ct := in.e.contact(in.req.Transport())
		res.AppendHeader(&ct)
		res.AppendHeader(sip.NewHeader("Allow", allowMethods))
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
	giveUp := time.NewTimer(64 * sip.T1)
	defer giveUp.Stop()
	interval := sip.T1
	resend := time.NewTimer(interval)
	defer resend.Stop()
	if sip.IsReliable(in.req.Transport()) {
		resend.Stop()
	}
	for {
		select {
		case <-in.acked:
			return true, nil
		case <-stop:
			return false, nil
		case <-giveUp.C:
			return false, nil
		case <-resend.C:
			if err := in.tx.Respond(res); err != nil {
				in.e.log.Debug("resend 200 OK failed", "error", err)
			}
			interval = min(2*interval, sip.T2)
			resend.Reset(interval)
		}
	}
}

// bye ends the dialog from the PBX's side. The request goes to where the
// INVITE came from (the phone may sit behind NAT), over its transport.
func (in *inbound) bye(ctx context.Context) error {
	ct := in.req.Contact()
	if ct == nil {
		return fmt.Errorf("caller sent no Contact")
	}
	req := sip.NewRequest(sip.BYE, *ct.Address.Clone())
	from := in.req.To().AsFrom()
	to := in.req.From().AsTo()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(sip.HeaderClone(in.req.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: in.cseq.Add(1), MethodName: sip.BYE})
	contact := in.e.contact(in.req.Transport())
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("User-Agent", in.e.cfg.UserAgent))
	req.SetTransport(in.req.Transport())
	req.SetDestination(in.req.Source())
	res, err := in.e.client.Do(ctx, req)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("caller answered BYE with %d", res.StatusCode)
	}
	return nil
}
