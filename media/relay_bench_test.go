package media

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// testDirection is endpoint A bridged to B, without sockets, for
// measuring the per-packet work A to B.
func testDirection(aPT, bPT uint8) *Endpoint {
	a := newEndpoint(EndpointConfig{Leg: LegConfig{PayloadType: aPT, EventPayloadType: 101}, OnDigit: func(Digit) {}})
	b := newEndpoint(EndpointConfig{Leg: LegConfig{PayloadType: bPT, EventPayloadType: 96}})
	Bridge(a, b)
	return a
}

func TestRelayProcessNoAllocs(t *testing.T) {
	p := newPhone(t, 5)
	from := netip.MustParseAddrPort("127.0.0.1:5000")
	tests := []struct {
		name string
		pkt  []byte
	}{
		{"PCMU to PCMA", p.packet(PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)), false, 160)},
		{"telephone event", p.packet(101, []byte{5, 0x80, 0, 160}, false, 0)},
		{"comfort noise", p.packet(PayloadCN, []byte{40}, false, 160)},
		{"dropped", p.packet(18, make([]byte, 20), false, 160)},
		{"garbage", []byte{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDirection(PayloadPCMU, PayloadPCMA)
			pkt := make([]byte, len(tt.pkt))
			var now time.Duration
			allocs := testing.AllocsPerRun(1000, func() {
				copy(pkt, tt.pkt)
				now += 20 * time.Millisecond
				d.process(pkt, from, now)
			})
			if allocs != 0 {
				t.Fatalf("%v allocs per packet, want 0", allocs)
			}
		})
	}
}

// TestRelaySocketPathNoAllocs counts allocations of the whole process
// while packets go phone A -> relay -> phone B over loopback.
func TestRelaySocketPathNoAllocs(t *testing.T) {
	a, b := newPhone(t, 1), newPhone(t, 2)
	r := relayFor(t, newAllocator(t), a, b, func(c *Config) { c.B.PayloadType = PayloadPCMA })
	to := r.ends[SideA].leg.ports.LocalRTP()
	pkt := a.packet(PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)), false, 160)
	var buf [maxPacket]byte
	roundTrip := func() {
		binary.BigEndian.PutUint16(pkt[2:], a.seq)
		a.seq++
		if _, err := a.rtp.WriteToUDPAddrPort(pkt, to); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.rtp.ReadFromUDPAddrPort(buf[:]); err != nil {
			t.Fatal(err)
		}
	}
	roundTrip() // latch, first-packet work
	if allocs := testing.AllocsPerRun(500, roundTrip); allocs != 0 {
		t.Fatalf("%v allocs per relayed packet, want 0", allocs)
	}
}

// BenchmarkRelayProcess measures the relay's own work on one packet:
// parse, latch check, transcode PCMU to PCMA, statistics, rewrite.
func BenchmarkRelayProcess(b *testing.B) {
	p := newPhone(b, 5)
	d := testDirection(PayloadPCMU, PayloadPCMA)
	from := netip.MustParseAddrPort("127.0.0.1:5000")
	src := p.packet(PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)), false, 160)
	pkt := make([]byte, len(src))
	var now time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		copy(pkt, src)
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		now += 20 * time.Millisecond
		d.process(pkt, from, now)
	}
}

// BenchmarkRelayPacket measures one packet through a running relay over
// loopback, one at a time: phone A sends, the relay transcodes and
// forwards, phone B receives. ns/packet includes the phones' two system
// calls and the wake-ups, so it is latency, not the relay's CPU cost.
func BenchmarkRelayPacket(b *testing.B) {
	a, ph := newPhone(b, 1), newPhone(b, 2)
	r := relayFor(b, newAllocator(b), a, ph, func(c *Config) { c.B.PayloadType = PayloadPCMA })
	to := r.ends[SideA].leg.ports.LocalRTP()
	pkt := a.packet(PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)), false, 160)
	var buf [maxPacket]byte
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		if _, err := a.rtp.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ph.rtp.ReadFromUDPAddrPort(buf[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "ns/packet")
}
