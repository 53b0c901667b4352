package pbx

import (
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// maxDialAttempts bounds the destinations one call tries (fallbacks,
// number: expansions, ring-group failovers).
const maxDialAttempts = 32

// Failures of destinations that are not there (yet).
var (
	errNoTrunk      = errors.New("no such trunk")
	errNoDestApp    = errors.New("destination not available")
	errHangupDialed = errors.New("hangup")
)

// dial tries the attempts in order until one connects the caller. offer
// is the caller's SDP while its INVITE is unanswered (phones are rung with
// 180/183 to the caller and the first answer is passed on); nil once the
// caller is answered (an application hands the call on: the caller hears
// ringback and the phone that answers is bridged). An attempt whose
// destination is an application ends dialing: the caller is handed to it
// (app is set; nothing was answered yet).
func (c *call) dial(q []attempt, offer *mediaOffer) (fail failure, ok bool, app *dialplan.Destination) {
	e := c.e
	fail = failureFor(errUnknownNumber)
	for n := 0; len(q) > 0 && n < maxDialAttempts; n++ {
		if c.stopped() {
			return c.stoppedFailure(), false, nil
		}
		a := q[0]
		q = q[1:]
		if a.dest.Kind == dialplan.KindNumber {
			more, err := e.expand(e.ctx, c.caller, a, 0)
			if err != nil {
				fail = failureFor(err)
				continue
			}
			q = append(more, q...)
			continue
		}
		var next *attempt
		d := a.dest
		switch {
		case e.cfg.Apps[d.Kind] != nil:
			return failure{}, false, &d
		case d.Kind == dialplan.KindExtension:
			tgt, err := e.route(e.ctx, d.Number, time.Now())
			if err == nil && tgt.redirect != nil {
				c.log.Info("forwarding", "from", tgt.ext.Number, "to", tgt.redirect.String())
				q = append([]attempt{{dest: *tgt.redirect}}, q...)
				continue
			}
			if a.ring > 0 {
				tgt.ringTime = a.ring
			}
			c.forwardTo() // nothing left over from a transfer's ringing
			fail, ok = c.ringTarget(tgt, err, offer)
			if fwd := c.forwardTo(); !ok && fwd != nil && !c.stopped() {
				next = &attempt{dest: *fwd}
			} else if !ok && len(q) == 0 && !c.stopped() {
				next = c.voicemailFor(tgt.ext, d.Number, fail)
			}
		case d.Kind == dialplan.KindRingGroup:
			fail, ok, next = c.ringGroup(d.Number, a.ring, offer)
		case d.Kind == dialplan.KindHangup:
			return failureFor(errHangupDialed), false, nil
		case d.Kind == dialplan.KindTrunk:
			fail, ok = c.dialTrunk(a, offer)
		default: // voicemail, conference: no application serves them yet
			c.log.Info("destination not available", "destination", d.String())
			fail = failureFor(fmt.Errorf("%w: %s", errNoDestApp, d.String()))
		}
		if ok {
			return failure{}, true, nil
		}
		if next != nil {
			q = append([]attempt{*next}, q...)
		}
		if len(q) > 0 && !c.stopped() {
			c.log.Info("destination failed; trying the next", "destination", d.String(), "cause", fail.cause)
		}
	}
	if c.stopped() {
		return c.stoppedFailure(), false, nil
	}
	return fail, false, nil
}

// voicemailFor is where an extension's unanswered call goes last: its
// voicemail box when the box is on (busy, do-not-disturb, no answer, no
// phone registered), if a voicemail application is there. ext is the
// extension routing found (empty when it failed before), number the one
// dialed.
func (c *call) voicemailFor(ext store.Extension, number string, fail failure) *attempt {
	switch fail.cause {
	case causeBusy, causeDND, causeNoAnswer, causeNotRegistered:
	default:
		return nil
	}
	if c.e.cfg.Apps[dialplan.KindVoicemail] == nil {
		return nil
	}
	if ext.Number == "" {
		var err error
		if ext, err = c.e.exts.get(c.e.ctx, number); err != nil {
			return nil
		}
	}
	if !ext.Voicemail.Enabled {
		return nil
	}
	c.log.Info("to voicemail", "box", ext.Number, "cause", fail.cause)
	return &attempt{dest: dialplan.Destination{Kind: dialplan.KindVoicemail, Number: ext.Number}}
}

// dialAnswered tries attempts for a caller already answered (Connect).
func (c *call) dialAnswered(q []attempt) (failure, bool, *dialplan.Destination) {
	return c.dial(q, nil)
}

// stoppedFailure is how a call asked to end during dialing fails.
func (c *call) stoppedFailure() failure {
	switch cause := c.stopCause(); cause {
	case causeCancelled, causeCallerHungUp:
		return failure{sip.StatusRequestTerminated, "Request Terminated", store.DispositionNoAnswer, causeCancelled}
	case causeShutdown:
		return failureFor(errShuttingDown)
	default:
		return failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, cause}
	}
}

