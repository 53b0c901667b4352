package media

import (
	"fmt"
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
// check their phone, headset and network. It is an endpoint bridged to
// itself, so the echoed stream has the relay's properties: it latches to
// where the phone's packets come from, goes out with its own SSRC and
// continuous sequence numbers and timestamps, passes telephone events back
// (and reports them), and allocates nothing per packet. RTCP is not
// echoed.
type Echo struct {
	*Endpoint
}

// NewEcho starts an echo on cfg.Leg. From then on it owns the leg's
// PortPair and releases it on Close; if NewEcho fails, the caller still
// owns it.
func NewEcho(cfg EchoConfig) (*Echo, error) {
	if err := checkLeg(cfg.Leg); err != nil {
		return nil, fmt.Errorf("echo: %w", err)
	}
	ec := EndpointConfig{Leg: cfg.Leg, MediaTimeout: cfg.MediaTimeout}
	if cfg.OnTimeout != nil {
		ec.OnTimeout = func() { cfg.OnTimeout(SideA) }
	}
	if cfg.OnDigit != nil {
		ec.OnDigit = func(d Digit) { cfg.OnDigit(SideA, d) }
	}
	e := newEndpoint(ec)
	Bridge(e, e)
	e.start()
	return &Echo{e}, nil
}

// Stats returns a snapshot of the echo's counters; the echoed stream is
// AToB.
func (e *Echo) Stats() Stats { return Stats{AToB: e.Endpoint.Stats()} }
