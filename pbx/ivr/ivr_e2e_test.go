package ivr_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// Tones the test prompts and phones are made of, so what a phone hears
// tells which prompt or phone it hears.
const (
	callerTone   = 440
	calleeTone   = 1000
	greetingTone = 700
	invalidTone  = 1200
	timeoutTone  = 1500
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// menuPBX starts a PBX with phones 101 (the caller, opts), 102 and 103,
// recognisable prompts, and IVR menu 500, as change makes it from:
// key 1 to extension 102, a 20 s greeting, one retry, timeout to 103,
// invalid input hung up.
func menuPBX(t *testing.T, change func(*store.IVR), opts ...pbxtest.UAOption) (p *pbxtest.PBX, caller, b, c *pbxtest.UA) {
	t.Helper()
	p = pbxtest.Start(t)
	caller = p.Phone("101", append([]pbxtest.UAOption{pbxtest.WithTone(callerTone)}, opts...)...)
	b = p.Phone("102", pbxtest.WithTone(calleeTone))
	c = p.Phone("103", pbxtest.WithTone(calleeTone))
	p.MustUploadPrompt("menu", pbxtest.ToneWAV(greetingTone, 20))
	p.MustUploadPrompt("short-menu", pbxtest.ToneWAV(greetingTone, 1))
	p.MustUploadPrompt("bad-key", pbxtest.ToneWAV(invalidTone, 1))
	p.MustUploadPrompt("no-key", pbxtest.ToneWAV(timeoutTone, 1))
	menu := store.IVR{Number: "500", Name: "Main menu", Greeting: "menu",
		Options: map[string]string{"1": "extension:102"}, TimeoutSeconds: 2, Retries: 1,
		OnTimeout: "extension:103", OnInvalid: "hangup", InvalidPrompt: "bad-key", TimeoutPrompt: "no-key"}
	if change != nil {
		change(&menu)
	}
	postIVR(p, menu)
	return p, caller, b, c
}

// postIVR creates a menu through the REST API, as an administrator would.
func postIVR(p *pbxtest.PBX, m store.IVR) {
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/ivrs", map[string]any{
		"number": m.Number, "name": m.Name, "greeting": m.Greeting, "options": m.Options,
		"timeout_s": m.TimeoutSeconds, "retries": m.Retries, "on_timeout": m.OnTimeout, "on_invalid": m.OnInvalid,
		"direct_dial": m.DirectDial, "invalid_prompt": m.InvalidPrompt, "timeout_prompt": m.TimeoutPrompt})
}

// dialMenu calls the menu and checks the caller hears its greeting.
func dialMenu(t *testing.T, ua *pbxtest.UA, number string) *pbxtest.Call {
	t.Helper()
	call, err := ua.Dial(ctxFor(t, 10*time.Second), number)
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("dial %s: %v (status %d), want the IVR to answer", number, err, call.Status())
	}
	if err := call.WaitHeard(ctxFor(t, 5*time.Second), greetingTone, 1000); err != nil {
		t.Fatalf("the caller does not hear the greeting: %v", err)
	}
	return call
}

// wantConnected checks the caller reached callee's phone: each hears
// the other's tone.
func wantConnected(t *testing.T, caller *pbxtest.Call, callee *pbxtest.UA) *pbxtest.Call {
	t.Helper()
	in, err := callee.NextCall(ctxFor(t, 8*time.Second))
	if err != nil {
		t.Fatalf("the extension was not rung: %v", err)
	}
	if err := caller.WaitHeard(ctxFor(t, 5*time.Second), calleeTone, 1000); err != nil {
		t.Errorf("caller: %v", err)
	}
	if err := in.WaitHeard(ctxFor(t, 5*time.Second), callerTone, 1000); err != nil {
		t.Errorf("callee: %v", err)
	}
	// Half a second more: the window Heard measures holds only the call.
	if err := caller.Listen(ctxFor(t, 5*time.Second), 30); err != nil {
		t.Fatal(err)
	}
	if g := caller.Heard(greetingTone); g > caller.Heard(calleeTone)/100 {
		t.Errorf("caller still hears the greeting (%.0f) beside the callee (%.0f)", g, caller.Heard(calleeTone))
	}
	return in
}

