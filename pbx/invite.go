package pbx

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// byeTimeout bounds the wait for a phone's answer to BYE.
const byeTimeout = 5 * time.Second

// onInvite handles an INVITE. A new call runs on this goroutine from the
// first INVITE to the end of the call (sipgo ends the transaction when the
// handler returns), which is why INVITE is never run on the worker pool.
func (e *Engine) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		e.onTargetRefresh(req, tx) // a re-INVITE
		return
	}
	from := req.From()
	if from == nil || !dialplan.IsNumber(from.Address.User) {
		e.respond(tx, req, sip.StatusForbidden, "Forbidden (From must name an extension)", nil)
		return
	}
	if req.Contact() == nil || req.CallID() == nil {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Contact and Call-ID required)", nil)
		return
	}
	now := time.Now()
	ext, ok := e.authenticateExtension(req, tx, "Proxy-Authorization", from.Address.User, now)
	if !ok {
		return
	}
	c := &call{e: e, id: newCallID(), caller: ext, dialed: req.Recipient.User, startedAt: now,
		in: newInbound(e, req, tx), events: make(chan forkEvent), setupOver: make(chan struct{}),
		done: make(chan struct{}), state: CallSetup}
	c.log = e.log.With("call", c.id, "caller", c.caller.Number, "dialed", c.dialed)
	if !e.calls.add(c) {
		e.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable (shutting down)", nil)
		return
	}
	defer e.calls.wg.Done()
	defer e.calls.remove(c)
	e.calls.addDialog(c.in.key(), dialogRef{call: c})
	c.run()
}

// run drives the call: ring the callee's phones, bridge the first that
// answers, wait for the end, write the CDR.
func (c *call) run() {
	c.in.respond(sip.StatusTrying, "Trying")
	if !c.in.tx.OnCancel(func(*sip.Request) { c.stop(causeCancelled) }) {
		c.stop(causeCancelled) // cancelled before we got here
	}
	b, fail, ok := c.setup()
	if !ok {
		if fail.cause != causeCancelled {
			// A CANCEL was already answered 487 by the transaction layer.
			c.in.respond(fail.code, fail.reason)
		}
		c.log.Info("call failed", "code", fail.code, "cause", fail.cause)
		c.e.metrics.callEnded(nil)
		c.e.cdrs.add(c.cdr(fail.disposition, fail.cause, nil))
		return
	}
	c.talk(b)
}

// bridge is an answered call's media and callee dialog.
type bridge struct {
	media  callMedia
	callee *fork // nil for the echo test
}

// callMedia is an answered call's media: a relay between two phones, or
// the echo test's echo.
type callMedia interface {
	Close() error
	Stats() media.Stats
}

