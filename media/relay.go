package media

import (
	"fmt"
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

// Relay anchors the media of a two-party call: two Endpoints bridged to
// each other. It receives RTP and RTCP from each phone on that leg's local
// ports and sends them on to the other phone. On the way, RTP is
//   - transcoded between PCMU and PCMA if the legs negotiated different
//     codecs,
//   - given the outgoing leg's own SSRC, sequence numbers and timestamps,
//     kept continuous when the incoming source changes,
//   - checked for telephone events, which are reported as digits and
//     forwarded with the other leg's event payload type.
//
// RTCP is passed through unchanged. Each leg sends to the address its
// phone's packets come from (symmetric RTP), so phones behind NAT work.
// The per-packet path allocates nothing.
type Relay struct {
	ends [2]*Endpoint
}

// pumps is what an endpoint's packet loops, playbacks and dead-media
// timer share: the clock, the timeout and the goroutines' lifetime.
type pumps struct {
	epoch     time.Time
	timeout   time.Duration
	onTimeout func()

	closed atomic.Bool
	wg     sync.WaitGroup
}

func newPumps(timeout time.Duration, onTimeout func()) pumps {
	if timeout <= 0 {
		timeout = DefaultMediaTimeout
	}
	return pumps{epoch: time.Now(), timeout: timeout, onTimeout: onTimeout}
}

// since is the monotonic time since the endpoint started.
func (r *pumps) since() time.Duration { return time.Since(r.epoch) }

// NewRelay validates cfg and starts relaying. From then on the relay owns
// both legs' PortPairs and releases them on Close; if NewRelay fails, the
// caller still owns them.
func NewRelay(cfg Config) (*Relay, error) {
	legs := [2]LegConfig{SideA: cfg.A, SideB: cfg.B}
	for s, lc := range legs {
		if err := checkLeg(lc); err != nil {
			return nil, fmt.Errorf("relay leg %s: %w", Side(s), err)
		}
	}
	r := &Relay{}
	for i, lc := range legs {
		s := Side(i)
		ec := EndpointConfig{Leg: lc, MediaTimeout: cfg.MediaTimeout}
		if cfg.OnTimeout != nil {
			ec.OnTimeout = func() { cfg.OnTimeout(s) }
		}
		if cfg.OnDigit != nil {
			ec.OnDigit = func(d Digit) { cfg.OnDigit(s, d) }
		}
		r.ends[s] = newEndpoint(ec)
		if err := r.ends[s].setLegSRTP(lc); err != nil {
			return nil, fmt.Errorf("relay leg %s: %w", s, err)
		}
	}
	Bridge(r.ends[SideA], r.ends[SideB])
	r.ends[SideA].start()
	r.ends[SideB].start()
	return r, nil
}

// Endpoint returns one side of the relay, for playbacks, sinks and
// re-bridging.
func (r *Relay) Endpoint(s Side) *Endpoint { return r.ends[s] }

// Stats returns a snapshot of the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{AToB: r.ends[SideA].Stats(), BToA: r.ends[SideB].Stats()}
}

// Close stops both endpoints: it stops the dead-media timers, releases
// both legs' ports and waits for the goroutines to finish. It reports a
// pending DTMF press whose end was never seen. It is idempotent and may be
// called from OnTimeout, but not from OnDigit.
func (r *Relay) Close() error {
	r.ends[SideA].Close()
	r.ends[SideB].Close()
	return nil
}

// Remote returns where the relay currently sends a leg's RTP: the SDP
// address until the phone's first packet, then the address it sends from.
func (r *Relay) Remote(s Side) netip.AddrPort { return r.ends[s].Remote() }
