package media

import (
	"errors"
	"math"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// TestRelayTranscodesTone sends a 1 kHz tone as PCMU from phone A; phone B,
// which negotiated PCMA, must receive the tone as a continuous PCMA stream,
// and the same the other way round.
func TestRelayTranscodesTone(t *testing.T) {
	a, b := newPhone(t, 1111), newPhone(t, 2222)
	r := relayFor(t, newAllocator(t), a, b, func(c *Config) { c.B.PayloadType = PayloadPCMA })
	toA, toB := r.ends[SideA].leg.ports.LocalRTP(), r.ends[SideB].leg.ports.LocalRTP()

	const frames = 50
	tests := []struct {
		name      string
		from, to  *phone
		relayPort netip.AddrPort
		sendPT    uint8
		wantPT    uint8
		encode    func([]int16) []byte
		decode    func([]byte) []int16
	}{
		{"PCMU to PCMA", a, b, toA, PayloadPCMU, PayloadPCMA, encodeUlaw, decodeAlaw},
		{"PCMA to PCMU", b, a, toB, PayloadPCMA, PayloadPCMU, encodeAlaw, decodeUlaw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := sine(1000, 8000, 0, frames*160)
			for i := 0; i < frames; i++ {
				tt.from.send(tt.relayPort, tt.sendPT, tt.encode(sent[i*160:(i+1)*160]))
			}
			var got []int16
			var first, ssrc uint32
			var seq0 uint16
			for i := 0; i < frames; i++ {
				p, _ := tt.to.recv()
				if p.PayloadType != tt.wantPT {
					t.Fatalf("packet %d: PT %d, want %d", i, p.PayloadType, tt.wantPT)
				}
				if i == 0 {
					first, ssrc, seq0 = p.Timestamp, p.SSRC, p.SequenceNumber
				}
				if p.SSRC != ssrc || p.SequenceNumber != seq0+uint16(i) || p.Timestamp != first+uint32(160*i) {
					t.Fatalf("packet %d: ssrc %d seq %d ts %d not continuous", i, p.SSRC, p.SequenceNumber, p.Timestamp)
				}
				got = append(got, tt.decode(p.Payload)...)
			}
			if d := db(energy(got) / energy(sent)); math.Abs(d) > 1 {
				t.Errorf("energy changed by %.2f dB", d)
			}
			if ratio := db(Goertzel(got, 1000) / Goertzel(got, 1633)); ratio < 30 {
				t.Errorf("1 kHz only %.1f dB above 1633 Hz", ratio)
			}
		})
	}
	s := r.Stats()
	if s.AToB.Packets != frames || s.BToA.Packets != frames || s.AToB.Lost != 0 || s.AToB.Dropped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRelayLatchesNATPhone: phone B's SDP gives a private address it cannot
// be reached at; once B sends, the relay sends to where B sends from.
func TestRelayLatchesNATPhone(t *testing.T) {
	a, b := newPhone(t, 1), newPhone(t, 2)
	nat := netip.MustParseAddrPort("10.0.0.9:4000")
	r := relayFor(t, newAllocator(t), a, b, func(c *Config) {
		c.B.Remote, c.B.RemoteRTCP = nat, netip.AddrPort{}
	})
	toA, toB := r.ends[SideA].leg.ports.LocalRTP(), r.ends[SideB].leg.ports.LocalRTP()
	if got := r.Remote(SideB); got != nat {
		t.Fatalf("Remote(B) = %v before latching, want SDP %v", got, nat)
	}
	if got := *r.ends[SideB].leg.rtcpDst.Load(); got != netip.MustParseAddrPort("10.0.0.9:4001") {
		t.Fatalf("RTCP destination %v, want SDP port + 1", got)
	}

	frame := encodeUlaw(sine(1000, 8000, 0, 160))
	// B speaks first; A hears it, which shows the relay has seen it.
	b.send(toB, PayloadPCMU, frame)
	a.recv()
	if got := r.Remote(SideB); got != b.addr() {
		t.Fatalf("Remote(B) = %v, want latched %v", got, b.addr())
	}
	a.send(toA, PayloadPCMU, frame)
	if _, from := b.recv(); from != toB {
		t.Fatalf("B got audio from %v, want the relay's B port %v", from, toB)
	}

	// A spoofer reusing B's SSRC from another address is ignored ...
	spoof := newPhone(t, 2)
	spoof.send(toB, PayloadPCMU, frame)
	b.send(toB, PayloadPCMU, frame)
	a.recv() // B's packet; the spoofed one was handled before it
	if got := r.Remote(SideB); got != b.addr() {
		t.Fatalf("Remote(B) = %v after spoof, want %v", got, b.addr())
	}
	if d := r.Stats().BToA.Dropped; d != 1 {
		t.Fatalf("Dropped = %d, want 1", d)
	}
	// ... but a new stream (new SSRC) from a new address re-latches: the
	// phone moved, as after a re-INVITE or a NAT rebinding.
	moved := newPhone(t, 3)
	moved.send(toB, PayloadPCMU, frame)
	a.recv()
	if got := r.Remote(SideB); got != moved.addr() {
		t.Fatalf("Remote(B) = %v, want re-latched %v", got, moved.addr())
	}
	a.send(toA, PayloadPCMU, frame)
	moved.recv()
}

func TestRelayDTMF(t *testing.T) {
	tests := []struct {
		name      string
		bEventPT  uint8
		forwarded bool
	}{
		{"mapped 101 to 96", 96, true},
		{"other leg has no telephone-event", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			digits := make(chan Digit, 10)
			a, b := newPhone(t, 10), newPhone(t, 20)
			r := relayFor(t, newAllocator(t), a, b, func(c *Config) {
				c.B.EventPayloadType = tt.bEventPT
				c.OnDigit = func(s Side, d Digit) {
					if s != SideA {
						t.Errorf("digit from side %v", s)
					}
					digits <- d
				}
			})
			toA := r.ends[SideA].leg.ports.LocalRTP()
			frame := encodeUlaw(sine(1000, 8000, 0, 160))

			a.send(toA, PayloadPCMU, frame)
			b.recv()
			// Key 5 held for 4 packets, then three end packets, the
			// last of them duplicated in the network.
			var sent [][]byte
			for i := 1; i <= 7; i++ {
				ev := TelephoneEvent{Event: 5, Volume: 10, Duration: uint16(160 * min(i, 5)), End: i > 4}
				var pl [4]byte
				ev.MarshalTo(pl[:])
				pkt := a.packet(101, pl[:], i == 1, 0)
				sent = append(sent, pl[:])
				a.sendRaw(toA, pkt)
				if i == 7 {
					a.sendRaw(toA, pkt)
				}
			}
			a.ts += 5 * 160
			a.send(toA, PayloadPCMU, frame)

			if tt.forwarded {
				for i := 0; i < 8; i++ {
					p, _ := b.recv()
					if p.PayloadType != 96 {
						t.Fatalf("event packet %d has PT %d, want 96", i, p.PayloadType)
					}
					if want := sent[min(i, 6)]; string(p.Payload) != string(want) {
						t.Fatalf("event payload % x, want % x", p.Payload, want)
					}
				}
			}
			if p, _ := b.recv(); p.PayloadType != PayloadPCMU {
				t.Fatalf("audio after the press has PT %d", p.PayloadType)
			}
			// The audio packet after the press arrived: the press has
			// been handled.
			select {
			case d := <-digits:
				if d.Rune() != '5' || d.Duration != 800 {
					t.Fatalf("digit %v duration %d", d, d.Duration)
				}
			default:
				t.Fatal("no digit")
			}
			select {
			case d := <-digits:
				t.Fatalf("second digit %v from one press", d)
			default:
			}
			if n := r.Stats().AToB.Digits; n != 1 {
				t.Fatalf("Stats Digits = %d", n)
			}
		})
	}
}

