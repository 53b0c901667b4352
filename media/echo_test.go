package media

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func echoFor(t testing.TB, alloc *PortAllocator, p *phone, mod func(*EchoConfig)) *Echo {
	t.Helper()
	ports, err := alloc.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	cfg := EchoConfig{Leg: LegConfig{Ports: ports, Remote: p.addr(), PayloadType: PayloadPCMU, EventPayloadType: 101}}
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEcho(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// The phone hears its own audio back, as a stream of the echo's own: a
// new SSRC, continuous sequence numbers and timestamps, the payload as
// sent. Key presses come back too and are reported.
func TestEchoReturnsAudio(t *testing.T) {
	p := newPhone(t, 7)
	var digits atomic.Int32
	e := echoFor(t, newAllocator(t), p, func(c *EchoConfig) {
		c.OnDigit = func(Side, Digit) { digits.Add(1) }
	})
	to := e.leg.ports.LocalRTP()
	payload := encodeUlaw(sine(440, 8000, 0, 160))
	var first uint16
	var firstTS uint32
	for i := range 5 {
		p.send(to, PayloadPCMU, payload)
		pkt, from := p.recv()
		if from != to {
			t.Fatalf("echo came from %v, want %v", from, to)
		}
		if pkt.SSRC == p.ssrc || pkt.PayloadType != PayloadPCMU || string(pkt.Payload) != string(payload) {
			t.Fatalf("echoed packet SSRC %d PT %d, want a new SSRC and the same PCMU payload", pkt.SSRC, pkt.PayloadType)
		}
		if i == 0 {
			first, firstTS = pkt.SequenceNumber, pkt.Timestamp
		} else if pkt.SequenceNumber != first+uint16(i) || pkt.Timestamp != firstTS+uint32(160*i) {
			t.Fatalf("packet %d: seq %d ts %d, want %d %d", i, pkt.SequenceNumber, pkt.Timestamp, first+uint16(i), firstTS+uint32(160*i))
		}
	}
	ev := make([]byte, 4)
	TelephoneEvent{Event: 5, End: true, Duration: 800}.MarshalTo(ev)
	p.sendRaw(to, p.packet(101, ev, true, 0))
	if pkt, _ := p.recv(); pkt.PayloadType != 101 {
		t.Fatalf("event echoed with PT %d, want 101", pkt.PayloadType)
	}
	if digits.Load() != 1 {
		t.Fatalf("%d digits reported, want 1", digits.Load())
	}
	if s := e.Stats(); s.AToB.Packets != 6 {
		t.Fatalf("stats %+v, want 6 packets", s.AToB)
	}
}

func TestEchoMediaTimeoutAndClose(t *testing.T) {
	before := runtime.NumGoroutine()
	alloc := newAllocator(t)
	p := newPhone(t, 8)
	timedOut := make(chan struct{})
	e := echoFor(t, alloc, p, func(c *EchoConfig) {
		c.MediaTimeout = 50 * time.Millisecond
		c.OnTimeout = func(Side) { close(timedOut) } // fires once per silence
	})
	select {
	case <-timedOut:
	case <-time.After(5 * time.Second):
		t.Fatal("no media timeout")
	}
	e.Close()
	if alloc.InUse() != 0 {
		t.Fatalf("InUse = %d after Close", alloc.InUse())
	}
	waitFor(t, "echo goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestEchoNoAllocs counts allocations of the whole process while packets
// go phone -> echo -> phone over loopback.
func TestEchoNoAllocs(t *testing.T) {
	p := newPhone(t, 9)
	e := echoFor(t, newAllocator(t), p, nil)
	to := e.leg.ports.LocalRTP()
	pkt := p.packet(PayloadPCMU, encodeUlaw(sine(440, 8000, 0, 160)), false, 160)
	var buf [maxPacket]byte
	roundTrip := func() {
		binary.BigEndian.PutUint16(pkt[2:], p.seq)
		p.seq++
		if _, err := p.rtp.WriteToUDPAddrPort(pkt, to); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.rtp.ReadFromUDPAddrPort(buf[:]); err != nil {
			t.Fatal(err)
		}
	}
	roundTrip() // latch
	if allocs := testing.AllocsPerRun(500, roundTrip); allocs != 0 {
		t.Fatalf("%v allocs per echoed packet, want 0", allocs)
	}
}

func TestNewEchoValidation(t *testing.T) {
	if _, err := NewEcho(EchoConfig{}); err == nil {
		t.Error("no ports: want an error")
	}
	ports, err := newAllocator(t).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer ports.Release()
	if _, err := NewEcho(EchoConfig{Leg: LegConfig{Ports: ports, PayloadType: 18}}); err == nil {
		t.Error("G.729: want an error")
	}
}