// setup routes the call, rings the phones and connects the first that
// answers. Every failure path releases the media ports.
func (c *call) setup() (bridge, failure, bool) {
	e := c.e
	offer, err := parseSDP(c.in.req.Body())
	if err != nil {
		return bridge{}, failureFor(err), false
	}
	tgt, err := e.route(e.ctx, c.caller, c.dialed, time.Now())
	if err != nil {
		if !errors.Is(err, errUnknownNumber) && !errors.Is(err, errNotRegistered) {
			c.log.Error("routing failed", "error", err)
		}
		return bridge{}, failureFor(err), false
	}
	aPorts, err := e.ports.Allocate()
	if err != nil {
		c.log.Error("no media ports", "error", err)
		return bridge{}, failureFor(err), false
	}
	if tgt.echo {
		return c.setupEcho(offer, aPorts)
	}
	if tgt.feature != nil {
		return c.setupFeature(*tgt.feature, offer, aPorts)
	}
	bPorts, err := e.ports.Allocate()
	if err != nil {
		aPorts.Release()
		c.log.Error("no media ports", "error", err)
		return bridge{}, failureFor(err), false
	}
	// The relay starts with the first early media (a 183 with SDP), or
	// else with the answer. Until the call is connected, a failure closes
	// it, or releases the ports it has not taken yet.
	var relay *media.Relay
	connected := false
	defer func() {
		switch {
		case connected:
		case relay != nil:
			relay.Close()
		default:
			aPorts.Release()
			bPorts.Release()
		}
	}()

	calleeSDP := sdpParams{sessionID: newSessionID(), version: 1, addr: e.mediaIP, port: bPorts.RTPPort(),
		codecs: []uint8{media.PayloadPCMU, media.PayloadPCMA}, eventPT: telephoneEventPT}
	c.mu.Lock()
	c.sides[media.SideB].sdp = calleeSDP
	c.sides[media.SideA].sdp = c.callerSDP(offer, aPorts.RTPPort())
	c.mu.Unlock()

	startRelay := func(ans mediaOffer) error {
		if relay != nil {
			return relay.Endpoint(media.SideB).Update(media.LegConfig{Remote: ans.remote, RemoteRTCP: ans.rtcp,
				PayloadType: pickCodec(ans), EventPayloadType: ans.eventPT})
		}
		r, err := media.NewRelay(media.Config{
			A: media.LegConfig{Ports: aPorts, Remote: offer.remote, RemoteRTCP: offer.rtcp,
				PayloadType: pickCodec(offer), EventPayloadType: offer.eventPT},
			B: media.LegConfig{Ports: bPorts, Remote: ans.remote, RemoteRTCP: ans.rtcp,
				PayloadType: pickCodec(ans), EventPayloadType: ans.eventPT},
			MediaTimeout: e.cfg.MediaTimeout,
			OnTimeout:    func(media.Side) { c.stop(causeMediaTimeout) },
			OnDigit:      func(s media.Side, d media.Digit) { c.onDigit(s, d, "rfc4733") },
		})
		if err != nil {
			return err
		}
		relay = r
		return nil
	}
	early := func(ans mediaOffer) bool {
		if err := startRelay(ans); err != nil {
			c.log.Warn("early media refused", "error", err)
			return false
		}
		// Ringing phones need not send: silence is not a dead call yet.
		relay.Endpoint(media.SideA).SetReceiving(false)
		relay.Endpoint(media.SideB).SetReceiving(false)
		return true
	}
	winner, fail, ok := c.ring(tgt, buildSDP(calleeSDP), early)
	if !ok {
		return bridge{}, fail, false
	}
	if err := startRelay(winner.answer); err != nil {
		c.log.Error("media relay failed", "error", err)
		c.byeAsync(winner)
		return bridge{}, failureFor(err), false
	}
	relay.Endpoint(media.SideA).SetReceiving(true)
	relay.Endpoint(media.SideB).SetReceiving(true)
	c.mu.Lock()
	c.relay = relay
	c.mu.Unlock()
	b := bridge{media: relay, callee: winner}
	fail, ok = c.answerCaller(b, offer)
	if !ok {
		c.byeAsync(winner)
		return bridge{}, fail, false
	}
	connected = true
	return b, failure{}, true
}

// callerSDP is the PBX's answer to the caller's offer.
func (c *call) callerSDP(offer mediaOffer, port int) sdpParams {
	return sdpParams{sessionID: newSessionID(), version: 1, addr: c.e.mediaIP, port: port,
		codecs: []uint8{pickCodec(offer)}, eventPT: offer.eventPT, dir: offer.dir.answer()}
}

