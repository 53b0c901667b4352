package pbx_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"

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

// rawSIP is a bare UDP socket that speaks SIP to the PBX by hand, as a
// phone would, for what the test phones do not let a test see.
type rawSIP struct {
	t    *testing.T
	c    *net.UDPConn
	pbx  *net.UDPAddr
	addr string // the socket's own address
	user string // the extension it speaks for
}

func newRawSIP(t *testing.T, p *pbxtest.PBX, user string) *rawSIP {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pbxAddr, err := net.ResolveUDPAddr("udp", p.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawSIP{t: t, c: c, pbx: pbxAddr, addr: c.LocalAddr().String(), user: user}
	// The source's first datagram goes through sipgo (see statelessUDP.seen).
	r.send(r.request("OPTIONS", user, "opt-"+r.addr, "z9hG4bK-opt", 1, "<sip:"+user+"@pbx>", "", ""))
	if res := r.final(5 * time.Second); !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("OPTIONS got %q", res)
	}
	return r
}

// request formats a request from r.user to target's extension.
func (r *rawSIP) request(method, target, callID, branch string, cseq int, to, extra, body string) string {
	ctype := ""
	if body != "" {
		ctype = "Content-Type: application/sdp\r\n"
	}
	return fmt.Sprintf("%s sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;rport;branch=%s\r\n"+
		"From: <sip:%s@pbx>;tag=f-%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
		"Contact: <sip:%s@%s>\r\nMax-Forwards: 70\r\n%s%sContent-Length: %d\r\n\r\n%s",
		method, target, r.pbx, r.addr, branch, r.user, callID, to, callID, cseq, method,
		r.user, r.addr, extra, ctype, len(body), body)
}

func (r *rawSIP) send(msg string) {
	r.t.Helper()
	if _, err := r.c.WriteToUDP([]byte(msg), r.pbx); err != nil {
		r.t.Fatal(err)
	}
}

// expect returns the next datagram that starts with prefix, skipping
// others, within wait; or "".
func (r *rawSIP) expect(prefix string, wait time.Duration) string {
	r.c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 8192)
	for {
		n, err := r.c.Read(buf)
		if err != nil {
			return ""
		}
		if res := string(buf[:n]); strings.HasPrefix(res, prefix) {
			return res
		}
	}
}

// final returns the next response other than 1xx within wait, or "".
func (r *rawSIP) final(wait time.Duration) string {
	for deadline := time.Now().Add(wait); time.Until(deadline) > 0; {
		if res := r.expect("SIP/2.0 ", time.Until(deadline)); !strings.HasPrefix(res, "SIP/2.0 1") {
			return res
		}
	}
	return ""
}

// sipHeader returns the value of the first header line called name.
func sipHeader(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return v
		}
	}
	return ""
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
	r := newRawSIP(t, p, "5321")
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
	const to = "<sip:5399@pbx>"
	invite := r.request("INVITE", "5399", "sl-inv", "z9hG4bK-i1", 1, to, "", "")
	r.send(invite)
	res := r.final(5 * time.Second)
	if !strings.HasPrefix(res, "SIP/2.0 407") || sipHeader(res, "Proxy-Authenticate") == "" {
		t.Fatalf("INVITE without credentials got %q, want a 407 challenge", res)
	}
	tagged := sipHeader(res, "To")
	if _, tag, _ := strings.Cut(tagged, ";tag="); !strings.HasPrefix(tag, "sl-pbx-") {
		t.Fatalf("407's To %q: want the stateless tag", tagged)
	}
	r.send(invite)
	if again := r.final(5 * time.Second); sipHeader(again, "To") != tagged {
		t.Fatalf("retransmission answered with To %q, first answer had %q", sipHeader(again, "To"), tagged)
	}
	before := ackCount()
	r.send(r.request("ACK", "5399", "sl-inv", "z9hG4bK-i1", 1, tagged, "", ""))
	// An ACK through the transaction layer would reach the handlers and
	// be counted; give it the time to.
	if got := r.expect("", 500*time.Millisecond); got != "" {
		t.Fatalf("ACK got %q", got)
	}
	if after := ackCount(); after != before {
		t.Fatalf("the ACK for the stateless 407 went on into the PBX: %s, then %s", before, after)
	}

	// With credentials (a nonce the PBX never issued): the transaction
	// layer's answer, a fresh challenge with a tag of its own.
	r.send(r.request("INVITE", "5399", "sl-inv", "z9hG4bK-i2", 2, to,
		`Proxy-Authorization: Digest username="5321", realm="pbx", nonce="bogus", uri="sip:5399@pbx", response="00000000000000000000000000000000"`+"\r\n", ""))
	res = r.final(5 * time.Second)
	if !strings.HasPrefix(res, "SIP/2.0 407") {
		t.Fatalf("INVITE with a foreign nonce got %q, want 407", res)
	}
	if to := sipHeader(res, "To"); strings.Contains(to, "sl-pbx-") || !strings.Contains(to, ";tag=") {
		t.Fatalf("stateful 407's To %q", to)
	}

	// Real phones call through the challenge as before.
	a, b := p.Phone("5331"), p.Phone("5332")
	caller, _ := connect(t, a, b, "5332")
	caller.Hangup(t.Context())
}