// A caller presses 1 during the greeting, by each way phones send keys,
// and reaches extension 102 at once: the key stops the 20 s greeting
// (barge-in), or the extension would not ring in time.
func TestIVRKeyReachesExtension(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []pbxtest.UAOption
		press func(ctx context.Context, c *pbxtest.Call) error
	}{
		{"rfc4733", nil, func(ctx context.Context, c *pbxtest.Call) error { return c.SendDTMF(ctx, "1") }},
		{"sip-info", nil, func(ctx context.Context, c *pbxtest.Call) error {
			res, err := c.SendInfo(ctx, "application/dtmf-relay", []byte("Signal=1\r\nDuration=160\r\n"))
			if err == nil && res.StatusCode != sip.StatusOK {
				t.Errorf("INFO answered %d", res.StatusCode)
			}
			return err
		}},
		{"in-band", []pbxtest.UAOption{pbxtest.WithEventPT(0)}, func(ctx context.Context, c *pbxtest.Call) error {
			return c.SendInbandDTMF(ctx, "1")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, a, b, _ := menuPBX(t, nil, tc.opts...)
			call := dialMenu(t, a, "500")
			if err := tc.press(ctxFor(t, 5*time.Second), call); err != nil {
				t.Fatal(err)
			}
			in := wantConnected(t, call, b)
			if err := in.Hangup(ctxFor(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			if err := call.WaitEnded(ctxFor(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			r := p.LastCDR(ctxFor(t, 10*time.Second))
			if r.Caller != "101" || r.Callee != "102" || r.Disposition != "answered" {
				t.Errorf("CDR %s -> %s %s, want 101 -> 102 answered", r.Caller, r.Callee, r.Disposition)
			}
		})
	}
}

// With direct dial on, an extension's number dialed in the menu rings it.
func TestIVRDirectDial(t *testing.T) {
	_, a, _, c := menuPBX(t, func(m *store.IVR) { m.DirectDial = true })
	call := dialMenu(t, a, "500")
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "103"); err != nil {
		t.Fatal(err)
	}
	wantConnected(t, call, c)
}

// No key: the timeout prompt, the greeting again, and after the retries
// the menu's timeout destination (extension 103).
func TestIVRTimeout(t *testing.T) {
	_, a, _, c := menuPBX(t, func(m *store.IVR) { m.Greeting, m.TimeoutSeconds = "short-menu", 1 })
	call := dialMenu(t, a, "500")
	if err := call.WaitHeard(ctxFor(t, 6*time.Second), timeoutTone, 1000); err != nil {
		t.Fatalf("no timeout prompt: %v", err)
	}
	if err := call.WaitHeard(ctxFor(t, 6*time.Second), greetingTone, 1000); err != nil {
		t.Fatalf("the greeting is not repeated: %v", err)
	}
	wantConnected(t, call, c)
}

// A wrong key: the invalid prompt, the greeting again; a second wrong key
// exhausts the retries and the menu hangs up (on_invalid: hangup).
func TestIVRInvalid(t *testing.T) {
	p, a, b, _ := menuPBX(t, func(m *store.IVR) { m.Greeting, m.TimeoutSeconds = "short-menu", 5 })
	call := dialMenu(t, a, "500")
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "9"); err != nil {
		t.Fatal(err)
	}
	if err := call.WaitHeard(ctxFor(t, 5*time.Second), invalidTone, 1000); err != nil {
		t.Fatalf("no invalid-key prompt: %v", err)
	}
	if err := call.WaitHeard(ctxFor(t, 5*time.Second), greetingTone, 1000); err != nil {
		t.Fatalf("the greeting is not repeated: %v", err)
	}
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "8"); err != nil {
		t.Fatal(err)
	}
	if err := call.WaitEnded(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("the menu did not hang up: %v", err)
	}
	if in, err := b.NextCall(ctxFor(t, 50*time.Millisecond)); err == nil {
		t.Errorf("extension 102 was rung (%s) after wrong keys", in.From().Address.User)
	}
	r := p.LastCDR(ctxFor(t, 10*time.Second))
	if r.Callee != "500" || r.Disposition != "answered" || r.HangupCause != "hung up by IVR" {
		t.Errorf("CDR to %s %s/%q, want 500 answered/\"hung up by IVR\"", r.Callee, r.Disposition, r.HangupCause)
	}
}

// Menus nest: an option leads to another menu, whose option reaches an
// extension.
func TestIVRNestedMenu(t *testing.T) {
	p, a, _, c := menuPBX(t, nil)
	p.MustUploadPrompt("sub-menu", pbxtest.ToneWAV(timeoutTone, 20))
	sub := store.IVR{Number: "501", Name: "Sales", Greeting: "sub-menu",
		Options: map[string]string{"3": "extension:103"}, TimeoutSeconds: 5, Retries: 1, OnTimeout: "hangup", OnInvalid: "hangup"}
	postIVR(p, sub)
	p.MustDo(http.StatusOK, http.MethodPatch, "/api/v1/ivrs/500",
		map[string]any{"options": map[string]string{"1": "extension:102", "2": "ivr:501"}})
	call := dialMenu(t, a, "500")
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "2"); err != nil {
		t.Fatal(err)
	}
	if err := call.WaitHeard(ctxFor(t, 5*time.Second), timeoutTone, 1000); err != nil {
		t.Fatalf("the second menu's greeting is not heard: %v", err)
	}
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "3"); err != nil {
		t.Fatal(err)
	}
	wantConnected(t, call, c)
}

// A menu without a greeting of its own plays the built-in "welcome"
// (speech: energy, and not the test's tones); an upload named "welcome"
// replaces it from the next call on.
func TestIVRBuiltinGreetingOverridden(t *testing.T) {
	p, a, _, _ := menuPBX(t, func(m *store.IVR) { m.Number, m.Greeting = "510", "" })
	call, err := a.Dial(ctxFor(t, 10*time.Second), "510")
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("dial 510: %v", err)
	}
	// The loudest half second of its first three seconds.
	loudest := 0.0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		if err := call.Listen(ctxFor(t, 5*time.Second), 5); err != nil {
			t.Fatal(err)
		}
		if e := call.Energy(); e > loudest && call.Heard(greetingTone) < e/100 {
			loudest = e
		}
	}
	t.Logf("built-in greeting: loudest energy %.0f", loudest)
	if loudest < 1e6 {
		t.Errorf("built-in greeting: loudest energy %.0f, want speech (1e6 and up, not a 700 Hz tone)", loudest)
	}
	call.Hangup(ctxFor(t, 5*time.Second))
	p.MustUploadPrompt("welcome", pbxtest.ToneWAV(greetingTone, 5))
	dialMenu(t, a, "510") // hears the upload's 700 Hz
}
