package pbx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// byeTimeout bounds the wait for a phone's answer to BYE.
const byeTimeout = 5 * time.Second

// appFinishTimeout bounds the wait for an application to finish its work
// once its call ended.
const appFinishTimeout = 15 * time.Second

// onInvite handles an INVITE. A new call runs on this goroutine from the
// first INVITE to the end of the call (sipgo ends the transaction when the
// handler returns), which is why INVITE is never run on the worker pool.
func (e *Engine) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		e.onTargetRefresh(req, tx) // a re-INVITE
		return
	}
	if t, ok := e.trunkOf(req); ok {
		e.onTrunkInvite(req, tx, t)
		return
	}
	now := time.Now()
	ext, ok := e.admitCaller(req, tx, now)
	if !ok {
		return
	}
	c := &call{e: e, id: newCallID(), caller: ext, dialed: req.Recipient.User, startedAt: now,
		in: newInbound(e, req, tx), pickups: make(chan *pickup), done: make(chan struct{}), state: CallSetup,
		from: party{ext.Number, ext.Name}, to: party{number: req.Recipient.User}}
	c.log = e.log.With("call", c.id, "caller", c.caller.Number, "dialed", c.dialed)
	if e.atCallLimit(ext) {
		// Counted before this call joins the table: the limit is the
		// calls it may be on, this one included.
		fail := failureFor(fmt.Errorf("%w: extension %s is on %d", errTooManyCalls, ext.Number, ext.MaxCalls))
		c.log.Info("call refused: call limit", "max_calls", ext.MaxCalls)
		// The record first: whoever sees the answer finds it queued.
		e.metrics.callEnded(nil)
		e.cdrs.add(c.cdr(fail.disposition, fail.cause, nil))
		e.respond(tx, req, fail.code, fail.reason, nil)
		return
	}
	if !e.calls.add(c) {
		e.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable (shutting down)", nil)
		return
	}
	defer e.calls.wg.Done()
	defer e.calls.remove(c)
	e.calls.addDialog(c.in.key(), dialogRef{call: c, side: media.SideA, in: c.in})
	c.run()
}

// admitCaller runs the checks a new INVITE from an extension passes
// before it becomes a call: a From naming an extension, Contact and
// Call-ID, and the caller's digest credentials. When the INVITE may not go
// on it has answered it (403, 400, the 407 challenge, 500) and reports
// false. An INVITE without credentials never goes on, which is why the
// stateless path may answer those (onInviteChallenge).
func (e *Engine) admitCaller(req *sip.Request, tx sip.ServerTransaction, now time.Time) (store.Extension, bool) {
	from := req.From()
	if from == nil || !dialplan.IsNumber(from.Address.User) {
		e.respond(tx, req, sip.StatusForbidden, "Forbidden (From must name an extension)", nil)
		return store.Extension{}, false
	}
	if req.Contact() == nil || req.CallID() == nil {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Contact and Call-ID required)", nil)
		return store.Extension{}, false
	}
	return e.authenticateExtension(req, tx, "Proxy-Authorization", from.Address.User, now)
}

// onInviteChallenge answers, on the stateless path, a new INVITE that
// carries no credentials and comes from no trunk: a phone's first INVITE
// of every call. RFC 3261 section 8.2.7 describes this stateless UAS, the
// one that issues challenges; Kamailio challenges the same way. Through
// the transaction layer it cost a server transaction (goroutine, FSM,
// timers, the 407's retransmissions until the ACK) for an answer that
// needs no state.
func (e *Engine) onInviteChallenge(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := e.admitCaller(req, tx, time.Now()); ok {
		// Cannot happen: the read filter sends only INVITEs without
		// credentials this way. Never start a call without a transaction.
		e.log.Error("stateless INVITE was authenticated", "call_id", req.CallID().Value())
		e.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error", nil)
	}
}

// run drives the call: ring the callee's phones, bridge the first that
// answers, wait for the end, write the CDR.
func (c *call) run() {
	c.in.respond(sip.StatusTrying, "Trying")
	// The transaction outlives the call (Timer L after the 2xx, see
	// keepCompleted) and keeps its CANCEL callback: through a reference
	// cleared when run returns, so that it does not keep the whole call,
	// its legs and media, alive with it.
	ref := new(atomic.Pointer[call])
	ref.Store(c)
	defer ref.Store(nil)
	if !c.in.tx.OnCancel(func(*sip.Request) {
		if c := ref.Load(); c != nil {
			c.stop(causeCancelled)
		}
	}) {
		c.stop(causeCancelled) // cancelled before we got here
	}
	fail, ok := c.setup()
	switch {
	case ok:
		c.talk()
	case fail.cause == causeHandedOver:
		// A pickup: this INVITE's dialog went to the call it picked up.
		c.log.Info("call picked up another")
	default:
		if fail.cause != causeCancelled {
			// A CANCEL was already answered 487 by the transaction layer.
			c.in.respond(fail.code, fail.reason)
		}
		c.log.Info("call failed", "code", fail.code, "cause", fail.cause)
		c.e.metrics.callEnded(nil)
		c.e.cdrs.add(c.cdr(fail.disposition, fail.cause, nil))
	}
}

