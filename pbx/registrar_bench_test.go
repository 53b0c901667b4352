package pbx_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

var nonceRe = regexp.MustCompile(`nonce="([^"]+)"`)

// BenchmarkAuthenticatedRegister measures one full authenticated
// registration (REGISTER, 401, REGISTER with MD5 digest, 200) over loopback
// UDP against the whole PBX, from a bare-bones client.
func BenchmarkAuthenticatedRegister(b *testing.B) {
	p := pbxtest.Start(b)
	const users = 50
	secrets := make([]string, users)
	for i := range secrets {
		secrets[i] = p.CreateExtension(strconv.Itoa(5000+i), nil).Secret
	}
	conn, err := net.Dial("udp", p.SIPAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	buf := make([]byte, 4096)
	exchange := func(msg string) string {
		if _, err := conn.Write([]byte(msg)); err != nil {
			b.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			b.Fatal(err)
		}
		return string(buf[:n])
	}
	h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		user := strconv.Itoa(5000 + i%users)
		base := func(cseq int, branch, extra string) string {
			return fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%d-%s;rport\r\n"+
				"From: <sip:%s@pbx>;tag=%d\r\nTo: <sip:%s@pbx>\r\nCall-ID: bench-%d\r\nCSeq: %d REGISTER\r\n"+
				"Contact: <sip:%s@%s>\r\nMax-Forwards: 70\r\nExpires: 3600\r\n%sContent-Length: 0\r\n\r\n",
				p.SIPAddr, local, i, branch, user, i, user, i, cseq, user, local, extra)
		}
		res := exchange(base(1, "a", ""))
		m := nonceRe.FindStringSubmatch(res)
		if m == nil {
			b.Fatalf("no challenge: %s", res)
		}
		uri := "sip:" + p.SIPAddr
		resp := h(h(user+":pbx:"+secrets[i%users]) + ":" + m[1] + ":00000001:abc:auth:" + h("REGISTER:"+uri))
		auth := fmt.Sprintf("Authorization: Digest username=\"%s\", realm=\"pbx\", nonce=\"%s\", uri=\"%s\", "+
			"response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"abc\"\r\n", user, m[1], uri, resp)
		if res := exchange(base(2, "b", auth)); res[:11] != "SIP/2.0 200" {
			b.Fatalf("not registered: %s", res)
		}
	}
}
