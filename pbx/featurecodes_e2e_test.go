package pbx_test

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// featureCode dials code from ua, which hears a tone and is hung up on;
// it reports the power of the confirmation tone's 440 Hz and the error
// tone's 1400 Hz in what it heard.
func featureCode(t *testing.T, ua *pbxtest.UA, code string) (confirm, errTone float64) {
	t.Helper()
	c := dialOK(t, ua, code)
	if err := c.WaitEnded(ctx(t)); err != nil {
		t.Fatalf("%s: %v", code, err)
	}
	if !c.EndedByRemote() {
		t.Errorf("%s: the PBX did not hang up", code)
	}
	return c.Heard(440), c.Heard(1400)
}

func extension(t *testing.T, p *pbxtest.PBX, number string) store.Extension {
	t.Helper()
	ext, err := p.App.Store.GetExtension(ctx(t), number)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// *78/*79 set do-not-disturb, *72NUMBER/*73 forward all calls; each
// answers with a confirmation tone, a refused one with an error tone, and
// calls route as the settings say.
func TestFeatureCodesForwardAndDND(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440))
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(1000))
	c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithTone(700))

	if ok, bad := featureCode(t, a, "*78"); ok < 1000 || bad > ok/100 {
		t.Errorf("*78: confirmation tone %.0f, error tone %.0f", ok, bad)
	}
	if !extension(t, p, "101").DND {
		t.Fatal("*78 did not set do-not-disturb")
	}
	res, err := b.Dial(ctx(t), "101")
	if err != nil || res.Status() != sip.StatusBusyHere {
		t.Fatalf("call to a DND extension: %d %v, want 486", res.Status(), err)
	}
	wantCDRFrom(t, p, "102", store.DispositionBusy, "do not disturb")

	featureCode(t, a, "*79")
	if extension(t, p, "101").DND {
		t.Fatal("*79 did not clear do-not-disturb")
	}

	featureCode(t, a, "*72102")
	if f := extension(t, p, "101").Forward.Always; f != "extension:102" {
		t.Fatalf("*72102 set forward %q", f)
	}
	// 103 calls 101 and reaches 102.
	caller, callee := connect(t, c, b, "101")
	hearEachOther(t, caller, callee, 700, 1000)
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}

	if ok, bad := featureCode(t, a, "*72999"); bad < 1000 || ok > bad/100 {
		t.Errorf("*72 to a missing extension: confirmation %.0f, error tone %.0f", ok, bad)
	}
	if f := extension(t, p, "101").Forward.Always; f != "extension:102" {
		t.Errorf("a refused *72 changed forward to %q", f)
	}
	featureCode(t, a, "*73")
	if f := extension(t, p, "101").Forward.Always; f != "" {
		t.Errorf("*73 left forward %q", f)
	}
	wantCDRFrom(t, p, "101", store.DispositionAnswered, "feature code done")
}

// wantCDRFrom checks the newest call record of caller, once the PBX is
// idle (a feature-code call hung up just before may write its record
// after the next call's).
func wantCDRFrom(t *testing.T, p *pbxtest.PBX, caller, disposition, cause string) {
	t.Helper()
	c := p.LastCDR(ctx(t))
	for _, r := range p.CDRs(ctx(t)) {
		if r.Caller == caller {
			c = r
			break
		}
	}
	if c.Caller != caller || c.Disposition != disposition || c.HangupCause != cause {
		t.Errorf("CDR %s %s/%q, want %s %s/%q", c.Caller, c.Disposition, c.HangupCause, caller, disposition, cause)
	}
}
