package pbx

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
)

// call is one call through the B2BUA: the caller's dialog (inbound leg)
// and one outbound dialog per phone it rings. The goroutine of the
// caller's INVITE runs it from the first INVITE to the last BYE; other
// goroutines (in-dialog requests, the relay's timer, the API) only signal
// it through stop, and forks report to it through events.
type call struct {
	e      *Engine
	id     string
	log    *slog.Logger
	caller store.Extension // who placed the call (authenticated; for a call from a trunk, its From)
	// inTrunk is the trunk the call came in on (nil for a call from an
	// extension): it is routed from the trunk's context and may not leave
	// on a trunk but through a dial of that context.
	inTrunk   *store.Trunk
	dialed    string
	startedAt time.Time
	in        *inbound // the caller's INVITE; its dialog may leave the call by transfer

	// pickups carries a pickup of this call's ringing (*8, **NNN, INVITE
	// with Replaces) to its ring loop.
	pickups chan *pickup

	done     chan struct{} // closed by the first stop
	stopOnce sync.Once

	mu         sync.Mutex
	cause      string // the first stop's cause
	state      CallState
	answeredAt time.Time
	forks      []*fork // the phones being rung
	// ringOver is the call's own round of ringing's end, closed when it
	// takes no more pickups; ringingExt is the extension it rings.
	ringOver   chan struct{}
	ringingExt store.Extension
	// legs are the two sides (A: caller, B: callee) once the media is set
	// up; a call the PBX answers alone has only A.
	legs    [2]*leg
	retired media.Stats // media figures of phones that left by transfer
	// from and to are the parties the CDR and the calls API name; a
	// transfer starts a new record between the parties left, from the
	// phone that stayed, on callerSide, to the one that came.
	from, to   party
	callerSide media.Side
	digits     [2][]rune // DTMF keys pressed, by media.Side (A: caller, B: callee)
	// transfers is set while a transfer of this call is carried out.
	transfers int
	// presented is the caller ID phones rung for this call see (the
	// dial plan may rewrite it).
	presented party
	// outTrunk names the trunk the call was last sent out on.
	outTrunk string
	// forwardDest is where an extension that failed forwards the call when
	// that is not an extension (setForwardTo, forwardTo).
	forwardDest *dialplan.Destination

	// appDone is closed when the applications that had the call are done.
	appDone chan struct{}
	// appCaller, when set, is who an application has on side A instead of
	// the caller: the transferee of a transfer into an application.
	appCaller *callapp.Party

	// keys queues the caller's key presses for an application.
	keys media.DigitBuffer
}

// onDigit records a key press of one side; the relay calls it on its
// leg's goroutine, SIP INFO on a worker. It does not block.
func (c *call) onDigit(side media.Side, d media.Digit, via string) {
	r := d.Rune()
	if r == 0 {
		return
	}
	c.mu.Lock()
	c.digits[side] = append(c.digits[side], r)
	c.mu.Unlock()
	if side == media.SideA {
		c.keys.Push(d)
	}
	if d.InBand {
		via = "in-band"
	}
	c.log.Debug("DTMF", "side", side.String(), "digit", string(r), "via", via)
}

func newCallID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stop asks the call to end with the given cause; the first cause wins.
// It never blocks.
func (c *call) stop(cause string) {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.cause = cause
		c.mu.Unlock()
		close(c.done)
	})
}

func (c *call) stopCause() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

func (c *call) setState(s CallState) {
	c.mu.Lock()
	c.state = s
	if s == CallAnswered {
		c.answeredAt = time.Now()
	}
	c.mu.Unlock()
	c.e.callWatch.notify()
}

func (c *call) info() CallInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.callerSide
	ci := CallInfo{ID: c.id, From: c.from.number, FromName: c.from.name, To: c.to.number, State: c.state,
		FromTrunk: c.inTrunkName(),
		StartedAt: c.startedAt, AnsweredAt: c.answeredAt,
		CallerDigits: string(c.digits[cs]), CalleeDigits: string(c.digits[1-cs])}
	answered := c.state == CallAnswered || c.state == CallEnding
	if l := c.legs[cs]; l != nil && l.dlg != nil && answered {
		ci.Legs = append(ci.Legs, l.info("caller", string(c.state)))
	} else {
		in := LegInfo{Role: "caller", Number: c.from.number, State: string(c.state)}
		in.Contact, in.Source = c.in.peer()
		ci.Legs = append(ci.Legs, in)
	}
	if l := c.legs[1-cs]; l != nil && l.dlg != nil && answered {
		ci.Legs = append(ci.Legs, l.info("callee", string(c.state)))
		// A transfer's target, while it rings (not a phone that lost the
		// call's own ringing and is being cancelled).
		for _, f := range c.forks {
			if li := f.info(); (li.State == "trying" || li.State == "ringing") && !f.roundOver() {
				ci.Legs = append(ci.Legs, li)
			}
		}
		return ci
	}
	for _, f := range c.forks {
		ci.Legs = append(ci.Legs, f.info())
	}
	return ci
}

// inTrunkName names the trunk the call came in on ("" if none).
func (c *call) inTrunkName() string {
	if c.inTrunk == nil {
		return ""
	}
	return c.inTrunk.Name
}

// info describes an answered leg; the call's mu is held.
func (l *leg) info(role, state string) LegInfo {
	li := LegInfo{Role: role, Number: l.who.number, State: state, Holding: l.st.holding,
		Codec: codecName(l.ep.PayloadType()), SRTP: l.ep.SRTP()}
	li.Contact, li.Source = l.dlg.peer()
	return li
}

func codecName(pt uint8) string {
	switch pt {
	case media.PayloadPCMU:
		return "PCMU"
	case media.PayloadPCMA:
		return "PCMA"
	}
	return ""
}

// cdr builds the call's record; stats is nil for a call never answered.
func (c *call) cdr(disposition, cause string, stats *media.Stats) store.CDR {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cdrLocked(disposition, cause, stats)
}

func (c *call) cdrLocked(disposition, cause string, stats *media.Stats) store.CDR {
	answered, started, from, to := c.answeredAt, c.startedAt, c.from, c.to
	r := store.CDR{
		CallID: c.id, Caller: from.number, CallerName: from.name, Callee: to.number,
		StartedAt: started, AnsweredAt: answered, EndedAt: time.Now(),
		Disposition: disposition, HangupCause: cause,
	}
	if stats != nil {
		r.RTPPackets = int64(stats.AToB.Packets + stats.BToA.Packets)
		r.RTPLost = int64(stats.AToB.Lost + stats.BToA.Lost)
		r.JitterMs = float64(max(stats.AToB.Jitter, stats.BToA.Jitter)) / float64(time.Millisecond)
	}
	return r
}
