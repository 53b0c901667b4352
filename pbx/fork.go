package pbx

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// fork is one outbound dialog of a call: the INVITE to one registered
// phone of the callee, where the PBX is the UAC. Its goroutine runs the
// INVITE transaction and reports to the call; after the answer the call
// owns the dialog (ACK, BYE).
type fork struct {
	c      *call
	rs     *ringState // the round of ringing it reports to
	b      store.Registration
	number string
	name   string       // the extension's name
	req    *sip.Request // the INVITE
	// trunk is set for an INVITE to a provider: its 401/407 is answered
	// once with the trunk's credentials.
	trunk   *store.Trunk
	callID  string
	fromTag string

	cancelOnce sync.Once
	cancelReq  chan struct{} // closed to ask for CANCEL
	decision   chan bool     // the call's answer to an answered event: keep it?
	// byeReceived is set, under c.mu, when the phone hung up its answer.
	byeReceived bool

	mu     sync.Mutex
	state  string
	res    *sip.Response // the 2xx, once answered
	answer mediaOffer
	// sdes is the SRTP the PBX offered this phone (nil: plain RTP);
	// srtpOn is set once its answer took it.
	sdes   *sdesLine
	srtpOn bool
	cseq   uint32       // the last CSeq the PBX used in this dialog
	target sip.Uri      // the callee's Contact, refreshed by re-INVITE
	routes []sip.Header // the dialog's route set
}

type forkEventKind int

const (
	forkRinging forkEventKind = iota
	forkEarly                 // a provisional response with SDP: early media
	forkAnswered
	forkFailed
)

type forkEvent struct {
	f     *fork
	kind  forkEventKind
	final finalResponse // forkFailed
	sdp   mediaOffer    // forkAnswered, forkEarly
	err   error         // forkAnswered with an unusable SDP
}

// newFork builds the INVITE for one binding of the callee. The name and
// number of from go in From (caller ID).
func (c *call) newFork(p ringPhone, from party, offer []byte, rs *ringState) (*fork, error) {
	b, to := p.b, p.who
	number := to.number
	e := c.e
	req, err := e.newRequestTo(sip.INVITE, b)
	if err != nil {
		return nil, fmt.Errorf("contact %q: %w", b.Contact, err)
	}
	f := &fork{c: c, rs: rs, b: b, number: number, name: to.name, req: req, callID: sip.GenerateTagN(24) + "@pbx", fromTag: sip.GenerateTagN(16),
		cancelReq: make(chan struct{}), decision: make(chan bool, 1), state: "trying", cseq: 1}
	req.RemoveHeader("From")
	req.RemoveHeader("To")
	fromHdr := &sip.FromHeader{DisplayName: from.name,
		Address: sip.Uri{Scheme: "sip", User: from.number, Host: e.cfg.ExternalIP}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", f.fromTag)
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: e.cfg.ExternalIP}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(f.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: f.cseq, MethodName: sip.INVITE})
	ct := e.contact(req.Transport())
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	req.AppendHeader(sip.NewHeader("Supported", supportedOptions))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if f.sdes, err = c.srtpOfferFor(b); err != nil {
		return nil, fmt.Errorf("contact %q: %w", b.Contact, err)
	}
	req.SetBody(withSDES(offer, f.sdes))
	if p.trunk != nil {
		f.trunk = p.trunk
		f.setTrunkHeaders(p.trunk, c.trunkCallerID(p.trunk, from))
	}
	return f, nil
}

func (f *fork) key() dialogKey { return dialogKey{callID: f.callID, localTag: f.fromTag} }

func (f *fork) setState(s string) {
	f.mu.Lock()
	f.state = s
	f.mu.Unlock()
	f.c.e.callWatch.notify()
}

// setRinging marks a provisional response, unless the fork is already
// being cancelled: a 180 that crosses the CANCEL does not bring it back.
func (f *fork) setRinging() {
	f.mu.Lock()
	changed := f.state == "trying"
	if changed {
		f.state = "ringing"
	}
	f.mu.Unlock()
	if changed {
		f.c.e.callWatch.notify()
	}
}

func (f *fork) info() LegInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	li := LegInfo{Role: "callee", Number: f.number, Contact: f.b.Contact, Source: f.b.Source, State: f.state}
	if len(f.answer.codecs) > 0 {
		li.Codec = codecName(pickCodec(f.answer))
	}
	return li
}

// requestCancel asks the fork to CANCEL its INVITE (if still pending).
// roundOver reports whether the round of ringing the fork belongs to is
// over (it answered, or it is being cancelled).
func (f *fork) roundOver() bool {
	select {
	case <-f.rs.over:
		return true
	default:
		return false
	}
}

