package pbx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// metricValue reads one sample of the PBX's /metrics ("name{labels}").
func metricValue(t *testing.T, p *pbxtest.PBX, sample string) int {
	t.Helper()
	code, body := p.Do(http.MethodGet, "/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("metric %s: %q", sample, v)
			}
			return n
		}
	}
	t.Fatalf("metric %s missing:\n%s", sample, body)
	return 0
}

// waitMetric waits until sample reaches at least want.
func waitMetric(t *testing.T, p *pbxtest.PBX, sample string, want int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := metricValue(t, p, sample)
		if v >= want {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want >= %d", sample, v, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawSource is a UDP socket on one loopback address: a SIP source the
// test controls byte by byte.
type rawSource struct {
	t    *testing.T
	conn *net.UDPConn
	pbx  *net.UDPAddr
	seq  int
}

func newRawSource(t *testing.T, p *pbxtest.PBX, ip string) *rawSource {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dst, err := net.ResolveUDPAddr("udp", p.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	return &rawSource{t: t, conn: c, pbx: dst}
}

// options sends an OPTIONS with the given User-Agent ("" for none).
func (s *rawSource) options(userAgent string) {
	s.t.Helper()
	s.seq++
	la := s.conn.LocalAddr().String()
	msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-guard-%d-%d\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:100@%s>;tag=g%d\r\nTo: <sip:100@%s>\r\n"+
		"Call-ID: guard-%d-%d@test\r\nCSeq: %d OPTIONS\r\n", s.pbx, la, time.Now().UnixNano(), s.seq, la, s.seq, s.pbx,
		time.Now().UnixNano(), s.seq, s.seq)
	if userAgent != "" {
		msg += "User-Agent: " + userAgent + "\r\n"
	}
	msg += "Content-Length: 0\r\n\r\n"
	if _, err := s.conn.WriteToUDP([]byte(msg), s.pbx); err != nil {
		s.t.Fatal(err)
	}
}

// answers counts the datagrams that arrive within d.
func (s *rawSource) answers(d time.Duration) int {
	s.conn.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 65536)
	n := 0
	for {
		if _, _, err := s.conn.ReadFromUDP(buf); err != nil {
			return n
		}
		n++
	}
}

// answered reports whether a datagram arrives within d.
func (s *rawSource) answered(d time.Duration) bool {
	s.conn.SetReadDeadline(time.Now().Add(d))
	_, _, err := s.conn.ReadFromUDP(make([]byte, 65536))
	return err == nil
}

// setSIPSecurity changes the guard's settings as the API would.
func setSIPSecurity(t *testing.T, p *pbxtest.PBX, change func(*store.SIPSecurity)) {
	t.Helper()
	cfg, err := p.App.Store.SIPSecurity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	change(&cfg)
	if err := p.App.Store.SetSIPSecurity(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

// onlyLocalhost trusts 127.0.0.1 alone, so the other loopback addresses
// are sources like any on the internet.
func onlyLocalhost(c *store.SIPSecurity) {
	c.Allow = []store.AllowEntry{{CIDR: "127.0.0.1"}}
}

const dropped = "pbx_sip_dropped_total"

// A source blocked after password guessing gets no answer at all, not
// even to the right password, while phones elsewhere register and call;
// unblocked, it registers.
func TestBlockedSourceGetsNothing(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) { c.AuthFailLimit = 3 }))
	setSIPSecurity(t, p, onlyLocalhost)
	a := p.CreateExtension("101", nil)
	b := p.CreateExtension("102", nil)

	guesser := p.NewUA("101", "guess-guess", pbxtest.WithLocalIP("127.0.0.2"))
	for i := 0; i < 3; i++ {
		expect(t, 403)(guesser.Register(ctx(t), 120))
	}

	// The right password from the blocked address: dropped unread.
	before := metricValue(t, p, dropped+`{reason="blocked"}`)
	raw := newRawSource(t, p, "127.0.0.2")
	raw.options("")
	raw.options("Yealink SIP-T46S")
	waitMetric(t, p, dropped+`{reason="blocked"}`, before+2)
	if n := raw.answers(200 * time.Millisecond); n != 0 {
		t.Fatalf("the blocked source got %d answers", n)
	}
	if metricValue(t, p, `pbx_sip_requests_total{method="OPTIONS"}`) != 0 {
		t.Fatal("a request from the blocked source reached the SIP stack")
	}

	// Meanwhile phones at two other addresses register and call.
	ua := p.NewUA("101", a.Secret, pbxtest.WithLocalIP("127.0.0.3"))
	ub := p.NewUA("102", b.Secret)
	expect(t, 200)(ua.Register(ctx(t), 120))
	expect(t, 200)(ub.Register(ctx(t), 120))
	call, err := ua.Dial(ctx(t), "102")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ub.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Listen(ctx(t), 20); err != nil {
		t.Fatalf("callee hears nothing: %v", err)
	}
	if err := call.Listen(ctx(t), 20); err != nil {
		t.Fatalf("caller hears nothing: %v", err)
	}
	if err := call.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}

	// The engine lists the block; lifting it lets the phone register.
	blocked := p.App.Engine.BlockedSources()
	if len(blocked) != 1 || blocked[0].Source != "127.0.0.2" || blocked[0].Reason != "auth_failures" ||
		!blocked[0].Until.After(time.Now()) {
		t.Fatalf("blocked sources %+v", blocked)
	}
	if !p.App.Engine.Unblock("127.0.0.2") {
		t.Fatal("unblock: was not blocked")
	}
	good := p.NewUA("101", a.Secret, pbxtest.WithLocalIP("127.0.0.2"))
	expect(t, 200)(good.Register(ctx(t), 120))
}

