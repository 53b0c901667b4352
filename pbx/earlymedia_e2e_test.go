package pbx_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// A callee's phone that answers 183 with SDP is heard by the caller
// before the answer (early media through the relay); the 200 repeats the
// PBX's early SDP, and the call goes on with two-way audio.
func TestCallEarlyMedia(t *testing.T) {
	p, a, b := twoPhones(t)
	b.SetPolicy(pbxtest.Policy{EarlyMedia: true, RingFor: 3 * time.Second})
	caller, err := a.Invite(ctx(t), "102")
	if err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitAudio(ctx(t), 30); err != nil {
		t.Fatalf("no early media: %v", err)
	}
	if caller.Status() != 0 {
		t.Fatalf("audio came only after the answer (status %d)", caller.Status())
	}
	if w, o := caller.Heard(1000), caller.Heard(440); w < 1000 || w < 100*o {
		t.Errorf("early media: %.0f at the callee's 1000 Hz, %.0f at 440 Hz", w, o)
	}
	early := caller.EarlySDP()
	if code, err := caller.WaitFinal(ctx(t)); err != nil || code != sip.StatusOK {
		t.Fatalf("final %d %v", code, err)
	}
	if string(caller.Response().Body()) != string(early) {
		t.Errorf("200 SDP differs from the 183's:\n%s\n%s", caller.Response().Body(), early)
	}
	callee, err := b.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	listen(t, caller, callee)
	hearEachOther(t, caller, callee, 440, 1000)
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionAnswered, "caller hung up")
}

// Early media then CANCEL: the relay started for early media is closed
// and its ports freed.
func TestCallEarlyMediaCancelled(t *testing.T) {
	p, a, b := twoPhones(t)
	b.SetPolicy(pbxtest.Policy{EarlyMedia: true, RingForever: true})
	caller, err := a.Invite(ctx(t), "102")
	if err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitAudio(ctx(t), 10); err != nil {
		t.Fatalf("no early media: %v", err)
	}
	if err := caller.Cancel(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if code, _ := caller.WaitFinal(ctx(t)); code != sip.StatusRequestTerminated {
		t.Fatalf("final %d, want 487", code)
	}
	wantCDR(t, p, store.DispositionNoAnswer, "cancelled")
}