// TestRelaySourceChange: the stream reaching B stays continuous when A's
// source changes (a prompt's stream followed by the phone's).
func TestRelaySourceChange(t *testing.T) {
	a, b := newPhone(t, 100), newPhone(t, 200)
	r := relayFor(t, newAllocator(t), a, b, nil)
	toA := r.ends[SideA].leg.ports.LocalRTP()
	frame := encodeUlaw(sine(1000, 8000, 0, 160))

	for i := 0; i < 5; i++ {
		a.send(toA, PayloadPCMU, frame)
	}
	a.ssrc, a.seq, a.ts = 999, 40000, 123456789 // a new source, same address
	for i := 0; i < 5; i++ {
		a.send(toA, PayloadPCMU, frame)
	}
	var prev struct {
		seq  uint16
		ts   uint32
		ssrc uint32
	}
	for i := 0; i < 10; i++ {
		p, _ := b.recv()
		if i > 0 {
			if p.SSRC != prev.ssrc {
				t.Fatalf("packet %d: SSRC changed", i)
			}
			if p.SequenceNumber != prev.seq+1 {
				t.Fatalf("packet %d: seq %d after %d", i, p.SequenceNumber, prev.seq)
			}
			if step := p.Timestamp - prev.ts; step == 0 || step > 8000 {
				t.Fatalf("packet %d: timestamp step %d", i, step)
			}
		}
		if want := i == 5; p.Marker != want {
			t.Fatalf("packet %d: marker %v, want %v", i, p.Marker, want)
		}
		prev.seq, prev.ts, prev.ssrc = p.SequenceNumber, p.Timestamp, p.SSRC
	}
}

func TestRelayRTCP(t *testing.T) {
	a, b := newPhone(t, 1), newPhone(t, 2)
	r := relayFor(t, newAllocator(t), a, b, nil)
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 1} // an empty receiver report
	for _, tt := range []struct {
		from, to *phone
		port     netip.AddrPort
	}{
		{a, b, r.ends[SideA].leg.ports.LocalRTCP()},
		{b, a, r.ends[SideB].leg.ports.LocalRTCP()},
	} {
		if _, err := tt.from.rtcp.WriteToUDPAddrPort([]byte{1, 2, 3}, tt.port); err != nil {
			t.Fatal(err) // not RTCP: dropped
		}
		if _, err := tt.from.rtcp.WriteToUDPAddrPort(rr, tt.port); err != nil {
			t.Fatal(err)
		}
		var buf [100]byte
		tt.to.rtcp.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := tt.to.rtcp.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != string(rr) {
			t.Fatalf("got % x, want % x", buf[:n], rr)
		}
		if from.Port()%2 != 1 {
			t.Fatalf("RTCP from even port %v", from)
		}
	}
	if s := r.Stats(); s.AToB.RTCPPackets != 1 || s.BToA.RTCPPackets != 1 {
		t.Fatalf("RTCP counts %d/%d", s.AToB.RTCPPackets, s.BToA.RTCPPackets)
	}
}

