package pbx_test

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// Dialing *43 answers and sends the caller's own audio back.
func TestEchoTest(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440), pbxtest.WithCodecs(pbxtest.PCMA))
	c := dialOK(t, a, "*43")
	if err := c.WaitAudio(ctx(t), 40); err != nil {
		t.Fatalf("no audio back: %v", err)
	}
	own, other := c.Heard(440), c.Heard(1000)
	t.Logf("heard %.0f at 440 Hz (its own tone), %.0f at 1000 Hz", own, other)
	if own < 1000 || own < 100*other {
		t.Errorf("caller hears %.0f at its own 440 Hz and %.0f at 1000 Hz: want its own tone back", own, other)
	}
	if err := c.SendDTMF(ctx(t), "5"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.WaitDigits(ctx(t), 1); err != nil || got != "5" {
		t.Errorf("key echoed as %q (%v), want 5", got, err)
	}
	// A re-INVITE to the echo is refused with 488 and the echo goes on.
	res, err := c.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusNotAcceptableHere)
	if err := c.Listen(ctx(t), 30); err != nil || c.Heard(440) < 1000 {
		t.Errorf("echo stopped after a refused re-INVITE (%v)", err)
	}
	if err := c.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	r := wantCDR(t, p, store.DispositionAnswered, "caller hung up")
	if r.Callee != "*43" || r.AnsweredAt.IsZero() || r.RTPPackets == 0 {
		t.Errorf("CDR callee %q answered %v packets %d, want *43 answered with RTP", r.Callee, r.AnsweredAt, r.RTPPackets)
	}
}
