package media

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// EndpointConfig describes one phone's media at the PBX.
type EndpointConfig struct {
	// Leg is the phone's side: the local ports (the Endpoint owns them
	// once it starts), its SDP address and negotiated payload types.
	Leg LegConfig
	// MediaTimeout is how long the phone may send no RTP before OnTimeout
	// reports it; 0 means DefaultMediaTimeout.
	MediaTimeout time.Duration
	// OnTimeout, if set, is called once each time the phone's RTP stops
	// for MediaTimeout (a dead call), on a timer goroutine. It may call
	// Close. Silence while the phone is on hold (SetReceiving(false)) does
	// not count.
	OnTimeout func()
	// OnDigit, if set, is called for each DTMF key press (RFC 4733) the
	// phone sends, on the endpoint's goroutine: it must not block. A press
	// whose end packets never arrived may be reported by Close.
	OnDigit func(Digit)
	// InBandDTMF also listens for keys sent as tones in the phone's audio
	// (InBandDTMFDetector), reported to OnDigit with Digit.InBand set:
	// for phones and gateways that negotiated no telephone-event or send
	// their keys in-band anyway. Once the phone has sent one RFC 4733
	// event, it is taken to send its keys that way and the audio is no
	// longer scanned, so that no press is reported twice. It costs about
	// 3 µs a packet (0.015% of a core per call).
	InBandDTMF bool
}

// Endpoint is one phone's media stream anchored at the PBX: the local
// sockets the phone sends to and receives from, and what flows through
// them. What the phone sends is received, checked, counted and scanned
// for DTMF, then
//   - forwarded to the bridged peer endpoint (Bridge), transcoded to the
//     peer's codec (a two-party call; an endpoint bridged to itself is an
//     echo), and
//   - decoded for an AudioSink if one is set (a recorder, a mixer).
//
// What the phone receives comes from the bridged peer, or, while a
// Playback runs (Play, PlayDigits), from that instead: a prompt, a tone,
// music on hold. Either way it goes out as one continuous stream: the
// endpoint's own SSRC, sequence numbers and timestamps that carry on
// across changes of source.
//
// An endpoint runs one goroutine per socket (RTP and RTCP) and one per
// playback. Forwarding a packet allocates nothing.
type Endpoint struct {
	pumps
	leg *leg
	rx  receiver
	tx  transmitter

	// srtp is set while the phone speaks SRTP (SetSRTP).
	srtp    atomic.Pointer[srtpLeg]
	peer    atomic.Pointer[Endpoint]
	sink    atomic.Pointer[sinkRef]
	playing atomic.Pointer[Playback]
	// sending is false while the phone does not want audio (it holds the
	// call with a=sendonly or a=inactive): nothing is sent to it.
	sending atomic.Bool

	// WriteAudio's stream (a mixer's).
	mixMu  sync.Mutex
	mix    genState
	mixBuf [FrameSamples]byte

	quit      chan struct{}
	closeOnce sync.Once
}

// sinkRef boxes an AudioSink for an atomic pointer.
type sinkRef struct{ s AudioSink }

// NewEndpoint starts an endpoint on cfg.Leg. From then on it owns the
// leg's PortPair and releases it on Close; if NewEndpoint fails, the
// caller still owns it.
func NewEndpoint(cfg EndpointConfig) (*Endpoint, error) {
	if err := checkLeg(cfg.Leg); err != nil {
		return nil, err
	}
	e := newEndpoint(cfg)
	if err := e.setLegSRTP(cfg.Leg); err != nil {
		return nil, err
	}
	e.start()
	return e, nil
}

func checkLeg(cfg LegConfig) error {
	if cfg.Ports == nil {
		return fmt.Errorf("media: endpoint has no ports")
	}
	if !isG711(cfg.PayloadType) {
		return fmt.Errorf("%w: payload type %d", ErrUnsupportedCodec, cfg.PayloadType)
	}
	return nil
}

// newEndpoint builds an endpoint without starting its goroutines (tests
// drive process directly).
func newEndpoint(cfg EndpointConfig) *Endpoint {
	e := &Endpoint{pumps: newPumps(cfg.MediaTimeout, cfg.OnTimeout), leg: newLeg(cfg.Leg), quit: make(chan struct{})}
	e.sending.Store(true)
	e.tx.seq = sequencer{ssrc: rand.Uint32(), clockRate: clockRate}
	e.rx.stats.clockRate = clockRate
	e.rx.dtmf.OnDigit = func(d Digit) {
		e.rx.mu.Lock()
		e.rx.stats.Digits++
		e.rx.mu.Unlock()
		if cfg.OnDigit != nil {
			cfg.OnDigit(d)
		}
	}
	if cfg.InBandDTMF {
		e.rx.tones = &InBandDTMFDetector{OnDigit: e.rx.dtmf.OnDigit}
		e.rx.tonesOn.Store(true)
	}
	return e
}

