package pbx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// RFC 4733 key presses cross the relay both ways: each side gets each key
// once, with the event payload type it negotiated (the caller offers 96,
// the PBX offers the callee 101), so the relay rewrites it.
func TestCallDTMFRelayed(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithEventPT(96))
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(1000))
	caller, callee := connect(t, a, b, "102")
	if err := caller.WaitAudio(ctx(t), 5); err != nil {
		t.Fatal(err)
	}
	if err := caller.SendDTMF(ctx(t), "1234#"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	got, err := callee.WaitDigits(ctx(t), 5)
	if err != nil {
		t.Fatal(err)
	}
	if got != "1234#" {
		t.Errorf("callee received %q, want %q", got, "1234#")
	}
	if err := callee.SendDTMF(ctx(t), "9*"); err != nil {
		t.Fatalf("SendDTMF from the callee: %v", err)
	}
	if got, err := caller.WaitDigits(ctx(t), 2); err != nil || got != "9*" {
		t.Errorf("caller received %q (%v), want \"9*\"", got, err)
	}
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := callee.ReceivedDigits(); got != "1234#" {
		t.Errorf("callee has %q after the call, want each key once", got)
	}
}

// The PBX reports the keys it detected on the live call.
func TestCallDTMFDetectedByPBX(t *testing.T) {
	p, a, b := twoPhones(t)
	caller, callee := connect(t, a, b, "102")
	if err := caller.SendDTMF(ctx(t), "1234#"); err != nil {
		t.Fatal(err)
	}
	if _, err := callee.WaitDigits(ctx(t), 5); err != nil {
		t.Fatal(err)
	}
	// The relay detects a key before it forwards its end packet, so the
	// PBX has it by the time the callee does.
	calls := p.App.Engine.Calls()
	if len(calls) != 1 || calls[0].CallerDigits != "1234#" || calls[0].CalleeDigits != "" {
		t.Fatalf("calls %+v, want one with caller digits 1234#", calls)
	}
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionAnswered, "caller hung up")
}

// SIP INFO DTMF is accepted inside a call and recorded for the side that
// sent it; other INFO content keeps its 501.
func TestCallInfoDTMF(t *testing.T) {
	p, a, b := twoPhones(t)
	caller, callee := connect(t, a, b, "102")
	for _, tc := range []struct {
		call        *pbxtest.Call
		contentType string
		body        string
		want        int
	}{
		{caller, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", sip.StatusOK},
		{caller, "application/dtmf-relay", "Signal=#\r\nDuration=100\r\n", sip.StatusOK},
		{caller, "application/dtmf", "7", sip.StatusOK},
		{callee, "application/dtmf-relay", "Signal=11\r\nDuration=160\r\n", sip.StatusOK},
		// Other INFO goes to the other phone, whose answer comes back.
		{caller, "application/media_control+xml", "<media_control/>", sip.StatusOK},
		{caller, "application/dtmf-relay", "Signal=Z\r\n", sip.StatusOK},
	} {
		res, err := tc.call.SendInfo(ctx(t), tc.contentType, []byte(tc.body))
		if err != nil {
			t.Fatalf("INFO %s %q: %v", tc.contentType, tc.body, err)
		}
		if res.StatusCode != tc.want {
			t.Errorf("INFO %s %q answered %d, want %d", tc.contentType, tc.body, res.StatusCode, tc.want)
		}
	}
	calls := p.App.Engine.Calls()
	if len(calls) != 1 || calls[0].CallerDigits != "5#7" || calls[0].CalleeDigits != "#" {
		t.Errorf("calls %+v, want caller digits 5#7 and callee digits #", calls)
	}
	// The keys reach the other phone as RFC 4733 events.
	if got, err := callee.WaitDigits(ctx(t), 3); err != nil || got != "5#7" {
		t.Errorf("callee received digits %q (%v), want 5#7", got, err)
	}
	if got, err := caller.WaitDigits(ctx(t), 1); err != nil || got != "#" {
		t.Errorf("caller received digits %q (%v), want #", got, err)
	}
	if got := callee.Infos(); len(got) != 2 || got[0] != "<media_control/>" {
		t.Errorf("callee received INFO bodies %q, want the two that were not DTMF", got)
	}
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// Keys sent by SIP INFO, each after the answer to the one before (as a
// phone sends them), reach the other phone in the order pressed. They were
// queued for the other phone after the 200, so under load a key's INFO
// could overtake the one before it.
func TestCallInfoDTMFKeepsOrder(t *testing.T) {
	p, a, b := twoPhones(t)
	caller, callee := connect(t, a, b, "102")
	const keys = "1234567890*#ABCD"
	for i := range 3 {
		for _, k := range keys {
			res, err := caller.SendInfo(ctx(t), "application/dtmf-relay", []byte("Signal="+string(k)+"\r\nDuration=40\r\n"))
			if err != nil || res.StatusCode != sip.StatusOK {
				t.Fatalf("round %d, INFO %c: %v %v", i, k, res, err)
			}
		}
	}
	want := strings.Repeat(keys, 3)
	// 160 ms of tone and gap per key.
	if got, err := callee.WaitDigits(ctxFor(t, 30*time.Second), len(want)); err != nil || got != want {
		t.Errorf("callee received %q (%v), want %q", got, err, want)
	}
	if calls := p.App.Engine.Calls(); len(calls) != 1 || calls[0].CallerDigits != want {
		t.Errorf("calls %+v, want caller digits %s", calls, want)
	}
	hangUp(t, caller, callee)
}
