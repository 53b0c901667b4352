package pbx_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// sendUDP sends one datagram and returns the answer, or "" if none came.
func sendUDP(t *testing.T, addr string, msg []byte) string {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

const badRegister = "REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-%s;rport\r\n" +
	"From: <sip:101@pbx>;tag=1\r\n%sCall-ID: bad-%s\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n%sContent-Length: 0\r\n\r\n"

func TestMalformedSIPGetsAnErrorOrIsDropped(t *testing.T) {
	p := pbxtest.Start(t)
	cases := []struct {
		name   string
		msg    string
		answer string // expected status line prefix; "" = dropped
	}{
		{"garbage", "\x00\x01hello there\r\n\r\n", ""},
		{"request line only", "REGISTER\r\n\r\n", ""},
		{"no To user", strings.NewReplacer("%s", "").Replace(badRegister), "SIP/2.0 400"},
		{"bad Expires", "REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-e;rport\r\nFrom: <sip:101@pbx>;tag=1\r\nTo: <sip:101@pbx>\r\nCall-ID: e\r\nCSeq: 1 REGISTER\r\nExpires: soon\r\nContent-Length: 0\r\n\r\n", "SIP/2.0 401"},
		{"unsupported Require", "OPTIONS sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-r;rport\r\nFrom: <sip:a@pbx>;tag=1\r\nTo: <sip:pbx>\r\nCall-ID: r\r\nCSeq: 1 OPTIONS\r\nRequire: teleportation\r\nContent-Length: 0\r\n\r\n", "SIP/2.0 420"},
		{"unknown method", "FROBNICATE sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-f;rport\r\nFrom: <sip:a@pbx>;tag=1\r\nTo: <sip:pbx>\r\nCall-ID: f\r\nCSeq: 1 FROBNICATE\r\nContent-Length: 0\r\n\r\n", "SIP/2.0 405"},
		{"content length lies", "OPTIONS sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-l;rport\r\nFrom: <sip:a@pbx>;tag=1\r\nTo: <sip:pbx>\r\nCall-ID: l\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9999\r\n\r\nshort", ""},
		{"oversized datagram", "OPTIONS sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-o;rport\r\nX-Pad: " + strings.Repeat("a", 60000) + "\r\nContent-Length: 0\r\n\r\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := sendUDP(t, p.SIPAddr, []byte(tc.msg))
			if tc.answer == "" && got != "" && !strings.HasPrefix(got, "SIP/2.0 4") {
				t.Fatalf("want no answer or a 4xx, got %q", firstLine(got))
			}
			if tc.answer != "" && !strings.HasPrefix(got, tc.answer) {
				t.Fatalf("want %q, got %q", tc.answer, firstLine(got))
			}
		})
	}
	// After all that the PBX still answers.
	ua := p.NewUA("101", "x")
	expect(t, 200)(ua.Options(ctx(t)))
}

func TestOversizedTCPMessageClosesOnlyThatConnection(t *testing.T) {
	p := pbxtest.Start(t)
	c, err := net.Dial("tcp", p.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	huge := "OPTIONS sip:pbx SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-h\r\nX-Pad: " +
		strings.Repeat("b", 200000) + "\r\nContent-Length: 0\r\n\r\n"
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(huge)) // may fail part-way once the PBX hangs up: that is the point
	line, _ := bufio.NewReader(c).ReadString('\n')
	if strings.HasPrefix(line, "SIP/2.0 2") {
		t.Fatalf("oversized message accepted: %q", line)
	}
	ua := p.NewUA("101", "x", pbxtest.WithTransport("tcp"))
	expect(t, 200)(ua.Options(ctx(t)))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}
