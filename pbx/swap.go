package pbx

import (
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// swapLeg puts nl in old's place on one side of an answered call (a
// transfer's target, a phone that replaces another, the leg of another
// call an attended transfer joins to this one). The call's record so far
// is written with cause "transferred" and a new one starts between the
// phone that stays and the new one. old's endpoint is closed; its dialog
// is left to the caller (NOTIFY, BYE). It reports false, changing
// nothing, when the call ended or old is no longer on that side.
func (c *call) swapLeg(side media.Side, old, nl *leg) bool {
	now := time.Now()
	c.mu.Lock()
	other := c.legs[1-side]
	if c.state != CallAnswered || c.legs[side] != old || other == nil {
		c.mu.Unlock()
		return false
	}
	stats := c.statsLocked()
	rec := c.cdrLocked(store.DispositionAnswered, causeTransferred, &stats)
	c.legs[side] = nl
	nl.owner.Store(&legOwner{c: c, side: side})
	old.owner.Store(nil)
	c.retired = media.Stats{}
	other.base, nl.base = other.ep.Stats(), nl.ep.Stats()
	c.from, c.to, c.callerSide = other.who, nl.who, 1-side
	c.startedAt, c.answeredAt = now, now
	c.mu.Unlock()

	c.e.cdrs.add(rec)
	c.e.calls.addDialog(nl.dlg.key(), refFor(c, side, nl.dlg))
	media.Bridge(other.ep, nl.ep)
	old.ep.Close()
	c.log.Info("leg replaced", "side", side.String(), "was", old.who.number, "now", nl.who.number)
	c.e.callWatch.notify()
	c.rehold()
	return true
}

// refFor indexes a dialog as one side of c.
func refFor(c *call, side media.Side, d legDialog) dialogRef {
	ref := dialogRef{call: c, side: side}
	switch d := d.(type) {
	case *inbound:
		ref.in = d
	case *fork:
		ref.fork = d
	}
	return ref
}

// rehold makes each side hear what the other's hold state says, after a
// side changed phones: music on hold while the other phone holds, else
// the other phone, and tells each phone (re-INVITE) where that changed.
func (c *call) rehold() {
	for _, s := range []media.Side{media.SideA, media.SideB} {
		c.mu.Lock()
		other := c.legs[1-s]
		held := other != nil && other.st.holding
		c.mu.Unlock()
		c.setHeld(s, held)
	}
}
