package pbx_test

import (
	"net/http"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// ringing has from call number, whose phone rings without answering,
// and returns the caller's call once the callee's phone rings.
func ringing(t *testing.T, from, to *pbxtest.UA, number string) (caller, callee *pbxtest.Call) {
	t.Helper()
	to.SetPolicy(pbxtest.Policy{RingForever: true})
	caller, err := from.Invite(ctx(t), number)
	if err != nil {
		t.Fatal(err)
	}
	if callee, err = to.NextCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitRinging(ctx(t)); err != nil {
		t.Fatal(err)
	}
	return caller, callee
}

// *8 answers the call ringing another extension, **NNN the one ringing
// extension NNN; the picking phone and the caller hear each other, the
// ringing phone is cancelled, and a pickup with nothing to pick up is 404.
func TestCallPickup(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440))
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(1000))
	c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithTone(700))
	p.CreateExtension("104", nil)

	if res, err := c.Dial(ctx(t), "*8"); err != nil || res.Status() != sip.StatusNotFound {
		t.Fatalf("*8 with nothing ringing: %d %v, want 404", res.Status(), err)
	}

	// *8 stays within the picker's pickup group; **NNN does not.
	code, out := p.Do(http.MethodPatch, "/api/v1/extensions/103", map[string]any{"pickup_group": "sales"})
	if code != http.StatusOK {
		t.Fatalf("PATCH pickup_group: %d %s", code, out)
	}
	caller, rung := ringing(t, a, b, "102")
	if res, err := c.Dial(ctx(t), "*8"); err != nil || res.Status() != sip.StatusNotFound {
		t.Fatalf("*8 from another pickup group: %d %v, want 404", res.Status(), err)
	}
	if err := caller.Cancel(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := rung.WaitCancelled(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if code, out := p.Do(http.MethodPatch, "/api/v1/extensions/102", map[string]any{"pickup_group": "sales"}); code != http.StatusOK {
		t.Fatalf("PATCH pickup_group: %d %s", code, out)
	}

	for _, code := range []string{"*8", "**102"} {
		caller, rung := ringing(t, a, b, "102")
		if code == "**102" {
			if res, err := c.Dial(ctx(t), "**104"); err != nil || res.Status() != sip.StatusNotFound {
				t.Fatalf("**104 while 102 rings: %d %v, want 404", res.Status(), err)
			}
		}
		picker := dialOK(t, c, code)
		if st, err := caller.WaitFinal(ctx(t)); err != nil || st != sip.StatusOK {
			t.Fatalf("%s: caller got %d %v, want 200", code, st, err)
		}
		if err := rung.WaitCancelled(ctx(t)); err != nil {
			t.Fatalf("%s: ringing phone not cancelled: %v", code, err)
		}
		hearEachOther(t, caller, picker, 440, 700)
		if err := picker.Hangup(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if err := caller.WaitEnded(ctx(t)); err != nil {
			t.Fatalf("%s: caller not hung up: %v", code, err)
		}
		cdr := wantCDR(t, p, store.DispositionAnswered, "callee hung up")
		if cdr.Callee != "102" {
			t.Errorf("%s: CDR callee %q, want the number dialed", code, cdr.Callee)
		}
	}
}

// Forward on busy and on no answer: a busy extension's calls go to its
// busy forward, an unanswered one's to its no-answer forward after its
// ring time, an unregistered one's to its no-answer forward at once.
func TestCallForwardBusyAndNoAnswer(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440))
	c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithTone(700))
	b := phone(t, p, p.CreateExtension("102", map[string]any{"ring_seconds": 5,
		"forward": map[string]any{"busy": "extension:103", "no_answer": "extension:103"}}), pbxtest.WithTone(1000))

	for _, pol := range []pbxtest.Policy{{Reject: sip.StatusBusyHere}, {RingForever: true}} {
		b.SetPolicy(pol)
		caller := dialOK(t, a, "102")
		if _, err := b.NextCall(ctx(t)); err != nil {
			t.Fatal(err)
		}
		callee, err := c.NextCall(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		hearEachOther(t, caller, callee, 440, 700)
		if err := caller.Hangup(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if err := callee.WaitEnded(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Unregister(ctx(t)); err != nil {
		t.Fatal(err)
	}
	caller, callee := connect(t, a, c, "102")
	hearEachOther(t, caller, callee, 440, 700)
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
}
