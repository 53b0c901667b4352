package pbx

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// call is one call through the B2BUA: the caller's dialog (inbound leg)
// and one outbound dialog per phone it rings. The goroutine of the
// caller's INVITE runs it from the first INVITE to the last BYE; other
// goroutines (in-dialog requests, the relay's timer, the API) only signal
// it through stop, and forks report to it through events.
type call struct {
	e         *Engine
	id        string
	log       *slog.Logger
	caller    store.Extension
	dialed    string
	startedAt time.Time
	in        *inbound

	// events carries fork reports to the call while it rings; setupOver
	// closes when the call takes no more (a late answer then hangs up).
	events    chan forkEvent
	setupOver chan struct{}

	done     chan struct{} // closed by the first stop
	stopOnce sync.Once

	mu         sync.Mutex
	cause      string // the first stop's cause
	state      CallState
	answeredAt time.Time
	forks      []*fork
	winner     *fork
	codec      uint8     // the caller's codec, once answered
	digits     [2][]rune // DTMF keys pressed, by media.Side (A: caller, B: callee)
	relay      *media.Relay
	sides      [2]sideState // by media.Side
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
	ci := CallInfo{ID: c.id, From: c.caller.Number, FromName: c.caller.Name, To: c.dialed, State: c.state,
		StartedAt: c.startedAt, AnsweredAt: c.answeredAt,
		CallerDigits: string(c.digits[media.SideA]), CalleeDigits: string(c.digits[media.SideB])}
	in := LegInfo{Role: "caller", Number: c.caller.Number, Source: c.in.req.Source(), State: string(c.state),
		Holding: c.sides[media.SideA].holding}
	if ct := c.in.req.Contact(); ct != nil {
		in.Contact = ct.Address.String()
	}
	if c.state == CallAnswered {
		in.Codec = codecName(c.codec)
	}
	ci.Legs = append(ci.Legs, in)
	forks := c.forks
	if c.winner != nil {
		forks = []*fork{c.winner}
	}
	for _, f := range forks {
		li := f.info()
		li.Holding = f == c.winner && c.sides[media.SideB].holding
		ci.Legs = append(ci.Legs, li)
	}
	return ci
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
	answered := c.answeredAt
	c.mu.Unlock()
	r := store.CDR{
		CallID: c.id, Caller: c.caller.Number, CallerName: c.caller.Name, Callee: c.dialed,
		StartedAt: c.startedAt, AnsweredAt: answered, EndedAt: time.Now(),
		Disposition: disposition, HangupCause: cause,
	}
	if stats != nil {
		r.RTPPackets = int64(stats.AToB.Packets + stats.BToA.Packets)
		r.RTPLost = int64(stats.AToB.Lost + stats.BToA.Lost)
		r.JitterMs = float64(max(stats.AToB.Jitter, stats.BToA.Jitter)) / float64(time.Millisecond)
	}
	return r
}
