package pbx_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// REGISTER and OPTIONS over UDP are answered without sipgo's transaction
// layer (stateless.go); these check that the answers still go where RFC
// 3261 section 18.2.2 and RFC 3581 send them, carry what the phone needs,
// and that a phone registers through that path as before.
func TestStatelessAnswersRouting(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("5301", nil)
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	pbxAddr, err := net.ResolveUDPAddr("udp", p.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	read := func(c *net.UDPConn, wait time.Duration) string {
		c.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
	send := func(from *net.UDPConn, method, via string, n int) {
		msg := fmt.Sprintf("%s sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-stateless-%d\r\n"+
			"From: <sip:5301@pbx>;tag=t%d\r\nTo: <sip:5301@pbx>\r\nCall-ID: stateless-%d\r\nCSeq: 1 %s\r\n"+
			"Contact: <sip:5301@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			method, p.SIPAddr, via, n, n, n, method, from.LocalAddr())
		if _, err := from.WriteToUDP([]byte(msg), pbxAddr); err != nil {
			t.Fatal(err)
		}
	}

	// Without rport: to the source address at the Via's sent-by port.
	a, b := listen(), listen()
	send(a, "REGISTER", b.LocalAddr().String(), 1)
	res := read(b, 5*time.Second)
	if !strings.HasPrefix(res, "SIP/2.0 401") || !strings.Contains(res, "WWW-Authenticate: Digest") {
		t.Fatalf("sent-by port got %q, want a 401 challenge", res)
	}
	if !strings.Contains(res, "Call-ID: stateless-1") || !strings.Contains(res, "CSeq: 1 REGISTER") {
		t.Fatalf("401 does not match its request:\n%s", res)
	}
	if got := read(a, time.Second); got != "" {
		t.Fatalf("source port also got %q", got)
	}

	// With rport: back to the source port, with rport and received filled.
	send(a, "REGISTER", b.LocalAddr().String()+";rport", 2)
	res = read(a, 5*time.Second)
	port := a.LocalAddr().(*net.UDPAddr).Port
	if !strings.HasPrefix(res, "SIP/2.0 401") || !strings.Contains(res, fmt.Sprintf("rport=%d", port)) ||
		!strings.Contains(res, "received=127.0.0.1") {
		t.Fatalf("rport request got %q, want a 401 with rport=%d;received=127.0.0.1", res, port)
	}

	// OPTIONS, the phones' keep-alive.
	send(a, "OPTIONS", a.LocalAddr().String()+";rport", 3)
	res = read(a, 5*time.Second)
	if !strings.HasPrefix(res, "SIP/2.0 200") || !strings.Contains(res, "Allow: INVITE") {
		t.Fatalf("OPTIONS got %q, want 200 with Allow", res)
	}

	// Garbage that starts like a REGISTER is dropped, and the PBX goes on.
	if _, err := a.WriteToUDP(append([]byte("REGISTER \x00\xff"), bytes.Repeat([]byte{0xff}, 100)...), pbxAddr); err != nil {
		t.Fatal(err)
	}
	if got := read(a, time.Second); got != "" {
		t.Fatalf("garbage got an answer: %q", got)
	}

	// A test phone registers (challenge and answer) through the same path.
	ua := p.NewUA("5301", ext.Secret)
	reg, err := ua.Register(t.Context(), 300)
	if err != nil || reg.StatusCode != 200 {
		t.Fatalf("register: %v %v", reg, err)
	}
	n := 0
	for _, r := range p.App.Engine.Registrations() {
		if r.Extension == "5301" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d bindings after REGISTER, want 1", n)
	}
}

// A phone that registered through the stateless path is called from the
// PBX's listening address, the one it registered with: a phone behind NAT
// hears nothing from any other. (sipgo learns a source's address only
// from datagrams its transport layer reads: once it saw none of the
// phone's, it sent the INVITE from a socket of its own.)
func TestPhoneRegisteredStatelesslyIsCalledFromListener(t *testing.T) {
	p := pbxtest.Start(t)
	a, b := p.Phone("5311"), p.Phone("5312")
	// A refresh, certainly on the stateless path.
	if res, err := b.Register(t.Context(), 300); err != nil || res.StatusCode != 200 {
		t.Fatalf("refresh: %v %v", res, err)
	}
	caller, callee := connect(t, a, b, "5312")
	defer caller.Hangup(t.Context())
	if got := callee.Invite.Source(); got != p.SIPAddr {
		t.Fatalf("INVITE to the phone came from %s, want the PBX's listener %s", got, p.SIPAddr)
	}
}

// A phone's first INVITE of a call, the one without credentials, is
// challenged without a transaction (RFC 3261 section 8.2.7): the 407 goes
// back from the listener with a To tag made from the request, the same
// for a retransmission, and the ACK for it is dropped at the door. An
// INVITE with credentials keeps the transaction layer, and a call goes
// through as before.
func TestStatelessInviteChallenge(t *testing.T) {
	p := pbxtest.Start(t)
	p.CreateExtension("5321", nil)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pbxAddr, err := net.ResolveUDPAddr("udp", p.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(msg string, wait time.Duration) string {
		t.Helper()
		if _, err := c.WriteToUDP([]byte(msg), pbxAddr); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return ""
			}
			if res := string(buf[:n]); !strings.HasPrefix(res, "SIP/2.0 100 ") {
				return res
			}
		}
	}
	header := func(res, name string) string {
		for _, l := range strings.Split(res, "\r\n") {
			if v, ok := strings.CutPrefix(l, name+": "); ok {
				return v
			}
		}
		return ""
	}
	ackCount := func() string {
		_, body := p.Do(http.MethodGet, "/metrics", nil)
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, `pbx_sip_requests_total{method="ACK"}`) {
				return l
			}
		}
		t.Fatal("no ACK counter in /metrics")
		return ""
	}
	laddr := c.LocalAddr().String()
	// The source's first datagram goes through sipgo (see statelessUDP.seen).
	if res := exchange(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;rport;branch=z9hG4bK-o1\r\n"+
		"From: <sip:5321@pbx>;tag=f0\r\nTo: <sip:5321@pbx>\r\nCall-ID: sl-opt\r\nCSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", p.SIPAddr, laddr), 5*time.Second); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("OPTIONS got %q", res)
	}
	invite := func(branch, extra string) string {
		return fmt.Sprintf("INVITE sip:5399@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;rport;branch=%s\r\n"+
			"From: <sip:5321@pbx>;tag=f1\r\nTo: <sip:5399@pbx>\r\nCall-ID: sl-inv\r\nCSeq: %s INVITE\r\n"+
			"Contact: <sip:5321@%s>\r\nMax-Forwards: 70\r\n%sContent-Length: 0\r\n\r\n", p.SIPAddr, laddr, branch,
			map[bool]string{true: "2", false: "1"}[extra != ""], laddr, extra)
	}

	res := exchange(invite("z9hG4bK-i1", ""), 5*time.Second)
	if !strings.HasPrefix(res, "SIP/2.0 407") || header(res, "Proxy-Authenticate") == "" {
		t.Fatalf("INVITE without credentials got %q, want a 407 challenge", res)
	}
	to := header(res, "To")
	_, tag, _ := strings.Cut(to, ";tag=")
	if !strings.HasPrefix(tag, "sl-pbx-") {
		t.Fatalf("407's To %q: want the stateless tag", to)
	}
	if again := exchange(invite("z9hG4bK-i1", ""), 5*time.Second); header(again, "To") != to {
		t.Fatalf("retransmission answered with To %q, first answer had %q", header(again, "To"), to)
	}
	before := ackCount()
	ack := fmt.Sprintf("ACK sip:5399@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;rport;branch=z9hG4bK-i1\r\n"+
		"From: <sip:5321@pbx>;tag=f1\r\nTo: %s\r\nCall-ID: sl-inv\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		p.SIPAddr, laddr, to)
	if got := exchange(ack, 300*time.Millisecond); got != "" {
		t.Fatalf("ACK got %q", got)
	}
	// An ACK through the transaction layer would reach the handlers and
	// be counted; give it the time to.
	time.Sleep(200 * time.Millisecond)
	if after := ackCount(); after != before {
		t.Fatalf("the ACK for the stateless 407 went on into the PBX: %s, then %s", before, after)
	}

	// With credentials (a nonce the PBX never issued): the transaction
	// layer's answer, a fresh challenge with a tag of its own.
	res = exchange(invite("z9hG4bK-i2", `Proxy-Authorization: Digest username="5321", realm="pbx", nonce="bogus", uri="sip:5399@pbx", response="00000000000000000000000000000000"`+"\r\n"), 5*time.Second)
	if !strings.HasPrefix(res, "SIP/2.0 407") {
		t.Fatalf("INVITE with a foreign nonce got %q, want 407", res)
	}
	if to := header(res, "To"); strings.Contains(to, "sl-pbx-") || !strings.Contains(to, ";tag=") {
		t.Fatalf("stateful 407's To %q", to)
	}

	// Real phones call through the challenge as before.
	a, b := p.Phone("5331"), p.Phone("5332")
	caller, _ := connect(t, a, b, "5332")
	caller.Hangup(t.Context())
}