// The fork's state turns "cancelled" at once, before its goroutine sends
// the CANCEL: a phone that lost the ringing is never listed as trying or
// ringing once another answered.
func (f *fork) requestCancel() {
	f.cancelOnce.Do(func() {
		f.mu.Lock()
		changed := f.state == "trying" || f.state == "ringing"
		if changed {
			f.state = "cancelled"
		}
		f.mu.Unlock()
		if changed {
			f.c.e.callWatch.notify()
		}
		close(f.cancelReq)
	})
}

// forkEventsMax is the most events one fork reports: ringing, early media
// and its final outcome. The round's channel has room for all of them, so
// a fork never waits for the ring loop while sipgo holds a response (the
// client transaction blocks until the fork reads it): a 200 OK is ACKed
// at once, whatever the ring loop is doing.
const forkEventsMax = 3

// report hands an event to the call; false when the call takes no more.
func (f *fork) report(ev forkEvent) bool {
	ev.f = f
	select {
	case <-f.rs.over:
		return false
	default:
	}
	select {
	case f.rs.events <- ev:
		return true
	case <-f.rs.over:
		return false
	}
}

// decide waits for the call's answer to the fork's forkAnswered event:
// keep the dialog or hang it up. A round that ends without reading the
// event (the caller gave up meanwhile) answers no.
func (f *fork) decide() bool {
	select {
	case keep := <-f.decision:
		return keep
	case <-f.rs.over:
		// The ring loop sends its decision before it closes over.
		select {
		case keep := <-f.decision:
			return keep
		default:
			return false
		}
	}
}

// run sends the INVITE and follows its transaction to the end. A CANCEL
// goes out only after a provisional response (RFC 3261 9.1); an answer
// that comes when the call no longer wants it is ACKed and hung up.
func (f *fork) run() {
	e := f.c.e
	tx, err := e.client.TransactionRequest(e.ctx, f.req)
	if err != nil {
		f.c.log.Warn("INVITE to phone failed", "contact", f.b.Contact, "source", f.b.Source, "error", err)
		f.setState("failed")
		f.report(forkEvent{kind: forkFailed, final: finalResponse{sip.StatusServiceUnavailable, "Service Unavailable"}})
		return
	}
	var cancelTx sip.ClientTransaction
	var cancelTimer *time.Timer
	defer func() {
		if cancelTx != nil {
			cancelTx.Terminate()
		}
		if cancelTimer != nil {
			cancelTimer.Stop()
		}
	}()
	provisional, rang, wantCancel, early, authed := false, false, false, false, false
	cancelReq := f.cancelReq
	// Once CANCEL is sent, the INVITE gets 64*T1 to end (RFC 3261 9.1):
	// sipgo stops Timer B at the first provisional response, so a phone
	// that never sends the 487 would keep the fork forever.
	var cancelDeadline <-chan time.Time
	var cancelResponses <-chan *sip.Response
	startCancel := func() {
		cancelTx = f.sendCancel()
		if cancelTx != nil {
			cancelResponses = cancelTx.Responses()
		}
		cancelTimer = time.NewTimer(64 * sip.T1)
		cancelDeadline = cancelTimer.C
	}
	for {
		select {
		case res := <-tx.Responses():
			switch {
			case res.StatusCode < 200:
				if res.StatusCode > 100 && !provisional {
					provisional = true
				}
				if res.StatusCode > 100 && !rang {
					rang = true
					f.setRinging()
					f.report(forkEvent{kind: forkRinging})
				}
				if res.StatusCode > 100 && len(res.Body()) > 0 && !early {
					if sdp, err := parseSDP(res.Body()); err == nil && f.secureAnswer(&sdp) == nil {
						early = true
						f.report(forkEvent{kind: forkEarly, sdp: sdp})
					}
				}
				if wantCancel && cancelDeadline == nil {
					startCancel()
				}
			case res.StatusCode < 300:
				f.answered(tx, res)
				return
			case f.challenged(res) && !authed && !wantCancel:
				// A provider's challenge: the same INVITE again, CSeq+1,
				// with the trunk's credentials (RFC 3261 22.2); the new
				// transaction needs its own provisional before a CANCEL.
				authed, provisional = true, false
				ntx, err := f.authorize(tx, res)
				if err != nil {
					f.c.log.Warn("trunk challenge not answered", "trunk", f.trunk.Name, "error", err)
					f.setState("failed")
					f.report(forkEvent{kind: forkFailed, final: finalResponse{res.StatusCode, res.Reason}})
					return
				}
				tx = ntx
			default:
				f.setState("failed")
				f.report(forkEvent{kind: forkFailed, final: finalResponse{res.StatusCode, res.Reason}})
				tx.Terminate()
				return
			}
		case <-cancelReq:
			cancelReq, wantCancel = nil, true
			if provisional {
				startCancel()
			}
		case <-cancelResponses:
			// The CANCEL's own 200 (or 481): the INVITE's answer still
			// follows. Read it, or sipgo's goroutine waits holding it.
			cancelResponses = nil
		case <-cancelDeadline:
			f.setState("failed")
			f.report(forkEvent{kind: forkFailed, final: finalResponse{sip.StatusRequestTerminated, "Request Terminated"}})
			tx.Terminate()
			return
		case <-tx.Done():
			f.setState("failed")
			f.report(forkEvent{kind: forkFailed, final: finalResponse{sip.StatusRequestTimeout, "Request Timeout"}})
			return
		case <-e.calls.abandon:
			tx.Terminate()
			return
		}
	}
}

