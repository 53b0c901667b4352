package media

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// EchoConfig describes an echo test: the one leg of the phone that
// called it.
type EchoConfig struct {
	// Leg is the phone's leg: its local ports (the Echo owns them once it
	// starts), its SDP address and its negotiated payload types.
	Leg LegConfig
	// MediaTimeout is how long the phone may send no RTP before OnTimeout
	// reports it; 0 means DefaultMediaTimeout.
	MediaTimeout time.Duration
	// OnTimeout, if set, is called once each time the phone's RTP stops for
	// MediaTimeout. It may call Close.
	OnTimeout func(Side)
	// OnDigit, if set, is called for each key the phone presses (RFC 4733).
	OnDigit func(Side, Digit)
}

// Echo sends a phone's own audio back to it: the echo test a user dials to
// check their phone, headset and network. It is a relay whose two ends are
// the same leg, so the echoed stream has the relay's properties: it latches
// to where the phone's packets come from, goes out with its own SSRC and
// continuous sequence numbers and timestamps, passes telephone events back
// (and reports them), and allocates nothing per packet. RTCP is not
// echoed.
type Echo struct {
	pumps
	leg       *leg
	dir       *direction
	closeOnce sync.Once
}

// NewEcho starts an echo on cfg.Leg. From then on it owns the leg's
// PortPair and releases it on Close; if NewEcho fails, the caller still
// owns it.
func NewEcho(cfg EchoConfig) (*Echo, error) {
	if cfg.Leg.Ports == nil {
		return nil, fmt.Errorf("media: echo leg has no ports")
	}
	if !isG711(cfg.Leg.PayloadType) {
		return nil, fmt.Errorf("%w: echo payload type %d", ErrUnsupportedCodec, cfg.Leg.PayloadType)
	}
	e := &Echo{pumps: newPumps(cfg.MediaTimeout, cfg.OnTimeout)}
	e.leg = newLeg(SideA, cfg.Leg)
	e.dir = newDirection(e.leg, e.leg, SideA, cfg.OnDigit)
	e.dir.seq = sequencer{ssrc: rand.Uint32(), clockRate: clockRate}
	e.startWatchdog(e.leg)
	e.wg.Add(1)
	go e.pumpRTP(e.dir)
	return e, nil
}

// Stats returns a snapshot of the echo's counters; the echoed stream is
// AToB.
func (e *Echo) Stats() Stats { return Stats{AToB: e.dir.snapshot()} }

// Remote returns where the echo sends: the SDP address until the phone's
// first packet, then the address it sends from.
func (e *Echo) Remote() netip.AddrPort { return *e.leg.rtpDst.Load() }

// Close stops the echo, releases its ports and waits for its goroutine.
// It is idempotent and may be called from OnTimeout.
func (e *Echo) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.leg.watchdog.stop()
		e.leg.ports.Release()
		e.wg.Wait()
		e.dir.dtmf.Flush()
	})
	return nil
}