// ringTarget rings phones (following the extension's forwards unless
// tgt.noForward) for side B and connects the first to answer.
func (c *call) ringTarget(tgt target, routeErr error, offer *mediaOffer) (failure, bool) {
	if offer != nil {
		return c.ringForCaller(tgt, routeErr, *offer)
	}
	return c.ringForAnswered(tgt, routeErr)
}

// ringForCaller rings for a caller whose INVITE is unanswered: 180 and
// early media go to it, a pickup may take the call, and the first phone
// to answer is bridged and the caller answered.
func (c *call) ringForCaller(tgt target, routeErr error, offer mediaOffer) (failure, bool) {
	e := c.e
	legA := c.leg(media.SideA)
	bPorts, perr := e.ports.Allocate()
	if perr != nil {
		c.log.Error("no media ports", "error", perr)
		return failureFor(perr), false
	}
	legB, lerr := c.newRingingLeg(media.SideB, bPorts, party{number: c.dialed})
	if lerr != nil {
		c.log.Error("media endpoint failed", "error", lerr)
		return failureFor(lerr), false
	}
	c.mu.Lock()
	c.legs[media.SideB] = legB
	from := c.presented
	c.mu.Unlock()
	connected := false
	defer func() {
		if !connected {
			legA.ep.Unbridge()
			legB.ep.Close()
			c.mu.Lock()
			if c.legs[media.SideB] == legB {
				c.legs[media.SideB] = nil
			}
			c.mu.Unlock()
		}
	}()

	// Early media (a 183 with SDP) bridges the phones before the answer.
	hooks := ringHooks{setup: true, ringing: func() { c.in.respond(sip.StatusRinging, "Ringing") }}
	hooks.early = func(ans mediaOffer) bool {
		if err := legB.ep.Update(legConfig(ans)); err != nil {
			c.log.Warn("early media refused", "error", err)
			return false
		}
		media.Bridge(legA.ep, legB.ep)
		c.in.respondBody(sip.StatusSessionInProgress, "Session Progress", buildSDP(legA.st.sdp))
		return true
	}
	res, fail, ok := c.ringFollowing(tgt, routeErr, media.SideB, from, buildSDP(legB.st.sdp), hooks)
	if !ok {
		return fail, false
	}
	if res.picked != nil {
		if fail, ok := c.takePickup(legB, res.picked); !ok {
			return fail, false
		}
	} else {
		w := res.winner
		c.mu.Lock()
		legB.dlg, legB.who = w, party{w.number, w.name}
		hungUp := w.byeReceived // its BYE came before we chose it
		c.mu.Unlock()
		if hungUp {
			c.stop(causeCalleeHungUp)
		}
		if err := legB.ep.Update(legConfig(w.answer)); err != nil {
			c.log.Error("media relay failed", "error", err)
			c.byeAsync(w)
			return failureFor(err), false
		}
	}
	media.Bridge(legA.ep, legB.ep)
	legA.ep.SetReceiving(true)
	legB.ep.SetReceiving(true)
	if fail, ok := c.answerCaller(offer); !ok {
		c.byeAsync(legB.dlg)
		return fail, false
	}
	connected = true
	return failure{}, true
}

