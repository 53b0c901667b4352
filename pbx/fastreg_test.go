package pbx

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// captureConn is the listener a test's statelessUDP answers through: it
// keeps what was written and where.
type captureConn struct {
	net.PacketConn // nil: only WriteTo and LocalAddr are used
	mu             sync.Mutex
	sent           []captured
}

type captured struct {
	data []byte
	dst  string
}

func (c *captureConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, captured{data: bytes.Clone(b), dst: addr.String()})
	return len(b), nil
}

func (c *captureConn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
}

func (c *captureConn) take() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sent
	c.sent = nil
	return out
}

// fastRegPair is two engines that see the same REGISTERs: a (fast path,
// falling back to the full path) and b (the full path only). They share
// the digest key, so a nonce either issued is good at both.
type fastRegPair struct {
	a, b      *Engine
	ca, cb    *captureConn
	lastNonce string // the nonce fill used last
}

// regTestExtensions: 101 MD5, 102 SHA-256 then MD5, 103 SHA-256 only.
var regTestExtensions = map[string]struct {
	secret string
	algs   []string
}{
	"101": {"s3cret-pass", []string{AlgMD5}},
	"102": {"other-pass", []string{AlgSHA256, AlgMD5}},
	"103": {"sha-only", []string{AlgSHA256}},
}