// The ACK of the PBX's 200 OK ends the 200's retransmissions (the call's
// own, RFC 3261 13.3.1.4), and the ACK of a failure response, with the
// INVITE's branch, ends the INVITE transaction's retransmissions of it
// (487 after CANCEL here). Both ACKs arrive from a source the stateless
// path knows, on the listener, whose INVITE was challenged statelessly:
// were either ACK taken from where it belongs, its response would come
// again after 500 ms.
func TestAckOfAnswerAndOfFailure(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("5341", nil)
	p.Phone("5342") // answers at once
	p.Phone("5343").SetPolicy(pbxtest.Policy{RingForever: true})
	r := newRawSIP(t, p, "5341")
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	// call sends an authenticated INVITE to target (after the 407) and
	// returns the branch it went with.
	call := func(target, callID string) string {
		t.Helper()
		to := "<sip:" + target + "@pbx>"
		r.send(r.request("INVITE", target, callID, "z9hG4bK-"+callID+"-1", 1, to, "", sdp))
		chal := r.final(5 * time.Second)
		if !strings.HasPrefix(chal, "SIP/2.0 407") {
			t.Fatalf("first INVITE got %q", chal)
		}
		r.send(r.request("ACK", target, callID, "z9hG4bK-"+callID+"-1", 1, sipHeader(chal, "To"), "", ""))
		ch, err := digest.ParseChallenge(sipHeader(chal, "Proxy-Authenticate"))
		if err != nil {
			t.Fatal(err)
		}
		cred, err := digest.Digest(ch, digest.Options{Method: "INVITE", URI: "sip:" + target + "@" + p.SIPAddr,
			Username: "5341", Password: ext.Secret, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		branch := "z9hG4bK-" + callID + "-2"
		r.send(r.request("INVITE", target, callID, branch, 2, to, "Proxy-Authorization: "+cred.String()+"\r\n", sdp))
		return branch
	}

	// A failure, 487 after CANCEL: its ACK (the INVITE's branch) ends the
	// retransmissions.
	branch := call("5343", "ack-fail")
	if res := r.expect("SIP/2.0 180", 5*time.Second); res == "" {
		t.Fatal("no 180 from the ringing call")
	}
	r.send(r.request("CANCEL", "5343", "ack-fail", branch, 2, "<sip:5343@pbx>", "", ""))
	res := r.expect("SIP/2.0 487", 5*time.Second)
	if res == "" {
		t.Fatal("no 487 after CANCEL")
	}
	r.send(r.request("ACK", "5343", "ack-fail", branch, 2, sipHeader(res, "To"), "", ""))
	if again := r.expect("SIP/2.0 487", 1500*time.Millisecond); again != "" {
		t.Fatalf("after its ACK the 487 came again: %q", again)
	}

	// An answer: its ACK (a branch of its own) ends the 200's retransmissions.
	call("5342", "ack-ok")
	res = r.final(10 * time.Second)
	if !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("call to 5342 got %q, want 200", res)
	}
	to := sipHeader(res, "To")
	r.send(r.request("ACK", "5342", "ack-ok", "z9hG4bK-ack-ok-3", 2, to, "", ""))
	if again := r.final(1500 * time.Millisecond); again != "" {
		t.Fatalf("after its ACK the 200 came again: %q", again)
	}
	r.send(r.request("BYE", "5342", "ack-ok", "z9hG4bK-ack-ok-4", 3, to, "", ""))
	if bye := r.final(5 * time.Second); !strings.HasPrefix(bye, "SIP/2.0 200") {
		t.Fatalf("BYE got %q", bye)
	}
}