// A request whose User-Agent is a known scanner's is dropped unanswered
// and its source blocked; allow-listed sources are never blocked.
func TestScannerUserAgentDropped(t *testing.T) {
	p := pbxtest.Start(t)
	setSIPSecurity(t, p, onlyLocalhost)

	scanner := newRawSource(t, p, "127.0.0.4")
	scanner.options("friendly-scanner")
	waitMetric(t, p, dropped+`{reason="scanner"}`, 1)
	// Blocked now: a disguised second try is dropped too.
	scanner.options("Grandstream GXP2170")
	waitMetric(t, p, dropped+`{reason="blocked"}`, 1)
	if n := scanner.answers(200 * time.Millisecond); n != 0 {
		t.Fatalf("the scanner got %d answers", n)
	}
	if bl := p.App.Engine.BlockedSources(); len(bl) != 1 || bl[0].Source != "127.0.0.4" || bl[0].Reason != "scanner" {
		t.Fatalf("blocked sources %+v", bl)
	}

	// From the allow-listed address: the scanner's packet is dropped (the
	// name is never a phone's), the address stays unblocked.
	local := newRawSource(t, p, "127.0.0.1")
	local.options("SIPVicious 0.3.4 (sipvicious.org)")
	waitMetric(t, p, dropped+`{reason="scanner"}`, 2)
	local.options("Yealink SIP-T46S")
	if !local.answered(5 * time.Second) {
		t.Fatal("allow-listed source: the phone's OPTIONS went unanswered")
	}
	if n := local.answers(100 * time.Millisecond); n != 0 {
		t.Fatalf("allow-listed source: %d more answers: the scanner's OPTIONS was answered", n)
	}

	// The list is a setting: emptied, the same User-Agent is answered.
	setSIPSecurity(t, p, func(c *store.SIPSecurity) { c.ScannerUserAgents = nil })
	local.options("friendly-scanner")
	if !local.answered(5 * time.Second) {
		t.Fatal("with no scanner list: unanswered")
	}
}

// A source sending faster than its token bucket allows loses the excess,
// unanswered; an allow-listed source at the same time is unaffected.
func TestOverRateDropped(t *testing.T) {
	p := pbxtest.Start(t)
	setSIPSecurity(t, p, func(c *store.SIPSecurity) {
		onlyLocalhost(c)
		c.RatePerSecond, c.RateBurst = 1, 5
	})
	const sent = 40
	flood := newRawSource(t, p, "127.0.0.5")
	start := time.Now()
	for i := 0; i < sent; i++ {
		flood.options("")
	}
	// Every packet is either dropped or reaches the stack as an OPTIONS.
	deadline := time.Now().Add(10 * time.Second)
	var drops, passed int
	for {
		drops = metricValue(t, p, dropped+`{reason="rate"}`)
		passed = metricValue(t, p, `pbx_sip_requests_total{method="OPTIONS"}`)
		if drops+passed >= sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dropped %d + passed %d of %d", drops, passed, sent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A burst of 5 and 1 a second for as long as the PBX took to read them
	// all (no longer than since the first was sent).
	elapsed := time.Since(start)
	if allowed := 5 + int(elapsed.Seconds()) + 1; passed > allowed || drops < sent-allowed {
		t.Fatalf("passed %d, dropped %d of %d in %v; want at most %d passed", passed, drops, sent, elapsed, allowed)
	}
	if n := flood.answers(2 * time.Second); n != passed {
		t.Fatalf("the flooding source got %d answers, want %d (one per request let in)", n, passed)
	}
	// The allow-listed phone is not limited.
	ua := p.NewUA("101", "x")
	for i := 0; i < 10; i++ {
		expect(t, sip.StatusOK)(ua.Options(ctx(t)))
	}
}

// Over TCP a refused source's connection is closed without a byte: a
// stream cannot lose a message and stay in sync.
func TestScannerOverTCPClosedUnanswered(t *testing.T) {
	p := pbxtest.Start(t)
	setSIPSecurity(t, p, onlyLocalhost)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.6")}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", p.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	la := c.LocalAddr().String()
	msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-tcp-scan\r\nMax-Forwards: 70\r\n"+
		"From: <sip:100@%s>;tag=1\r\nTo: <sip:100@%s>\r\nCall-ID: tcp-scan@test\r\nCSeq: 1 OPTIONS\r\n"+
		"User-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n", p.SIPAddr, la, la, p.SIPAddr)
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 4096))
	if n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, %v; want the connection closed with nothing sent", n, err)
	}
	if bl := p.App.Engine.BlockedSources(); len(bl) != 1 || bl[0].Source != "127.0.0.6" {
		t.Fatalf("blocked %+v", bl)
	}
	if metricValue(t, p, dropped+`{reason="scanner"}`) != 1 {
		t.Fatal("the scanner drop was not counted")
	}
}
