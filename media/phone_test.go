package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// phone is a fake SIP phone's media side for the tests: plain UDP sockets
// on loopback that send and receive RTP and RTCP.
type phone struct {
	t    testing.TB
	rtp  *net.UDPConn
	rtcp *net.UDPConn
	ssrc uint32
	seq  uint16
	ts   uint32
}

func newPhone(t testing.TB, ssrc uint32) *phone {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return &phone{t: t, rtp: listen(), rtcp: listen(), ssrc: ssrc, seq: uint16(ssrc * 7), ts: ssrc * 13}
}

func (p *phone) addr() netip.AddrPort     { return p.rtp.LocalAddr().(*net.UDPAddr).AddrPort() }
func (p *phone) rtcpAddr() netip.AddrPort { return p.rtcp.LocalAddr().(*net.UDPAddr).AddrPort() }

// packet builds the phone's next RTP packet; tsStep is how far the
// timestamp moves after it (160 for 20 ms of audio, 0 inside an event).
func (p *phone) packet(pt uint8, payload []byte, marker bool, tsStep uint32) []byte {
	p.t.Helper()
	b, err := (&rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc, Marker: marker},
		Payload: payload,
	}).Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	p.seq++
	p.ts += tsStep
	return b
}

func (p *phone) sendRaw(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.rtp.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

func (p *phone) send(to netip.AddrPort, pt uint8, payload []byte) {
	p.t.Helper()
	p.sendRaw(to, p.packet(pt, payload, false, uint32(len(payload))))
}

// recv waits up to 5 s for an RTP packet.
func (p *phone) recv() (rtp.Packet, netip.AddrPort) {
	p.t.Helper()
	var buf [maxPacket]byte
	p.rtp.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := p.rtp.ReadFromUDPAddrPort(buf[:])
	if err != nil {
		p.t.Fatalf("phone %d: no RTP: %v", p.ssrc, err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
		p.t.Fatal(err)
	}
	return pkt, from
}

// newAllocator returns an allocator on loopback for one test, closed
// (with the sockets of the pairs it keeps) when the test ends.
func newAllocator(t testing.TB) *PortAllocator {
	t.Helper()
	a, err := NewPortAllocator(loopback, 22000, 29999)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close) // the pairs resting for reuse
	return a
}

// relayFor starts a relay between phones a and b with the given codecs and
// event payload types; the phones' SDP addresses are their real ones.
func relayFor(t testing.TB, alloc *PortAllocator, a, b *phone, mod func(*Config)) *Relay {
	t.Helper()
	pa, err := alloc.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	pb, err := alloc.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		A: LegConfig{Ports: pa, Remote: a.addr(), RemoteRTCP: a.rtcpAddr(), PayloadType: PayloadPCMU, EventPayloadType: 101},
		B: LegConfig{Ports: pb, Remote: b.addr(), RemoteRTCP: b.rtcpAddr(), PayloadType: PayloadPCMU, EventPayloadType: 101},
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// waitFor polls cond until it holds or 5 s pass; for state that has no
// event to wait on (goroutines ending).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