// ring invites every phone of the target at once and waits for the first
// usable answer, for the ring time, or for the caller to give up. Every
// other fork is cancelled.
func (c *call) ring(tgt target, offer []byte, early func(mediaOffer) bool) (*fork, failure, bool) {
	e := c.e
	var forks []*fork
	for _, b := range tgt.bindings {
		f, err := c.newFork(b, tgt.ext.Number, offer)
		if err != nil {
			c.log.Warn("cannot ring phone", "error", err)
			continue
		}
		forks = append(forks, f)
	}
	if len(forks) == 0 {
		return nil, failureFor(errNotRegistered), false
	}
	c.mu.Lock()
	c.forks = forks
	c.mu.Unlock()
	c.setState(CallRinging)
	for _, f := range forks {
		e.calls.addDialog(f.key(), dialogRef{call: c, fork: f})
		e.calls.wg.Add(1)
		go func() {
			defer e.calls.wg.Done()
			f.run()
		}()
	}
	timer := time.NewTimer(tgt.ringTime)
	defer timer.Stop()
	pending, ringing, earlyMedia := len(forks), false, false
	var finals []finalResponse
	var winner *fork
	cause := ""
	for pending > 0 && winner == nil && cause == "" {
		select {
		case ev := <-c.events:
			switch ev.kind {
			case forkRinging:
				if !ringing && !earlyMedia {
					ringing = true
					c.in.respond(sip.StatusRinging, "Ringing")
				}
			case forkEarly:
				if !earlyMedia && early(ev.sdp) {
					// The caller hears the callee's phone (a ringback
					// of its own, an announcement) through the relay.
					earlyMedia = true
					c.mu.Lock()
					body := buildSDP(c.sides[media.SideA].sdp)
					c.mu.Unlock()
					c.in.respondBody(sip.StatusSessionInProgress, "Session Progress", body)
				}
			case forkFailed:
				pending--
				finals = append(finals, ev.final)
			case forkAnswered:
				if ev.err != nil {
					c.log.Warn("callee answered with unusable SDP", "error", ev.err)
					ev.f.decision <- false
					pending--
					finals = append(finals, finalResponse{sip.StatusNotAcceptableHere, "Not Acceptable Here"})
					continue
				}
				winner = ev.f
				ev.f.decision <- true
			}
		case <-timer.C:
			cause = causeNoAnswer
		case <-c.done:
			cause = c.stopCause()
		}
	}
	for _, f := range forks {
		if f != winner {
			f.requestCancel()
		}
	}
	close(c.setupOver)
	if winner != nil {
		c.mu.Lock()
		c.winner = winner
		hungUp := winner.byeReceived
		c.mu.Unlock()
		if hungUp {
			c.stop(causeCalleeHungUp) // its BYE came before we chose it
		}
		return winner, failure{}, true
	}
	switch cause {
	case "":
		return nil, forkFailure(finals), false
	case causeNoAnswer:
		return nil, failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionNoAnswer, causeNoAnswer}, false
	case causeCancelled, causeCallerHungUp:
		return nil, failure{sip.StatusRequestTerminated, "Request Terminated", store.DispositionNoAnswer, causeCancelled}, false
	case causeShutdown:
		return nil, failureFor(errShuttingDown), false
	}
	return nil, failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, cause}, false
}

// answerCaller sends the caller our answer (c.sides[A].sdp, as any early
// media already announced it) and waits for the ACK.
func (c *call) answerCaller(b bridge, offer mediaOffer) (failure, bool) {
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
	c.codec = pickCodec(offer)
	sdp := buildSDP(c.sides[media.SideA].sdp)
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
	if b.callee != nil {
		c.log.Info("call answered", "callee_contact", b.callee.b.Contact)
	} else {
		c.log.Info("call answered by the PBX")
	}
	return failure{}, true
}

// talk waits for the end of an answered call, then hangs up whichever
// side did not, and writes the CDR.
func (c *call) talk(b bridge) {
	<-c.done
	cause := c.stopCause()
	c.setState(CallEnding)
	b.media.Close()
	stats := b.media.Stats()
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
	if b.callee != nil && cause != causeCalleeHungUp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.callee.bye(ctx); err != nil {
				c.log.Debug("BYE to callee failed", "error", err)
			}
		}()
	}
	if cause != causeCallerHungUp {
		if err := c.in.bye(ctx); err != nil {
			c.log.Debug("BYE to caller failed", "error", err)
		}
	}
	wg.Wait()
	c.log.Info("call ended", "cause", cause)
	c.e.metrics.callEnded(&stats)
	c.e.cdrs.add(c.cdr(store.DispositionAnswered, cause, &stats))
}

// byeAsync hangs up a fork that answered but cannot be used, without
// holding up the caller's answer.
func (c *call) byeAsync(f *fork) {
	c.e.calls.wg.Add(1)
	go func() {
		defer c.e.calls.wg.Done()
		ctx, cancel := context.WithTimeout(c.e.ctx, byeTimeout)
		defer cancel()
		if err := f.bye(ctx); err != nil {
			c.log.Debug("BYE to callee failed", "error", err)
		}
	}()
}