func TestRelayDropsMalformed(t *testing.T) {
	a, b := newPhone(t, 1), newPhone(t, 2)
	r := relayFor(t, newAllocator(t), a, b, nil)
	toA := r.ends[SideA].leg.ports.LocalRTP()
	frame := encodeUlaw(sine(1000, 8000, 0, 160))
	good := a.packet(PayloadPCMU, frame, false, 160)
	badPad := a.packet(PayloadPCMU, frame, false, 160)
	badPad[0] |= 0x20 // padding bit, last byte 0xff says 255 bytes of padding
	badPad[len(badPad)-1] = 0xff
	for _, bad := range [][]byte{
		{0x80, 0, 1},                            // short
		append([]byte{0x40}, good[1:]...),       // version 1
		badPad,                                  // bad padding
		a.packet(18, frame, false, 160),         // G.729: not negotiated
		{0x8f, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, // 15 CSRCs missing
		a.packet(101, []byte{1, 2}, false, 0),   // short telephone event
	} {
		a.sendRaw(toA, bad)
	}
	a.sendRaw(toA, good)
	b.recv()
	if d := r.Stats().AToB.Dropped; d != 6 {
		t.Fatalf("Dropped = %d, want 6", d)
	}
}

func TestRelayMediaTimeout(t *testing.T) {
	timeouts := make(chan Side, 10)
	a, b := newPhone(t, 1), newPhone(t, 2)
	r := relayFor(t, newAllocator(t), a, b, func(c *Config) {
		c.MediaTimeout = 300 * time.Millisecond
		c.OnTimeout = func(s Side) { timeouts <- s }
	})
	toA := r.ends[SideA].leg.ports.LocalRTP()
	frame := encodeUlaw(sine(1000, 8000, 0, 160))

	// A talks, B is silent: only B is reported.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(5 * time.Second)
	for got := false; !got; {
		select {
		case <-tick.C:
			a.send(toA, PayloadPCMU, frame)
		case s := <-timeouts:
			if s != SideB {
				t.Fatalf("timeout reported for %v while it was sending", s)
			}
			got = true
		case <-timeout:
			t.Fatal("no timeout for the silent leg")
		}
	}
	// Now A stops too: A is reported (B, still silent, is not again).
	select {
	case s := <-timeouts:
		if s != SideA {
			t.Fatalf("timeout for %v, want A", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no timeout for A")
	}
}

func TestRelayCloseFromOnTimeout(t *testing.T) {
	alloc := newAllocator(t)
	relays, closed := make(chan *Relay, 1), make(chan struct{})
	r := relayFor(t, alloc, newPhone(t, 1), newPhone(t, 2), func(c *Config) {
		c.MediaTimeout = 20 * time.Millisecond
		c.OnTimeout = func(Side) {
			r := <-relays
			relays <- r
			r.Close()
			select {
			case <-closed:
			default:
				close(closed)
			}
		}
	})
	relays <- r
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("no timeout")
	}
	if alloc.InUse() != 0 {
		t.Fatalf("InUse = %d after Close from OnTimeout", alloc.InUse())
	}
}

func TestRelayCloseReleasesEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	alloc := newAllocator(t)
	a, b := newPhone(t, 1), newPhone(t, 2)
	r := relayFor(t, alloc, a, b, func(c *Config) { c.MediaTimeout = time.Hour })
	a.send(r.ends[SideA].leg.ports.LocalRTP(), PayloadPCMU, make([]byte, 160))
	b.recv()
	if alloc.InUse() != 2 {
		t.Fatalf("InUse = %d, want 2", alloc.InUse())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if alloc.InUse() != 0 {
		t.Fatalf("InUse = %d after Close", alloc.InUse())
	}
	waitFor(t, "relay goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestNewRelayValidation(t *testing.T) {
	alloc := newAllocator(t)
	p1, _ := alloc.Allocate()
	p2, _ := alloc.Allocate()
	defer p1.Release()
	defer p2.Release()
	tests := []struct {
		name  string
		cfg   Config
		codec bool
	}{
		{"no ports", Config{A: LegConfig{Ports: p1}, B: LegConfig{}}, false},
		{"G.722 leg", Config{A: LegConfig{Ports: p1, PayloadType: 9}, B: LegConfig{Ports: p2}}, true},
	}
	for _, tt := range tests {
		_, err := NewRelay(tt.cfg)
		if err == nil || errors.Is(err, ErrUnsupportedCodec) != tt.codec {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}