// setup routes the call and connects it: the phones of each destination
// the routing gives are rung in turn (the dial plan's fallbacks, an
// extension's busy and no-answer forwards) and the first that answers is
// connected, or a phone picks the call up, or an application (the echo
// test, a feature code, an IVR menu) answers it. Every failure path
// releases the media ports.
func (c *call) setup() (failure, bool) {
	e := c.e
	offer, err := parseSDP(c.in.req.Body())
	if err != nil {
		return failureFor(err), false
	}
	if err := c.secureOffer(&offer); err != nil {
		return failureFor(err), false
	}
	if h := c.in.req.GetHeader("Replaces"); h != nil {
		return c.replaceDialog(h.Value(), offer)
	}
	var r resolution
	if c.inTrunk != nil {
		r, err = e.resolveInbound(c, e.now())
	} else {
		r, err = e.resolve(e.ctx, c.caller, c.dialed, e.now())
	}
	if err != nil {
		if !routine(err) {
			c.log.Error("routing failed", "error", err)
		}
		return failureFor(err), false
	}
	if r.pickup != nil {
		return c.pickUp(*r.pickup, offer)
	}
	c.mu.Lock()
	c.presented = party{r.callerNumber, r.callerName}
	c.mu.Unlock()
	aPorts, perr := e.ports.Allocate()
	if perr != nil {
		c.log.Error("no media ports", "error", perr)
		return failureFor(perr), false
	}
	legA, lerr := c.newLeg(media.SideA, aPorts, offer, c.from)
	if lerr != nil {
		c.log.Error("media endpoint failed", "error", lerr)
		return failureFor(lerr), false
	}
	// A caller hearing its call ring need not send: silence is not a dead
	// call yet.
	legA.ep.SetReceiving(false)
	legA.dlg = c.in
	legA.st.sdp = c.answerSDP(offer, aPorts.RTPPort())
	c.mu.Lock()
	c.legs[media.SideA] = legA
	c.mu.Unlock()
	fail, ok, app := c.dial(r.attempts, &offer)
	if app != nil {
		return c.answerForApp(*app, offer)
	}
	if !ok {
		legA.ep.Close()
		return fail, false
	}
	return failure{}, true
}

// routine reports whether a routing error is an everyday outcome rather
// than a fault worth an error log.
func routine(err error) bool {
	for _, x := range []error{errUnknownNumber, errNotRegistered, errDND, errBusy, errForbidden, errHangupDest,
		errOutboundClass, errTrunkLoop, errTooManyCalls} {
		if errors.Is(err, x) {
			return true
		}
	}
	return false
}

