package media

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Side names one of a relay's two legs.
type Side uint8

// The two legs of a relay.
const (
	SideA Side = iota
	SideB
)

// String returns "A" or "B".
func (s Side) String() string {
	if s == SideA {
		return "A"
	}
	return "B"
}

// LegConfig describes one leg of a relay: the local sockets the phone sends
// to and what the phone's SDP said.
type LegConfig struct {
	// Ports are the leg's local sockets. A relay that starts takes them
	// over and releases them on Close.
	Ports *PortPair
	// Remote is the phone's RTP address from its SDP (c= and m= lines).
	// The relay sends there until the phone's own packets show where it
	// really is. The zero value sends nothing until then.
	Remote netip.AddrPort
	// RemoteRTCP is the phone's RTCP address (SDP a=rtcp). The zero value
	// means Remote's port + 1.
	RemoteRTCP netip.AddrPort
	// PayloadType is the audio codec negotiated with the phone:
	// PayloadPCMU or PayloadPCMA.
	PayloadType uint8
	// EventPayloadType is the dynamic payload type of telephone-event/8000
	// negotiated with the phone (96-127), or 0 if none was.
	EventPayloadType uint8
	// SRTP, if set, makes the phone's stream SRTP (Endpoint.SetSRTP). An
	// Update without it keeps the endpoint's SRTP as it is.
	SRTP *SRTPConfig
}

// leg is the network state of one endpoint: its sockets, where its phone
// is and what it negotiated.
type leg struct {
	ports *PortPair
	// The payload types, changed by a re-INVITE (Update) and read on
	// every packet: atomics holding a uint8.
	pt      atomic.Uint32
	eventPT atomic.Uint32
	// relatch asks the RTP goroutine to forget its latch: a re-INVITE
	// told us a new address.
	relatch atomic.Bool
	// quiet is set while the phone is not expected to send (it put the
	// call on hold with a=inactive or a=recvonly): the dead-media timer
	// does not count that silence.
	quiet atomic.Bool

	// Where to send: read by the other leg's goroutines, written when
	// this leg latches. A new value is allocated only on a latch.
	rtpDst      atomic.Pointer[netip.AddrPort]
	rtcpDst     atomic.Pointer[netip.AddrPort]
	rtcpLatched atomic.Bool

	// Symmetric-RTP latch, owned by this leg's RTP goroutine.
	latched   bool
	latchSSRC uint32
	latchAddr netip.AddrPort

	// lastRTP is when RTP last arrived, as time since the relay's epoch.
	lastRTP atomic.Int64

	watchdog legWatchdog
}

func newLeg(cfg LegConfig) *leg {
	l := &leg{ports: cfg.Ports}
	l.setRemote(cfg)
	return l
}

// setRemote takes the phone's SDP: address and payload types.
func (l *leg) setRemote(cfg LegConfig) {
	l.pt.Store(uint32(cfg.PayloadType))
	l.eventPT.Store(uint32(cfg.EventPayloadType))
	rtp, rtcp := cfg.Remote, cfg.RemoteRTCP
	if !rtcp.IsValid() && rtp.IsValid() {
		rtcp = netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	}
	rtp, rtcp = unmap(rtp), unmap(rtcp)
	l.rtpDst.Store(&rtp)
	l.rtcpDst.Store(&rtcp)
}

// latch applies symmetric RTP (RFC 4961 behaviour, as phones behind NAT
// need): the leg sends to wherever the phone's packets come from. It
// latches on the first packet and re-latches only when a new SSRC arrives
// from a new address (the phone moved or restarted its stream); a packet
// of the latched SSRC from another address is taken as spoofed and
// rejected. It reports whether the packet is accepted.
func (l *leg) latch(ssrc uint32, from netip.AddrPort) bool {
	if l.relatch.Load() && l.relatch.CompareAndSwap(true, false) {
		l.latched = false
	}
	switch {
	case !l.latched:
	case from == l.latchAddr:
		l.latchSSRC = ssrc
		return true
	case ssrc == l.latchSSRC:
		return false
	}
	l.latched, l.latchSSRC, l.latchAddr = true, ssrc, from
	dst := from // a copy, so that only a latch allocates
	l.rtpDst.Store(&dst)
	l.rtcpLatched.Store(false) // RTCP follows on its next packet
	return true
}

// latchRTCP accepts an RTCP packet from the leg's phone: the first after
// an RTP latch (or ever) sets the RTCP destination, later ones must come
// from it.
func (l *leg) latchRTCP(from netip.AddrPort) bool {
	if l.rtcpLatched.Load() {
		return from == *l.rtcpDst.Load()
	}
	dst := from
	l.rtcpDst.Store(&dst)
	l.rtcpLatched.Store(true)
	return true
}

func unmap(a netip.AddrPort) netip.AddrPort {
	if a.Addr().Is4In6() {
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	}
	return a
}

// legWatchdog reports a leg on which no RTP has arrived for a while. It
// uses a timer rather than a goroutine: the timer fires at most once per
// timeout period and reschedules itself for the moment the silence would
// reach the timeout.
type legWatchdog struct {
	mu       sync.Mutex
	timer    *time.Timer
	stopped  bool
	reported int64 // lastRTP value already reported; -1 for none
	// target is what the timer's function reaches, cleared by stop: a
	// stopped timer stays in the runtime's timer heap until its due time
	// (up to the timeout, a minute) with its function, which would keep
	// the leg, the endpoint and through its callbacks the whole call alive
	// that long after the call ended.
	target *atomic.Pointer[watchdogTarget]
}

type watchdogTarget struct {
	r *pumps
	l *leg
}

func (r *pumps) startWatchdog(l *leg) {
	w := &l.watchdog
	// The timer may fire before AfterFunc returns (a short timeout): the
	// lock keeps checkWatchdog from seeing w.timer unset.
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reported = -1
	target := new(atomic.Pointer[watchdogTarget])
	target.Store(&watchdogTarget{r: r, l: l})
	w.target = target
	w.timer = time.AfterFunc(r.timeout, func() {
		if t := target.Load(); t != nil {
			t.r.checkWatchdog(t.l)
		}
	})
}

func (r *pumps) checkWatchdog(l *leg) {
	w := &l.watchdog
	if l.quiet.Load() {
		// Silence on hold is no sign of a dead phone: count from now.
		l.lastRTP.Store(int64(r.since()))
	}
	last := l.lastRTP.Load()
	idle := r.since() - time.Duration(last)
	fire := false
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	next := r.timeout - idle
	if idle >= r.timeout {
		fire = w.reported != last
		w.reported = last
		next = r.timeout
	}
	w.mu.Unlock()

	if fire && r.onTimeout != nil {
		r.onTimeout()
	}

	w.mu.Lock()
	if !w.stopped {
		w.timer.Reset(next)
	}
	w.mu.Unlock()
}

func (w *legWatchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
		w.target.Store(nil)
	}
}