func newFastRegEngine(t testing.TB) (*Engine, *captureConn) {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t)
	for n, x := range regTestExtensions {
		if err := st.CreateExtension(ctx, &store.Extension{Number: n, Secret: x.secret,
			AuthAlgorithms: x.algs, RingSeconds: 20, Outbound: "internal"}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(ctx, Config{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c := &captureConn{}
	e.stateless.conn, e.stateless.laddr = c, c.LocalAddr()
	for _, n := range []string{"101", "102", "103", "999"} { // 999 does not exist
		e.exts.get(ctx, n) // cached, as after a phone's first request
	}
	return e, c
}

func newFastRegPair(t testing.TB) *fastRegPair {
	a, ca := newFastRegEngine(t)
	b, cb := newFastRegEngine(t)
	b.auth.key = a.auth.key
	b.auth.macs.New = func() any { return a.auth.macs.New() }
	b.auth.decoy = a.auth.decoy
	return &fastRegPair{a: a, b: b, ca: ca, cb: cb}
}

var testSource = &net.UDPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 5062}

// send gives data to both engines; it reports whether a's fast path
// answered, and both answers (nil when an engine did not answer).
//
// The fast path may answer a REGISTER that sipgo's parser refuses (for a
// header the registrar does not read, or reads no differently, being
// malformed), where the full path drops it: then b is given the fast
// path too, so that the two engines stay alike, and rb is ra.
func (p *fastRegPair) send(t testing.TB, data []byte) (fast bool, ra, rb *captured) {
	t.Helper()
	src, source := testSource, testSource.String()
	fast = p.a.stateless.fastRegister(data, src, source)
	if !fast {
		p.a.stateless.serve(statelessJob{data: data, src: src, source: source, h: p.a.stateless.register})
	}
	p.b.stateless.serve(statelessJob{data: data, src: src, source: source, h: p.b.stateless.register})
	sa, sb := p.ca.take(), p.cb.take()
	if len(sa) > 1 || len(sb) > 1 {
		t.Fatalf("more than one answer: fast path %d, full path %d\n%q", len(sa), len(sb), data)
	}
	if fast && len(sb) == 0 {
		if _, err := sip.NewParser().ParseSIP(data); err == nil {
			t.Fatalf("the fast path answered what the full path dropped:\n%q", data)
		}
		if !p.b.stateless.fastRegister(data, src, source) {
			t.Fatalf("the fast path answered once only:\n%q", data)
		}
		sb = p.cb.take()
	}
	if len(sa) == 1 {
		ra = &sa[0]
	}
	if len(sb) == 1 {
		rb = &sb[0]
	}
	return fast, ra, rb
}

var nonceRE = regexp.MustCompile(`nonce="[^"]*"`)

// normalised is a response as sipgo reads it, one "Name: value" per
// header, with the nonce, the Date and a Contact's seconds left masked
// (the two engines' clocks may straddle a second).
func normalised(t testing.TB, data []byte) []string {
	t.Helper()
	out, ok := parsedAnswer(data)
	if !ok {
		t.Fatalf("answer does not parse:\n%s", data)
	}
	return out
}

// parsedAnswer is normalised's work; ok is false if data does not parse
// as a response, and out then holds just its first line.
func parsedAnswer(data []byte) (out []string, ok bool) {
	first, _, _ := bytes.Cut(data, []byte("\r\n"))
	msg, err := sip.NewParser().ParseSIP(data)
	if err != nil {
		return []string{string(first)}, false
	}
	res, isRes := msg.(*sip.Response)
	if !isRes {
		return []string{string(first)}, false
	}
	out = []string{fmt.Sprintf("%s %d %s", res.SipVersion, res.StatusCode, res.Reason)}
	for _, h := range res.Headers() {
		v := h.Value()
		switch strings.ToLower(h.Name()) {
		case "date":
			if _, err := time.Parse(time.RFC1123, v); err != nil {
				v = "BAD " + v
			} else {
				v = "DATE"
			}
		case "www-authenticate":
			v = nonceRE.ReplaceAllString(v, `nonce="N"`)
		case "contact":
			if i := strings.LastIndex(v, ";expires="); i >= 0 {
				v = v[:i] + ";expires=S"
			}
		}
		out = append(out, h.Name()+": "+v)
	}
	return out, true
}

// same fails unless both engines answered alike and hold the same
// bindings for number.
func (p *fastRegPair) same(t testing.TB, data []byte, ra, rb *captured, number string) {
	t.Helper()
	if (ra == nil) != (rb == nil) {
		t.Fatalf("fast path answered: %v, full path answered: %v\n%q", ra != nil, rb != nil, data)
	}
	if ra != nil {
		if ra.dst != rb.dst {
			t.Fatalf("answer sent to %s, full path to %s\n%q", ra.dst, rb.dst, data)
		}
		// As sipgo reads them. An answer that does not parse echoes a
		// request sipgo read but cannot write back (such as "Via: //"):
		// then only the status lines are compared.
		na, oka := parsedAnswer(ra.data)
		nb, okb := parsedAnswer(rb.data)
		if !oka || !okb {
			na, nb = na[:1], nb[:1]
		}
		if strings.Join(na, "\n") != strings.Join(nb, "\n") {
			t.Fatalf("answers differ for\n%q\nfast path:\n%s\nfull path:\n%s", data, strings.Join(na, "\n"), strings.Join(nb, "\n"))
		}
	}
	now := time.Now()
	for n := range regTestExtensions {
		p.sameBindings(t, data, n, now)
	}
	p.sameBindings(t, data, number, now)
}

// sameBindings fails unless both engines hold the same bindings of number.
func (p *fastRegPair) sameBindings(t testing.TB, data []byte, number string, now time.Time) {
	t.Helper()
	// The engines set a binding's expiry microseconds apart: one about
	// to lapse may be gone from one of them only.
	live := func(bs []store.Registration) []store.Registration {
		return slices.DeleteFunc(bs, func(b store.Registration) bool { return b.ExpiresAt.Sub(now) < 2*time.Second })
	}
	ba, bb := live(p.a.loc.lookup(number, now)), live(p.b.loc.lookup(number, now))
	if len(ba) != len(bb) {
		t.Fatalf("%d bindings of %s, full path %d\n%q", len(ba), number, len(bb), data)
	}
	for i := range ba {
		x, y := ba[i], bb[i]
		d := x.ExpiresAt.Sub(y.ExpiresAt)
		x.ExpiresAt, y.ExpiresAt, x.UpdatedAt, y.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if x != y || d > time.Second || d < -time.Second {
			t.Fatalf("bindings differ for\n%q\nfast path: %+v\nfull path: %+v (expiry %v apart)", data, ba[i], bb[i], d)
		}
	}
}

// fill completes a REGISTER template: NONCE becomes a nonce both engines
// issued (as a's challenge would carry), LASTNONCE the one before, and RESPONSE the digest
// response the extension's password gives for the Authorization header
// as it then reads (or stays, for an unknown user).
func (p *fastRegPair) fill(tmpl string, secret string) []byte {
	s := strings.ReplaceAll(tmpl, "LASTNONCE", p.lastNonce)
	p.lastNonce = p.a.auth.nonce(time.Now())
	s = strings.ReplaceAll(s, "NONCE", p.lastNonce)
	if !strings.Contains(s, "RESPONSE") {
		return []byte(s)
	}
	var auth string
	for _, line := range strings.Split(s, "\r\n") {
		if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "authorization") {
			auth = strings.TrimSpace(v)
			break
		}
	}
	cr, ok := parseDigestCredentials(auth)
	if !ok {
		return []byte(s)
	}
	if secret == "" {
		if x, ok := regTestExtensions[cr.Username]; ok {
			secret = x.secret
		}
	}
	h := func(parts ...string) string {
		in := strings.Join(parts, ":")
		if strings.EqualFold(cr.Algorithm, AlgSHA256) {
			sum := sha256.Sum256([]byte(in))
			return hex.EncodeToString(sum[:])
		}
		sum := md5.Sum([]byte(in))
		return hex.EncodeToString(sum[:])
	}
	ha1, ha2 := h(cr.Username, cr.Realm, secret), h("REGISTER", cr.URI)
	resp := h(ha1, cr.Nonce, ha2)
	if cr.QOP != "" {
		resp = h(ha1, cr.Nonce, fmt.Sprintf("%08x", cr.Nc), cr.Cnonce, cr.QOP, ha2)
	}
	return []byte(strings.ReplaceAll(s, "RESPONSE", resp))
}

// register builds a REGISTER; extra replaces or adds header lines (a
// "Name: value" line; "Name:" alone removes the header).
func register(ext string, extra ...string) string {
	hdrs := [][2]string{
		{"Via", "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bK-" + ext + "-1;rport"},
		{"From", "<sip:" + ext + "@pbx>;tag=f" + ext},
		{"To", "<sip:" + ext + "@pbx>"},
		{"Call-ID", "reg-" + ext + "@192.0.2.10"},
		{"CSeq", "1 REGISTER"},
		{"Contact", "<sip:" + ext + "@192.0.2.10:5062;transport=udp>"},
		{"Max-Forwards", "70"},
		{"User-Agent", "Test Phone 1.0"},
		{"Expires", "600"},
		{"Content-Length", "0"},
	}
	for _, x := range extra {
		name, val, _ := strings.Cut(x, ":")
		val = strings.TrimSpace(val)
		found := false
		for i := range hdrs {
			if hdrs[i][0] == name {
				hdrs[i][1], found = val, true
			}
		}
		if !found {
			hdrs = append(hdrs[:len(hdrs)-1], [2]string{name, val}, hdrs[len(hdrs)-1])
		}
	}
	var b strings.Builder
	b.WriteString("REGISTER sip:pbx SIP/2.0\r\n")
	for _, h := range hdrs {
		if h[1] != "" {
			b.WriteString(h[0] + ": " + h[1] + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func authMD5(ext string) string {
	return `Authorization: Digest username="` + ext + `", realm="pbx", nonce="NONCE", uri="sip:pbx", response="RESPONSE", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`
}

// TestFastRegisterMatchesFullPath drives the REGISTER fast path and the
// full path (sipgo's parser and onRegister) with the same requests, each
// on its own engine: they must answer alike and keep the same bindings,
// and the fast path must take the common cases it is for.
func TestFastRegisterMatchesFullPath(t *testing.T) {
	p := newFastRegPair(t)
	cases := []struct {
		name   string
		tmpl   string
		secret string // "" = the extension's own
		number string // whose bindings to compare
		fast   bool   // the fast path must answer it
		code   int
	}{
		{"challenge", register("101"), "", "101", true, 401},
		{"register", register("101", authMD5("101")), "", "101", true, 200},
		{"refresh", register("101", "CSeq: 2 REGISTER", authMD5("101")), "", "101", true, 200},
		{"replay", register("101", "CSeq: 3 REGISTER", strings.Replace(authMD5("101"), "NONCE", "LASTNONCE", 1)), "", "101", true, 401},
		{"malformed count", register("101", "CSeq: 3 REGISTER", strings.Replace(authMD5("101"), "nc=00000001", "nc=00000000", 1)), "", "101", false, 403},
		{"wrong password", register("101", "CSeq: 4 REGISTER", authMD5("101")), "nope", "101", false, 403},
		{"second contact, contact expires", register("101", "CSeq: 5 REGISTER", "Contact: \"Desk\" <sip:101@192.0.2.11:5070>;expires=120;q=0.5", authMD5("101")), "", "101", true, 200},
		{"compact headers", strings.NewReplacer("\r\nVia:", "\r\nv:", "\r\nFrom:", "\r\nf:", "\r\nTo:", "\r\nt:",
			"\r\nCall-ID:", "\r\ni:", "\r\nContact:", "\r\nm:", "\r\nContent-Length:", "\r\nl:").Replace(
			register("101", "CSeq: 6 REGISTER", authMD5("101"))), "", "101", true, 200},
		{"no rport", register("101", "CSeq: 7 REGISTER", "Via: SIP/2.0/UDP 192.0.2.10:5099;branch=z9hG4bK-x7", authMD5("101")), "", "101", true, 200},
		{"no port", register("101", "CSeq: 8 REGISTER", "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-x8", authMD5("101")), "", "101", true, 200},
		{"to tag", register("101", "CSeq: 9 REGISTER", "To: <sip:101@pbx>;tag=abc", authMD5("101")), "", "101", true, 200},
		{"display names", register("101", "CSeq: 10 REGISTER", `From: "Desk, \"1\"" <sip:101@pbx>;tag=q`, `To: "Desk" <sip:101@pbx>`, authMD5("101")), "", "101", true, 200},
		{"remove one", register("101", "CSeq: 11 REGISTER", "Contact: <sip:101@192.0.2.11:5070>", "Expires: 0", authMD5("101")), "", "101", true, 200},
		{"too brief", register("101", "CSeq: 12 REGISTER", "Expires: 10", authMD5("101")), "", "101", false, 423},
		{"bad expires", register("101", "CSeq: 13 REGISTER", "Expires: soon", authMD5("101")), "", "101", false, 400},
		{"star", register("101", "CSeq: 14 REGISTER", "Contact: *", "Expires: 0", authMD5("101")), "", "101", false, 200},
		{"two contacts", register("101", "CSeq: 15 REGISTER", "Contact: <sip:101@192.0.2.10:5062>, <sip:101@192.0.2.12>", authMD5("101")), "", "101", false, 200},
		{"require", register("101", "CSeq: 16 REGISTER", "Require: gruu"), "", "101", false, 420},
		{"sha-256 challenge", register("102"), "", "102", true, 401},
		{"sha-256", register("102", strings.Replace(authMD5("102"), "MD5", "SHA-256", 1)), "", "102", true, 200},
		{"sha-only refuses md5", register("103", authMD5("103")), "", "103", true, 401},
		{"unknown challenge", register("999"), "", "999", true, 401},
		{"unknown with credentials", register("999", authMD5("999")), "x", "999", false, 403},
		{"foreign nonce", strings.Replace(register("101", "CSeq: 17 REGISTER", authMD5("101")), "NONCE", "bm90LW91cnM", 1), "", "101", true, 401},
		{"user mismatch", register("101", "CSeq: 18 REGISTER", authMD5("102")), "", "101", false, 403},
		{"query", register("101", "CSeq: 19 REGISTER", "Contact:", authMD5("101")), "", "101", false, 200},
		{"body", strings.Replace(register("101", "CSeq: 20 REGISTER", authMD5("101")), "Content-Length: 0", "Content-Length: 2", 1) + "hi", "", "101", false, 200},
	}
	for _, c := range cases {
		data := p.fill(c.tmpl, c.secret)
		fast, ra, rb := p.send(t, data)
		if fast != c.fast {
			t.Errorf("%s: fast path answered %v, want %v", c.name, fast, c.fast)
		}
		p.same(t, data, ra, rb, c.number)
		if rb == nil {
			t.Fatalf("%s: no answer", c.name)
		}
		if c.name == "star" {
			if got := p.a.loc.lookup("101", time.Now()); len(got) != 0 {
				t.Errorf("101 still has %d bindings after Contact: *", len(got))
			}
		}
		if code := normalised(t, rb.data)[0]; !strings.HasPrefix(code, fmt.Sprintf("SIP/2.0 %d ", c.code)) {
			t.Errorf("%s: answered %q, want %d", c.name, code, c.code)
		}
	}
	if got := p.a.loc.lookup("102", time.Now()); len(got) != 1 {
		t.Errorf("102 has %d bindings, want 1", len(got))
	}
}

// FuzzFastRegister holds the fast path to the full path for arbitrary
// REGISTERs: the input is a template (see fill), so that mutations of
// everything else still carry good credentials.
func FuzzFastRegister(f *testing.F) {
	seeds := []string{
		register("101"),
		register("101", authMD5("101")),
		register("102", strings.Replace(authMD5("102"), "MD5", "SHA-256", 1)),
		register("101", "Contact: \"Desk\" <sip:101@[2001:db8::1]:5070;transport=udp>;expires=120;+sip.instance=\"<urn:uuid:1>\"", authMD5("101")),
		register("101", "Via: SIP/2.0/UDP [2001:db8::1]:5099;branch=z9hG4bK-x7;received=1.2.3.4", "Expires: 0", authMD5("101")),
		strings.ReplaceAll(register("999", "To: <sip:999@pbx>;tag=1", authMD5("999")), "\r\nVia:", "\r\nv:"),
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	p := newFastRegPair(f)
	f.Fuzz(func(t *testing.T, tmpl []byte) {
		data := p.fill(string(tmpl), "")
		_, ra, rb := p.send(t, data)
		number := "101"
		if r, ok := scanRegister(data); ok {
			number = r.toUser
		}
		p.same(t, data, ra, rb, number)
	})
}

// BenchmarkFastRegister is one registration through the fast path, in
// process: the REGISTER without credentials (401) and the one with them
// (200), each answered into a captureConn.
func BenchmarkFastRegister(b *testing.B) {
	p := newFastRegPair(b)
	s := p.a.stateless
	first := []byte(register("101"))
	src, source := testSource, testSource.String()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		b.StopTimer() // the phone's work: a nonce, and its digest response
		second := p.fill(register("101", fmt.Sprintf("CSeq: %d REGISTER", i), authMD5("101")), "")
		b.StartTimer()
		if !s.fastRegister(first, src, source) || !s.fastRegister(second, src, source) {
			b.Fatal("not taken by the fast path")
		}
		p.ca.take()
	}
}