// answerForApp answers the caller for an application destination and
// runs it (and whatever it hands the call to) on its own goroutine.
func (c *call) answerForApp(dest dialplan.Destination, offer mediaOffer) (failure, bool) {
	legA := c.leg(media.SideA)
	legA.ep.Unbridge()
	legA.ep.SetReceiving(true)
	if fail, ok := c.answerCaller(offer); !ok {
		legA.ep.Close()
		return fail, false
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.appDone = done
	c.mu.Unlock()
	c.e.calls.wg.Add(1) // the call's own count is held: answered
	go func() {
		defer c.e.calls.wg.Done()
		defer close(done)
		c.runApps(dest)
	}()
	return failure{}, true
}

// ringFollowing rings a routed target (or takes its routing error), and
// while its phones are busy, ring out or are not registered, follows the
// extension's busy or no-answer forward to the next target.
func (c *call) ringFollowing(tgt target, err error, side media.Side, from party, offer []byte, h ringHooks) (ringResult, failure, bool) {
	for hop := 0; ; hop++ {
		var fail failure
		if err == nil {
			res, f, ok := c.ring(tgt, side, from, offer, h)
			if ok {
				return res, failure{}, true
			}
			fail = f
		} else {
			fail = failureFor(err)
		}
		if tgt.noForward || hop >= maxForwardHops || c.stopped() {
			return ringResult{}, fail, false
		}
		next, follow := forwardOnFailure(tgt.ext, fail)
		if !follow {
			if d, ok := forwardRedirect(forwardFor(tgt.ext, fail)); ok {
				c.log.Info("forwarding", "from", tgt.ext.Number, "to", d.String(), "cause", fail.cause)
				c.setForwardTo(&d)
			}
			return ringResult{}, fail, false
		}
		c.log.Info("forwarding", "from", tgt.ext.Number, "to", next, "cause", fail.cause)
		tgt, err = c.e.route(c.e.ctx, next, time.Now())
		if err != nil && !errors.Is(err, errNotRegistered) {
			return ringResult{}, failureFor(err), false
		}
		if tgt.redirect != nil {
			c.setForwardTo(tgt.redirect)
			return ringResult{}, failureFor(errNotRegistered), false
		}
	}
}

// setForwardTo notes where the extension that just failed forwards the
// call, when that is not an extension; dial takes it (forwardTo).
func (c *call) setForwardTo(d *dialplan.Destination) {
	c.mu.Lock()
	c.forwardDest = d
	c.mu.Unlock()
}

// forwardTo takes the destination setForwardTo noted, if any.
func (c *call) forwardTo() *dialplan.Destination {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.forwardDest
	c.forwardDest = nil
	return d
}

// legConfig is the media configuration a phone's SDP asks for.
func legConfig(o mediaOffer) media.LegConfig {
	return media.LegConfig{Remote: o.remote, RemoteRTCP: o.rtcp, PayloadType: pickCodec(o), EventPayloadType: o.eventPT, SRTP: o.srtp}
}

// forwardOnFailure is where an extension's phones that did not answer
// send the call: its busy forward when they were busy, its no-answer
// forward when they rang out or none was registered.
func forwardOnFailure(ext store.Extension, f failure) (string, bool) {
	return forwardTarget(forwardFor(ext, f))
}

// forwardFor is the extension's forward for how its phones failed.
func forwardFor(ext store.Extension, f failure) string {
	switch f.cause {
	case causeBusy:
		return ext.Forward.Busy
	case causeNoAnswer, causeNotRegistered:
		return ext.Forward.NoAnswer
	}
	return ""
}

// stopped reports whether the call was asked to end.
func (c *call) stopped() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// answerSDP is the PBX's answer to a phone's offer (the caller's, a
// picking or replacing phone's), for media on the PBX's port.
func (c *call) answerSDP(offer mediaOffer, port int) sdpParams {
	return sdpParams{sessionID: newSessionID(), version: 1, addr: c.e.mediaIP, port: port,
		codecs: []uint8{pickCodec(offer)}, eventPT: offer.eventPT, dir: offer.dir.answer(), sdes: offer.sdes}
}

// answerCaller sends the caller our answer (its leg's SDP, as any early
// media already announced it) and waits for the ACK.
func (c *call) answerCaller(offer mediaOffer) (failure, bool) {
	select {
	case <-c.done: // the caller gave up while the callee answered
		cause := c.stopCause()
		if cause == causeCancelled {
			return failure{sip.StatusRequestTerminated, "Request Terminated", store.DispositionNoAnswer, causeCancelled}, false
		}
		return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, cause}, false
	default:
	}
	c.mu.Lock()
	sdp := buildSDP(c.legs[media.SideA].st.sdp)
	callee := c.legs[media.SideB]
	c.mu.Unlock()
	c.setState(CallAnswered)
	acked, err := c.in.answer(sdp, c.done)
	if err != nil {
		// The transaction is gone: a CANCEL won the race with our 200.
		c.log.Info("could not answer caller", "error", err)
		return failure{sip.StatusRequestTerminated, "Request Terminated", store.DispositionNoAnswer, causeCancelled}, false
	}
	if !acked {
		select {
		case <-c.done: // BYE or timeout before the ACK: an answered call all the same
		default:
			c.stop(causeNoACK)
		}
	}
	if callee != nil {
		contact, _ := callee.dlg.peer()
		c.log.Info("call answered", "callee_contact", contact)
	} else {
		c.log.Info("call answered by the PBX")
	}
	return failure{}, true
}

// talk waits for the end of an answered call, then hangs up every phone
// still on it that did not hang up itself, and writes the CDR.
func (c *call) talk() {
	<-c.done
	// An application finishes its work on the call first (a voicemail
	// message is committed), so the call is over only when that is.
	c.mu.Lock()
	appDone := c.appDone
	c.mu.Unlock()
	if appDone != nil {
		select {
		case <-appDone:
		case <-time.After(appFinishTimeout):
			c.log.Warn("application still running after the call ended")
		}
	}
	cause := c.stopCause()
	c.setState(CallEnding)
	m := legMedia{c}
	m.Close()
	stats := m.Stats()
	c.mu.Lock()
	var byes []legDialog
	for _, l := range c.legs {
		if l != nil && l.dlg != nil && !l.hungUp {
			byes = append(byes, l.dlg)
		}
	}
	c.mu.Unlock()
	c.byeAll(byes)
	c.log.Info("call ended", "cause", cause)
	c.e.metrics.callEnded(&stats)
	c.e.cdrs.add(c.cdr(store.DispositionAnswered, cause, &stats))
}

// byeAll hangs up dialogs at once and waits for their answers, for
// byeTimeout at most (less once shutdown gives up on phones).
func (c *call) byeAll(dlgs []legDialog) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.e.calls.abandon:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	for _, d := range dlgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.bye(ctx); err != nil {
				c.log.Debug("BYE failed", "error", err)
			}
		}()
	}
	wg.Wait()
}

// byeAsync hangs up a dialog that answered but cannot be used, without
// holding up the caller's answer.
func (c *call) byeAsync(d legDialog) {
	c.e.calls.wg.Add(1)
	go func() {
		defer c.e.calls.wg.Done()
		ctx, cancel := context.WithTimeout(c.e.ctx, byeTimeout)
		defer cancel()
		if err := d.bye(ctx); err != nil {
			c.log.Debug("BYE failed", "error", err)
		}
	}()
}
