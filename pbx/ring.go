package pbx

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// ringState is one round of ringing: its forks report to it until it is
// over (a late answer is then hung up). A call rings once to set up, and
// again for a forward, a transfer or a transfer's recall.
type ringState struct {
	events chan forkEvent
	over   chan struct{}
}

// ringHooks is what a round of ringing tells the one who waits for it.
type ringHooks struct {
	// setup marks the call's own ringing: it sets the call's state, lists
	// the forks in the calls API and takes pickups.
	setup bool
	// ringing is called on the first provisional response that rings.
	ringing func()
	// early is offered the first early media (183 with SDP); it reports
	// whether it took it.
	early func(mediaOffer) bool
}

// ringResult is how a round of ringing ended well: a phone answered, or
// another phone picked the call up.
type ringResult struct {
	winner *fork
	picked *pickup
}

// ring invites every phone of the target at once, with caller ID from,
// for the call's side, and waits for the first usable answer, for the
// ring time, for a pickup, or for the call to end. Every other fork is
// cancelled.
func (c *call) ring(tgt target, side media.Side, from party, offer []byte, h ringHooks) (ringResult, failure, bool) {
	e := c.e
	var forks []*fork
	phones := tgt.phones
	if phones == nil {
		for _, b := range tgt.bindings {
			phones = append(phones, ringPhone{b: b, who: party{tgt.ext.Number, tgt.ext.Name}})
		}
	}
	rs := &ringState{events: make(chan forkEvent, forkEventsMax*len(phones)), over: make(chan struct{})}
	for _, p := range phones {
		f, err := c.newFork(p, from, offer, rs)
		if err != nil {
			c.log.Warn("cannot ring phone", "error", err)
			continue
		}
		forks = append(forks, f)
	}
	if len(forks) == 0 {
		close(rs.over)
		return ringResult{}, failureFor(errNotRegistered), false
	}
	var pickups chan *pickup
	c.mu.Lock()
	c.forks = forks
	if h.setup {
		pickups = c.pickups
		c.ringOver, c.ringingExt = rs.over, tgt.ext
	}
	c.mu.Unlock()
	if h.setup {
		c.setState(CallRinging)
	} else {
		c.e.callWatch.notify() // a transfer's target rings
	}
	for _, f := range forks {
		e.calls.addDialog(f.key(), dialogRef{call: c, side: side, fork: f})
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
	var res ringResult
	cause := ""
	for pending > 0 && res.winner == nil && res.picked == nil && cause == "" {
		select {
		case ev := <-rs.events:
			switch ev.kind {
			case forkRinging:
				if !ringing && !earlyMedia && h.ringing != nil {
					h.ringing()
				}
				ringing = true
			case forkEarly:
				if !earlyMedia && h.early != nil && h.early(ev.sdp) {
					earlyMedia = true
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
				res.winner = ev.f
				ev.f.decision <- true
			}
		case p := <-pickups:
			res.picked = p
		case <-timer.C:
			cause = causeNoAnswer
		case <-c.done:
			cause = c.stopCause()
		}
	}
	for _, f := range forks {
		if f != res.winner {
			f.requestCancel()
		}
	}
	close(rs.over)
	if res.winner != nil || res.picked != nil {
		return res, failure{}, true
	}
	switch cause {
	case "":
		return res, forkFailure(finals), false
	case causeNoAnswer:
		return res, failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionNoAnswer, causeNoAnswer}, false
	case causeCancelled, causeCallerHungUp:
		return res, failure{sip.StatusRequestTerminated, "Request Terminated", store.DispositionNoAnswer, causeCancelled}, false
	case causeShutdown:
		return res, failureFor(errShuttingDown), false
	}
	return res, failure{sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", store.DispositionFailed, cause}, false
}
