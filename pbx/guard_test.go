package pbx

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

func TestScannerAgent(t *testing.T) {
	scanners := [][]byte{[]byte("friendly-scanner"), []byte("sipvicious")}
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"OPTIONS sip:x SIP/2.0\r\nUser-Agent: friendly-scanner\r\n\r\n", true},
		{"OPTIONS sip:x SIP/2.0\r\nuser-agent:Friendly-Scanner\r\n\r\n", true},
		{"OPTIONS sip:x SIP/2.0\r\nUSER-AGENT  :  x SIPVicious 0.3\r\n\r\n", true},
		{"OPTIONS sip:x SIP/2.0\r\nUser-Agent: Yealink\r\n\r\n", false},
		{"OPTIONS sip:x SIP/2.0\r\nUser-Agents: friendly-scanner\r\n\r\n", false},
		{"OPTIONS sip:x SIP/2.0\r\nSubject: friendly-scanner\r\n\r\n", false},
		// In the body, not the headers.
		{"MESSAGE sip:x SIP/2.0\r\nUser-Agent: Zoiper\r\n\r\nUser-Agent: friendly-scanner\r\n", false},
		{"User-Agent: friendly-scanner", true},
		{"", false},
	} {
		if got := scannerAgent([]byte(tc.msg), scanners); got != tc.want {
			t.Errorf("scannerAgent(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

func TestParseAllowCIDR(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"::1", "::1/128"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
		{"2001:db8::/32", "2001:db8::/32"},
	} {
		p, err := store.ParseAllowCIDR(tc.in)
		if err != nil || p.String() != tc.want {
			t.Errorf("ParseAllowCIDR(%q) = %v, %v; want %s", tc.in, p, err, tc.want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "10.0.0.0/8/8", "1.2.3"} {
		if _, err := store.ParseAllowCIDR(bad); err == nil {
			t.Errorf("ParseAllowCIDR(%q) accepted", bad)
		}
	}
}

// newTestGuard is a guard on a fixed clock.
func newTestGuard(sec store.SIPSecurity, now *time.Time) *guard {
	g := newGuard(newBlocker(3, time.Minute, time.Minute), slog.New(slog.DiscardHandler))
	g.now = func() time.Time { return *now }
	g.set(sec)
	return g
}

func TestGuardTokenBucket(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newTestGuard(store.SIPSecurity{RatePerSecond: 2, RateBurst: 4, Allow: []store.AllowEntry{{CIDR: "10.0.0.0/8"}}}, &now)
	src := &net.UDPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5060}
	trusted := &net.UDPAddr{IP: net.ParseIP("10.9.9.9"), Port: 5060}
	pkt := []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")
	pass := func(from *net.UDPAddr) bool {
		out, err := g.filter(sip.TransportReadProps{Transport: "UDP", RemoteAddr: from}, pkt)
		if err != nil {
			t.Fatal(err)
		}
		return out != nil
	}
	for i := 0; i < 4; i++ {
		if !pass(src) {
			t.Fatalf("packet %d of the burst dropped", i)
		}
	}
	if pass(src) {
		t.Fatal("fifth packet at once passed a burst of 4")
	}
	now = now.Add(time.Second) // two tokens back
	if !pass(src) || !pass(src) || pass(src) {
		t.Fatal("refill at 2 a second")
	}
	for i := 0; i < 100; i++ {
		if !pass(trusted) {
			t.Fatal("allow-listed source rate limited")
		}
	}
	if got := g.dropped[dropRate].Load(); got != 2 {
		t.Fatalf("dropped[rate] = %d, want 2", got)
	}
	// A stream is closed rather than cut.
	if _, err := g.filter(sip.TransportReadProps{Transport: "TCP", RemoteAddr: &net.TCPAddr{IP: src.IP, Port: 1}}, pkt); err != errGuardDrop {
		t.Fatalf("over-rate TCP read: err %v, want errGuardDrop", err)
	}
}

// FuzzGuardFilter: any bytes from any source: no panic, and what passes
// is what came in.
func FuzzGuardFilter(f *testing.F) {
	f.Add([]byte("OPTIONS sip:x SIP/2.0\r\nUser-Agent: friendly-scanner\r\n\r\n"), byte(1))
	f.Add([]byte("user-agent:\n\n\r\n"), byte(2))
	f.Add([]byte{}, byte(3))
	f.Fuzz(func(t *testing.T, data []byte, last byte) {
		now := time.Unix(1000, 0)
		g := newTestGuard(store.DefaultSIPSecurity(), &now)
		out, err := g.filter(sip.TransportReadProps{Transport: "UDP", RemoteAddr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, last)}}, data)
		if err != nil || (out != nil && string(out) != string(data)) {
			t.Fatalf("filter changed the packet or failed: %v", err)
		}
	})
}

func BenchmarkGuardFilter(b *testing.B) {
	now := time.Unix(1000, 0)
	g := newTestGuard(store.DefaultSIPSecurity(), &now)
	g.set(store.SIPSecurity{ScannerUserAgents: store.DefaultScannerUserAgents()}) // no rate limit: every packet checked in full
	pkt := []byte("REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:101@pbx>;tag=1\r\nTo: <sip:101@pbx>\r\nCall-ID: 1@x\r\nCSeq: 1 REGISTER\r\n" +
		"User-Agent: Yealink SIP-T46S 66.86.0.15\r\nContact: <sip:101@192.0.2.1:5060>\r\nContent-Length: 0\r\n\r\n")
	props := sip.TransportReadProps{Transport: "UDP", RemoteAddr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5060}}
	b.ReportAllocs()
	for b.Loop() {
		if out, _ := g.filter(props, pkt); out == nil {
			b.Fatal("dropped")
		}
	}
}
