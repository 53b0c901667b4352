package media

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMediaTimeout is how long a leg may go without RTP before the relay
// reports it through OnTimeout, unless Config.MediaTimeout says otherwise.
const DefaultMediaTimeout = 60 * time.Second

// Config describes a relay: its two legs and the callbacks it reports to.
type Config struct {
	// A and B are the two legs. Audio received on one is sent on the other.
	A, B LegConfig

	// MediaTimeout is how long a leg may receive no RTP before OnTimeout
	// reports it; 0 means DefaultMediaTimeout.
	MediaTimeout time.Duration
	// OnTimeout, if set, is called once each time a leg's RTP stops for
	// MediaTimeout (a dead call: a phone that lost power or network). The
	// relay keeps running; the owner decides whether to hang up, and may
	// call Close from the callback. A leg held with a=inactive sends no
	// RTP either: the owner knows the hold state, the relay does not. It
	// runs on a timer goroutine and may race with Close.
	OnTimeout func(Side)
	// OnDigit, if set, is called for each DTMF key press (RFC 4733) that a
	// leg's phone sends, on that leg's goroutine: it must not block. A
	// press whose end packets never arrived may be reported by Close.
	OnDigit func(Side, Digit)
}

// Relay anchors the media of a two-party call: it receives RTP and RTCP
// from each phone on that leg's local ports and sends them on to the
// other phone. On the way, RTP is
//   - transcoded between PCMU and PCMA if the legs negotiated different
//     codecs,
//   - given the outgoing leg's own SSRC, sequence numbers and timestamps,
//     kept continuous when the incoming source changes,
//   - checked for telephone events, which are reported as digits and
//     forwarded with the other leg's event payload type.
//
// RTCP is passed through unchanged. Each leg sends to the address its
// phone's packets come from (symmetric RTP), so phones behind NAT work.
//
// A relay runs one goroutine per leg and socket. The per-packet path
// allocates nothing: each direction has a fixed read buffer and rewrites
// the packet in place.
type Relay struct {
	pumps
	legs      [2]*leg
	dirs      [2]*direction // dirs[SideA] carries A to B
	closeOnce sync.Once
}

// pumps is what the packet loops and dead-media timers of a relay or an
// echo share: the clock, the timeout and the goroutines' lifetime.
type pumps struct {
	epoch     time.Time
	timeout   time.Duration
	onTimeout func(Side)

	closed atomic.Bool
	wg     sync.WaitGroup
}

func newPumps(timeout time.Duration, onTimeout func(Side)) pumps {
	if timeout <= 0 {
		timeout = DefaultMediaTimeout
	}
	return pumps{epoch: time.Now(), timeout: timeout, onTimeout: onTimeout}
}

// NewRelay validates cfg and starts relaying. From then on the relay owns
// both legs' PortPairs and releases them on Close; if NewRelay fails, the
// caller still owns them.
func NewRelay(cfg Config) (*Relay, error) {
	for _, lc := range []struct {
		side Side
		cfg  LegConfig
	}{{SideA, cfg.A}, {SideB, cfg.B}} {
		if lc.cfg.Ports == nil {
			return nil, fmt.Errorf("media: relay leg %s has no ports", lc.side)
		}
		if !isG711(lc.cfg.PayloadType) {
			return nil, fmt.Errorf("%w: leg %s payload type %d", ErrUnsupportedCodec, lc.side, lc.cfg.PayloadType)
		}
	}
	r := &Relay{pumps: newPumps(cfg.MediaTimeout, cfg.OnTimeout)}
	r.legs[SideA] = newLeg(SideA, cfg.A)
	r.legs[SideB] = newLeg(SideB, cfg.B)
	for _, s := range []Side{SideA, SideB} {
		in, out := r.legs[s], r.legs[1-s]
		r.dirs[s] = newDirection(in, out, s, cfg.OnDigit)
	}
	for _, s := range []Side{SideA, SideB} {
		r.startWatchdog(r.legs[s])
		r.wg.Add(2)
		go r.pumpRTP(r.dirs[s])
		go r.pumpRTCP(r.dirs[s])
	}
	return r, nil
}

func newDirection(in, out *leg, s Side, onDigit func(Side, Digit)) *direction {
	d := &direction{in: in, out: out}
	d.seq = sequencer{ssrc: rand.Uint32(), clockRate: clockRate}
	d.stats.clockRate = clockRate
	d.dtmf.OnDigit = func(dg Digit) {
		d.mu.Lock()
		d.stats.Digits++
		d.mu.Unlock()
		if onDigit != nil {
			onDigit(s, dg)
		}
	}
	return d
}

// since is the monotonic time since the relay started.
func (r *pumps) since() time.Duration { return time.Since(r.epoch) }

// Stats returns a snapshot of the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{AToB: r.dirs[SideA].snapshot(), BToA: r.dirs[SideB].snapshot()}
}

// Close stops the relay: it stops the dead-media timers, releases both
// legs' ports (which ends their goroutines) and waits for the goroutines
// to finish. It reports a pending DTMF press whose end was never seen. It
// is idempotent and may be called from OnTimeout, but not from OnDigit.
func (r *Relay) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		for _, l := range r.legs {
			l.watchdog.stop()
			l.ports.Release()
		}
		r.wg.Wait()
		for _, d := range r.dirs {
			d.dtmf.Flush()
		}
	})
	return nil
}

// Remote returns where the relay currently sends a leg's RTP: the SDP
// address until the phone's first packet, then the address it sends from.
func (r *Relay) Remote(s Side) netip.AddrPort { return *r.legs[s].rtpDst.Load() }
