package pbx

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// With the listener's kernel receive queue backed up, a new INVITE
// without credentials is answered 503 at the door; an authenticated
// INVITE and a re-INVITE pass, and once the queue drains nothing is
// refused. The queue is filled for real: datagrams sent to a socket that
// nobody reads.
func TestOverloadShedsNewCallsAtTheDoor(t *testing.T) {
	listener, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	if err := listener.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()

	e := &Engine{}
	s := newStatelessUDP(e)
	s.conn, s.laddr = listener, listener.LocalAddr()
	props := sip.TransportReadProps{Transport: "UDP", LocalAddr: s.laddr, RemoteAddr: phone.LocalAddr()}
	invite := func(n int, extra string) []byte {
		return []byte(fmt.Sprintf("INVITE sip:201@pbx SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-shed-%d;rport\r\n"+
			"From: <sip:200@pbx>;tag=f%d\r\nTo: <sip:201@pbx>%s\r\nCall-ID: shed-%d\r\nCSeq: 1 INVITE\r\n"+
			"Contact: <sip:200@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			phone.LocalAddr(), n, n, extra, n, phone.LocalAddr()))
	}

	// (Not refused does not mean not taken: a first INVITE without
	// credentials may be taken for the stateless challenge.)
	if s.take(props, invite(1, "")); s.overloaded() || e.metrics.overloadRefused.Load() != 0 {
		t.Fatal("an idle socket counts as overloaded")
	}
	// Fill the queue: 200 datagrams of 1 KB into a 64 KB buffer.
	junk := make([]byte, 1000)
	for range 200 {
		phone.WriteToUDP(junk, listener.LocalAddr().(*net.UDPAddr))
	}
	if fill, ok := receiveBacklog(listener); !ok || fill <= shedAbove {
		t.Fatalf("receive queue fill %.2f (readable %v) after flooding it, want > %.2f", fill, ok, shedAbove)
	}
	s.checkedAt.Store(0) // look again now
	if !s.take(props, invite(2, "")) {
		t.Fatal("a new INVITE was let in while the queue was backed up")
	}
	phone.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := phone.Read(buf)
	if err != nil {
		t.Fatalf("no answer to the refused INVITE: %v", err)
	}
	res := string(buf[:n])
	if !strings.HasPrefix(res, "SIP/2.0 503") || !strings.Contains(res, "Retry-After: 2") || !strings.Contains(res, "Call-ID: shed-2") {
		t.Fatalf("refused INVITE got %q, want 503 with Retry-After for its Call-ID", res)
	}
	if got := e.metrics.overloadRefused.Load(); got != 1 {
		t.Errorf("overload counter %d, want 1", got)
	}
	for _, extra := range []string{";tag=callee", "\r\nProxy-Authorization: Digest username=\"200\""} {
		if s.take(props, invite(3, extra)) {
			t.Errorf("INVITE with %q refused; only new unauthenticated calls may be", extra)
		}
	}

	// Drained: calls come in again.
	listener.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for {
		if _, err := listener.Read(buf); err != nil {
			break
		}
	}
	s.checkedAt.Store(0)
	if s.take(props, invite(4, "")); s.overloaded() || e.metrics.overloadRefused.Load() != 1 {
		t.Fatal("a new INVITE was refused after the queue drained")
	}
}
