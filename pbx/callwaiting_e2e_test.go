package pbx_test

import (
	"net/http"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

func patchExtension(t *testing.T, p *pbxtest.PBX, number string, fields map[string]any) {
	t.Helper()
	if code, body := p.Do(http.MethodPatch, "/api/v1/extensions/"+number, fields); code != http.StatusOK {
		t.Fatalf("PATCH extension %s %v: %d %s", number, fields, code, body)
	}
}

// While 101 talks to 102, a call from 103 to 102 rings 102's phone again
// (call waiting, the default); with call waiting off it is busy: 486, or
// forward.busy (104) when set. Once 102 hangs up, calls reach it again.
func TestCallWaiting(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440))
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(1000))
	c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithTone(700))
	d := phone(t, p, p.CreateExtension("104", nil), pbxtest.WithTone(1300))
	caller, callee := connect(t, a, b, "102")

	// Call waiting on: the second call rings 102's phone.
	b.SetPolicy(pbxtest.Policy{RingForever: true})
	second, err := c.Invite(ctx(t), "102")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.NextCall(ctx(t)); err != nil {
		t.Fatalf("call waiting on: 102's phone did not ring a second time: %v", err)
	}
	if err := second.WaitRinging(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := second.Cancel(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if code, err := second.WaitFinal(ctx(t)); err != nil || code != sip.StatusRequestTerminated {
		t.Fatalf("cancelled second call: %d %v, want 487", code, err)
	}
	b.SetPolicy(pbxtest.Policy{})

	// Call waiting off: busy.
	patchExtension(t, p, "102", map[string]any{"call_waiting": false})
	busy, err := c.Dial(ctx(t), "102")
	if err != nil || busy.Status() != sip.StatusBusyHere {
		t.Fatalf("call to 102 on a call without call waiting: %d %v, want 486", busy.Status(), err)
	}

	// ... and with a busy forward, the call goes there.
	patchExtension(t, p, "102", map[string]any{"forward": map[string]any{"busy": "extension:104"}})
	fwdCaller, fwdCallee := connect(t, c, d, "102")
	hearEachOther(t, fwdCaller, fwdCallee, 700, 1300)
	if err := fwdCaller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := fwdCallee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}

	// 102 hangs up: free again, the next call rings it even without call
	// waiting.
	if err := callee.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitIdle(ctx(t)); err != nil {
		t.Fatal(err)
	}
	again, againCallee := connect(t, c, b, "102")
	hearEachOther(t, again, againCallee, 700, 1000)
	if err := again.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := againCallee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	p.LastCDR(ctx(t))
	busyCDRs := 0
	for _, r := range p.CDRs(ctx(t)) {
		if r.Caller == "103" && r.Callee == "102" && r.Disposition == store.DispositionBusy && r.HangupCause == "busy" {
			busyCDRs++
		}
	}
	if busyCDRs != 1 {
		t.Errorf("%d busy CDRs from 103 to 102, want 1", busyCDRs)
	}
}
