package pbx_test

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// TestSippOneBox is issue 14's load at a size CI carries: every callee
// registers from one sipp, on one address and port, which then answers
// all their calls there (180, then 200 retransmitted until ACKed), while
// callers' sipp places the calls at once, each streaming PCMU both ways
// through the relay during set-up and talk. Every call must be answered
// and hung up cleanly: the shape that once left 200 OKs unACKed while
// callers gave up (CANCEL, 487). bench/onebox.sh is the same at 200-500.
func TestSippOneBox(t *testing.T) {
	const calls = 20
	p := pbxtest.Start(t)
	var callees, callers []string
	for i := 1; i <= calls; i++ {
		ce := p.CreateExtension(strconv.Itoa(300+i), nil)
		cr := p.CreateExtension(strconv.Itoa(400+i), nil)
		callees = append(callees, fmt.Sprintf("%s;[authentication username=%s password=%s]", ce.Number, ce.Number, ce.Secret))
		callers = append(callers, fmt.Sprintf("%s;%s;[authentication username=%s password=%s]", cr.Number, ce.Number, cr.Number, cr.Secret))
	}
	// A free UDP port for the one box (sipp binds it itself).
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.LocalAddr().(*net.UDPAddr).Port)
	l.Close()

	if code, out := startSippLines(t, p, "register_auth.xml", callees, nil,
		"-m", strconv.Itoa(calls), "-r", "50", "-p", port, "-timeout", "20s").wait(t); code != 0 {
		t.Fatalf("callees' REGISTERs failed (exit %d):\n%s", code, out)
	}
	pbxtest.WaitFor(t, "every callee registered", func() bool { return len(p.App.Engine.Registrations()) == calls })

	tone := map[string][]byte{"tone.ulaw": ulawTone(sippTone)}
	// sipp's media ports are fixed (it cannot skip a taken one): below
	// the kernel's ephemeral range (32768 up), where any socket bound to
	// port 0 may land, and apart from the RTP ranges other packages' tests
	// give their PBXs (cmd/pbx: 30000-30100, 30200-30400; the engine's
	// default: 10000-20000).
	box := startSippLines(t, p, "call_uas_rtp.xml", []string{"x"}, tone, "-p", port, "-mp", "31600")
	t.Cleanup(func() { box.cmd.Process.Kill() })
	uac := startSippLines(t, p, "call_uac_rtp.xml", callers, tone,
		"-m", strconv.Itoa(calls), "-l", strconv.Itoa(calls), "-r", "20", "-d", "3000", "-p", "0", "-mp", "31000",
		"-timeout", "60s")
	if code, out := uac.waitUpTo(t, 90*time.Second); code != 0 {
		t.Fatalf("callers' sipp: not every call succeeded (exit %d):\n%s", code, out)
	}
	if err := p.WaitIdle(ctx(t)); err != nil {
		t.Fatal(err)
	}
	answered := 0
	var packets, lost int64
	for _, c := range p.CDRs(ctx(t)) {
		if c.Disposition == store.DispositionAnswered && c.HangupCause == "caller hung up" {
			answered++
		} else {
			t.Errorf("call %s -> %s: %s, %s", c.Caller, c.Callee, c.Disposition, c.HangupCause)
		}
		packets, lost = packets+c.RTPPackets, lost+c.RTPLost
	}
	if answered != calls {
		t.Errorf("%d of %d calls answered and hung up by the caller", answered, calls)
	}
	if packets == 0 || lost*1000 > packets {
		t.Errorf("RTP: %d packets, %d lost (want < 0.1%%)", packets, lost)
	}
}