// ringForAnswered rings for a caller the PBX answered (an application
// handed it on): the caller hears ringback, and the first phone to answer
// becomes side B, bridged to it.
func (c *call) ringForAnswered(tgt target, routeErr error) (failure, bool) {
	e := c.e
	legA := c.leg(media.SideA)
	if legA == nil {
		return failureFor(errUnknownNumber), false
	}
	ports, err := e.ports.Allocate()
	if err != nil {
		return failureFor(err), false
	}
	nl, err := c.newRingingLeg(media.SideB, ports, party{number: tgt.ext.Number})
	if err != nil {
		return failureFor(err), false
	}
	nl.owner.Store(nil) // not on the call until it answers
	c.mu.Lock()
	from := c.presented
	c.mu.Unlock()
	rb := legA.ep.Play(media.NewToneSource(media.Ringback()))
	res, fail, ok := c.ringFollowing(tgt, routeErr, media.SideB, from, buildSDP(nl.st.sdp), ringHooks{})
	if ok && res.winner == nil {
		ok, fail = false, failureFor(errUnknownNumber)
	}
	if !ok {
		rb.Stop()
		nl.ep.Close()
		return fail, false
	}
	w := res.winner
	if err := nl.ep.Update(legConfig(w.answer)); err != nil {
		rb.Stop()
		nl.ep.Close()
		c.byeAsync(w)
		return failureFor(err), false
	}
	c.mu.Lock()
	if c.state != CallAnswered || c.legs[media.SideA] != legA || c.legs[media.SideB] != nil {
		c.mu.Unlock()
		rb.Stop()
		nl.ep.Close()
		c.byeAsync(w)
		return c.stoppedFailure(), false
	}
	nl.dlg, nl.who = w, party{w.number, w.name}
	c.legs[media.SideB] = nl
	nl.owner.Store(&legOwner{c: c, side: media.SideB})
	c.to = nl.who
	hungUp := w.byeReceived
	c.mu.Unlock()
	e.calls.addDialog(w.key(), refFor(c, media.SideB, w))
	rb.Stop()
	media.Bridge(legA.ep, nl.ep)
	nl.ep.SetReceiving(true)
	e.callWatch.notify()
	c.log.Info("call connected", "to", nl.who.number)
	if hungUp {
		c.stop(causeCalleeHungUp)
	}
	return failure{}, true
}

// ringGroup rings a ring group's members as its strategy says: all at
// once (ringall) for its ring time, or one after another in member order
// (hunt), each for its member time, within the group's ring time. Members
// on do-not-disturb, busy without call waiting, or with no phone
// registered are skipped. When nobody answers, next is the group's
// failover destination, if it has one.
func (c *call) ringGroup(number string, ring time.Duration, offer *mediaOffer) (fail failure, ok bool, next *attempt) {
	e := c.e
	g, err := e.cfg.Store.GetRingGroup(e.ctx, number)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return failureFor(fmt.Errorf("%w: ring group %s", errUnknownNumber, number)), false, nil
		}
		c.log.Error("ring group", "error", err)
		return failureFor(err), false, nil
	}
	total := time.Duration(g.RingSeconds) * time.Second
	if ring > 0 {
		total = ring
	}
	deadline := time.Now().Add(total)
	var members []target
	for _, m := range g.Members {
		ext, err := e.exts.get(e.ctx, m)
		if err != nil {
			continue
		}
		busy := (!ext.CallWaiting && e.extensionOnCall(ext.Number)) || e.atCallLimit(ext)
		if ext.DND || busy {
			continue
		}
		b := e.loc.lookup(ext.Number, time.Now())
		if len(b) == 0 {
			continue
		}
		members = append(members, target{ext: ext, bindings: b, noForward: true})
	}
	fail = failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionNoAnswer, causeNoAnswer}
	if len(members) == 0 {
		fail = failureFor(errNotRegistered)
	}
	switch {
	case len(members) == 0:
	case g.Strategy == store.StrategyHunt:
		for _, m := range members {
			left := time.Until(deadline)
			if left <= 0 || c.stopped() {
				break
			}
			m.ringTime = min(time.Duration(g.MemberSeconds)*time.Second, left)
			c.log.Info("ring group member", "group", number, "member", m.ext.Number)
			if fail, ok = c.ringTarget(m, nil, offer); ok {
				return failure{}, true, nil
			}
		}
	default: // ringall
		all := target{ext: members[0].ext, ringTime: total, noForward: true}
		for _, m := range members {
			for _, b := range m.bindings {
				all.phones = append(all.phones, ringPhone{b: b, who: party{m.ext.Number, m.ext.Name}})
			}
		}
		if fail, ok = c.ringTarget(all, nil, offer); ok {
			return failure{}, true, nil
		}
	}
	if c.stopped() || g.OnNoAnswer == "" {
		return fail, false, nil
	}
	d, err := dialplan.ParseDestination(g.OnNoAnswer)
	if err != nil {
		c.log.Warn("ring group failover unusable", "group", number, "error", err)
		return fail, false, nil
	}
	c.log.Info("ring group failover", "group", number, "to", d.String())
	return fail, false, &attempt{dest: d}
}