// SetInBandDTMF turns listening for in-band keys off and on again, for an
// endpoint made with InBandDTMF (it starts on; without InBandDTMF this does
// nothing). Listening decodes every packet and runs the Goertzel banks
// over it, so a PBX listens only while it wants keys itself (an IVR menu),
// not while it relays a conversation, which carries in-band tones through
// to the other phone anyway. A detector switched back on starts afresh.
func (e *Endpoint) SetInBandDTMF(on bool) { e.rx.tonesOn.Store(on) }

func (e *Endpoint) start() {
	e.startWatchdog(e.leg)
	if e.leg.ports.RTP == nil {
		return // a test endpoint without sockets
	}
	e.wg.Add(2)
	go e.pumpRTP()
	go e.pumpRTCP()
}

// Bridge connects two endpoints: what each phone sends goes to the other.
// Bridging an endpoint to itself makes an echo. An endpoint's previous
// peer, if any, stops receiving from it.
func Bridge(a, b *Endpoint) {
	a.peer.Store(b)
	b.peer.Store(a)
}

// Unbridge stops forwarding from e, and to e from its peer if the peer
// still forwards to it. The phone then hears only playbacks.
func (e *Endpoint) Unbridge() {
	if p := e.peer.Swap(nil); p != nil && p != e {
		p.peer.CompareAndSwap(e, nil)
	}
}

// Peer returns the endpoint e forwards to, or nil.
func (e *Endpoint) Peer() *Endpoint { return e.peer.Load() }

// SetSink sets the AudioSink that receives the phone's decoded audio, or
// removes it (nil).
func (e *Endpoint) SetSink(s AudioSink) {
	if s == nil {
		e.sink.Store(nil)
		return
	}
	e.sink.Store(&sinkRef{s})
}

// Update applies a new SDP from the phone (a re-INVITE or UPDATE): its
// address, codec and telephone-event payload type, and new SRTP keys if
// cfg has them. The endpoint latches
// afresh to where the phone's packets come from next. The ports stay.
func (e *Endpoint) Update(cfg LegConfig) error {
	if !isG711(cfg.PayloadType) {
		return fmt.Errorf("%w: payload type %d", ErrUnsupportedCodec, cfg.PayloadType)
	}
	if err := e.setLegSRTP(cfg); err != nil {
		return err
	}
	cfg.Ports = e.leg.ports
	e.leg.setRemote(cfg)
	e.leg.relatch.Store(true)
	e.leg.rtcpLatched.Store(false)
	return nil
}

// SetSending says whether the phone wants audio: false while it holds
// the call (a=sendonly or a=inactive), when the PBX must send it nothing.
func (e *Endpoint) SetSending(on bool) { e.sending.Store(on) }

// SetReceiving says whether the phone is expected to send audio: false
// while it holds the call with a=inactive or a=recvonly, so that its
// silence is not taken for a dead call.
func (e *Endpoint) SetReceiving(on bool) { e.leg.quiet.Store(!on) }

// PayloadType returns the audio codec the phone negotiated.
func (e *Endpoint) PayloadType() uint8 { return uint8(e.leg.pt.Load()) }

// Remote returns where the endpoint sends RTP: the SDP address until the
// phone's first packet, then the address it sends from.
func (e *Endpoint) Remote() netip.AddrPort { return *e.leg.rtpDst.Load() }

// Local returns the endpoint's RTP socket address.
func (e *Endpoint) Local() netip.AddrPort { return e.leg.ports.LocalRTP() }

// Stats returns a snapshot of what the phone sent.
func (e *Endpoint) Stats() DirectionStats {
	e.rx.mu.Lock()
	defer e.rx.mu.Unlock()
	return e.rx.stats.snapshot()
}

// Close stops the endpoint: it ends any playback, unbridges, stops the
// dead-media timer, interrupts the sockets (which ends the socket
// goroutines), waits for its goroutines and releases the ports. It reports a pending DTMF press whose end
// was never seen. It is idempotent and may be called from OnTimeout, but
// not from OnDigit or an AudioSink.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		close(e.quit)
		e.Unbridge()
		e.leg.watchdog.stop()
		// The socket goroutines stop before the pair goes back to the
		// allocator, which hands it to another call.
		e.leg.ports.Interrupt()
		e.wg.Wait()
		e.leg.ports.Release()
		e.rx.dtmf.Flush()
	})
	return nil
}

// setLegSRTP applies a leg configuration's SRTP keys, if any.
func (e *Endpoint) setLegSRTP(cfg LegConfig) error {
	if cfg.SRTP == nil {
		return nil
	}
	return e.SetSRTP(cfg.SRTP)
}