// answered ACKs a 2xx (and its retransmissions), then lets the call
// decide: keep the dialog, or hang it up at once.
func (f *fork) answered(tx sip.ClientTransaction, res *sip.Response) {
	f.mu.Lock()
	f.res = res
	f.target = *f.req.Recipient.Clone()
	if ct := res.Contact(); ct != nil {
		f.target = *ct.Address.Clone()
	}
	f.routes = routeSet(res, true)
	f.mu.Unlock()
	e := f.c.e
	e.sendACK(tx, f.request(sip.ACK, f.cseq), f.c.log)
	sdp, err := parseSDP(res.Body())
	if err == nil {
		err = f.secureAnswer(&sdp)
	}
	f.mu.Lock()
	f.answer = sdp
	f.mu.Unlock()
	if f.report(forkEvent{kind: forkAnswered, sdp: sdp, err: err}) && f.decide() {
		f.setState("answered")
		return
	}
	f.setState("hung up")
	ctx, cancel := context.WithTimeout(e.ctx, byeTimeout)
	defer cancel()
	if err := f.bye(ctx); err != nil {
		f.c.log.Debug("BYE to late answer failed", "error", err)
	}
}

// sendACK sends the ACK of a 2xx to an INVITE of the PBX, and sends it
// again for each retransmission of that 2xx (RFC 3261 13.2.2.4: the UAC
// core answers them, not the transaction).
func (e *Engine) sendACK(tx sip.ClientTransaction, ack *sip.Request, log *slog.Logger) {
	if err := e.client.WriteRequest(ack); err != nil {
		log.Debug("ACK failed", "error", err)
	}
	template := ack.Clone()
	tx.OnRetransmission(func(r *sip.Response) {
		if r.StatusCode/100 == 2 {
			_ = e.client.WriteRequest(template.Clone(), func(*sipgo.Client, *sip.Request) error { return nil })
		}
	})
}

// request builds an in-dialog request after the 2xx. The Request-URI is
// the phone's Contact; the packet goes where the phone registered from.
func (f *fork) request(method sip.RequestMethod, seq uint32) *sip.Request {
	f.mu.Lock()
	target, res, routes := f.target, f.res, f.routes
	f.mu.Unlock()
	req := sip.NewRequest(method, *target.Clone())
	req.AppendHeader(sip.HeaderClone(f.req.From()))
	req.AppendHeader(sip.HeaderClone(res.To()))
	req.AppendHeader(sip.HeaderClone(f.req.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	for _, r := range routes {
		req.AppendHeader(sip.HeaderClone(r)) // each request its own header
	}
	if method != sip.ACK {
		ct := f.c.e.contact(f.req.Transport())
		req.AppendHeader(&ct)
		req.AppendHeader(sip.NewHeader("User-Agent", f.c.e.cfg.UserAgent))
	}
	req.SetTransport(f.req.Transport())
	req.SetDestination(f.b.Source)
	return req
}

// bye hangs up the answered dialog.
func (f *fork) bye(ctx context.Context) error {
	f.mu.Lock()
	res := f.res
	f.cseq++
	seq := f.cseq
	f.mu.Unlock()
	if res == nil {
		return fmt.Errorf("fork not answered")
	}
	r, err := f.c.e.client.Do(ctx, f.request(sip.BYE, seq))
	if err != nil {
		return err
	}
	if r.StatusCode >= 300 {
		return fmt.Errorf("callee answered BYE with %d", r.StatusCode)
	}
	return nil
}

// sendCancel CANCELs the INVITE: same Request-URI, top Via, From, To,
// Call-ID and CSeq number (RFC 3261 9.1).
func (f *fork) sendCancel() sip.ClientTransaction {
	req := sip.NewRequest(sip.CANCEL, *f.req.Recipient.Clone())
	req.AppendHeader(sip.HeaderClone(f.req.Via()))
	req.AppendHeader(sip.HeaderClone(f.req.From()))
	req.AppendHeader(sip.HeaderClone(f.req.To()))
	req.AppendHeader(sip.HeaderClone(f.req.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: f.req.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetTransport(f.req.Transport())
	req.SetDestination(f.b.Source)
	tx, err := f.c.e.client.TransactionRequest(f.c.e.ctx, req, func(_ *sipgo.Client, r *sip.Request) error {
		r.SetBody(nil)
		return nil
	})
	if err != nil {
		f.c.log.Debug("CANCEL failed", "contact", f.b.Contact, "error", err)
		return nil
	}
	return tx
}
