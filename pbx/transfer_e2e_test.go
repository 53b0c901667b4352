package pbx_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// threePhones starts a PBX with extensions 101 (440 Hz), 102 (1000 Hz)
// and 103 (700 Hz) registered.
func threePhones(t *testing.T) (*pbxtest.PBX, *pbxtest.UA, *pbxtest.UA, *pbxtest.UA) {
	t.Helper()
	p, a, b := twoPhones(t)
	c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithTone(700))
	return p, a, b, c
}

// talking checks, on fresh audio, that two phones hear each other.
func talking(t *testing.T, x, y *pbxtest.Call, xTone, yTone float64) {
	t.Helper()
	listen(t, x, y)
	hearEachOther(t, x, y, xTone, yTone)
}

// wantReferNotifies reads the transfer NOTIFYs of c up to the final one
// and checks its status line.
func wantReferNotifies(t *testing.T, c *pbxtest.Call, final string) {
	t.Helper()
	for i := 0; ; i++ {
		n, err := c.WaitReferNotify(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("NOTIFY %q %s", n.Status, n.State)
		if n.Event != "refer" {
			t.Errorf("NOTIFY Event %q, want refer", n.Event)
		}
		if i == 0 && n.Status != "SIP/2.0 100 Trying" {
			t.Errorf("first NOTIFY %q, want 100 Trying", n.Status)
		}
		if n.State == "terminated" {
			if n.Status != final {
				t.Errorf("final NOTIFY %q, want %q", n.Status, final)
			}
			return
		}
	}
}

// wantLiveCall checks that the calls API shows one call, from the phone
// that stayed to the one that came, with a leg for each.
func wantLiveCall(t *testing.T, p *pbxtest.PBX, from, to string) {
	t.Helper()
	code, body := p.Do(http.MethodGet, "/api/v1/calls", nil)
	var calls struct {
		Items []struct {
			From, To string
			Legs     []struct{ Role, Number string }
		}
	}
	if code != http.StatusOK || json.Unmarshal(body, &calls) != nil || len(calls.Items) != 1 {
		t.Fatalf("GET /calls: %d %s", code, body)
	}
	c := calls.Items[0]
	if c.From != from || c.To != to || len(c.Legs) != 2 || c.Legs[0].Role != "caller" || c.Legs[0].Number != from ||
		c.Legs[1].Role != "callee" || c.Legs[1].Number != to {
		t.Errorf("live call after transfer %s, want from %s to %s", body, from, to)
	}
}

// Blind transfer, by either party: the transferor holds the call and
// REFERs it to 103; the PBX answers 202, reports progress by NOTIFY,
// connects the other party to 103 and hangs up the transferor; the other
// party's hold ends. Two call records result.
func TestBlindTransfer(t *testing.T) {
	for _, tc := range []struct {
		name         string
		calleeRefers bool
	}{{"callee transfers", true}, {"caller transfers", false}} {
		t.Run(tc.name, func(t *testing.T) {
			p, a, b, c := threePhones(t)
			caller, callee := connect(t, a, b, "102")
			transferor, transferee, transfereeTone := callee, caller, 440.0
			if !tc.calleeRefers {
				transferor, transferee, transfereeTone = caller, callee, 1000
			}
			res, err := transferor.Hold(ctx(t))
			mustCode(t, res, err, sip.StatusOK)
			if d, err := transferee.WaitOffered(ctx(t), 1); err != nil || d != pbxtest.SendOnly {
				t.Fatalf("held phone offered %q (%v)", d, err)
			}

			res, err = transferor.Refer(ctx(t), "103")
			mustCode(t, res, err, sip.StatusAccepted)
			target, err := c.NextCall(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if from := target.From(); from.Address.User != transferee.Invite.From().Address.User && tc.calleeRefers {
				t.Errorf("transfer target sees caller ID %q, want the transferee", from.Address.User)
			}
			wantReferNotifies(t, transferor, "SIP/2.0 200 OK")
			if err := transferor.WaitEnded(ctx(t)); err != nil {
				t.Fatalf("transferor not hung up: %v", err)
			}
			if d, err := transferee.WaitOffered(ctx(t), 2); err != nil || d != pbxtest.SendRecv {
				t.Fatalf("transferee's hold not ended: offered %q (%v)", d, err)
			}
			talking(t, transferee, target, transfereeTone, 700)
			wantFrom := transferee.Invite.From().Address.User
			if !transferee.Outgoing {
				wantFrom = transferee.Invite.To().Address.User
			}
			wantLiveCall(t, p, wantFrom, "103")

			if err := target.Hangup(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if err := transferee.WaitEnded(ctx(t)); err != nil {
				t.Fatal(err)
			}
			p.LastCDR(ctx(t)) // waits for the PBX to be idle, ports freed
			cdrs := p.CDRs(ctx(t))
			if len(cdrs) != 2 {
				t.Fatalf("%d call records, want 2: %+v", len(cdrs), cdrs)
			}
			second, first := cdrs[0], cdrs[1]
			if first.Caller != "101" || first.Callee != "102" || first.HangupCause != "transferred" ||
				first.Disposition != store.DispositionAnswered {
				t.Errorf("first record %+v, want 101 to 102, answered, transferred", first)
			}
			if second.Caller != wantFrom || second.Callee != "103" || second.Disposition != store.DispositionAnswered ||
				second.RTPPackets == 0 || second.CallID != first.CallID {
				t.Errorf("second record %+v, want %s to 103, answered, same call", second, wantFrom)
			}
		})
	}
}

// A blind transfer to a busy phone fails: the final NOTIFY says 486, the
// transferor still has the call and, resuming it, talks to the other
// party again.
func TestBlindTransferFailsBackToTransferor(t *testing.T) {
	_, a, b, c := threePhones(t)
	c.SetPolicy(pbxtest.Policy{Reject: sip.StatusBusyHere})
	caller, callee := connect(t, a, b, "102")
	res, err := callee.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	res, err = callee.Refer(ctx(t), "103")
	mustCode(t, res, err, sip.StatusAccepted)
	wantReferNotifies(t, callee, "SIP/2.0 486 Busy Here")
	listen(t, caller)
	hearsMusic(t, caller, 1000)
	res, err = callee.Resume(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	talking(t, caller, callee, 440, 1000)
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// A transferor that hangs up at once (as many phones do after 202) and
// whose target does not answer gets the call back: the PBX rings it with
// the transferee's caller ID.
func TestBlindTransferRecallsTransferor(t *testing.T) {
	p, a, b := twoPhones(t)
	c := phone(t, p, p.CreateExtension("103", map[string]any{"ring_seconds": 5}), pbxtest.WithTone(700))
	c.SetPolicy(pbxtest.Policy{RingForever: true})
	caller, callee := connect(t, a, b, "102")
	res, err := callee.Refer(ctx(t), "103")
	mustCode(t, res, err, sip.StatusAccepted)
	if err := callee.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rung, err := c.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := rung.WaitCancelled(ctx(t)); err != nil {
		t.Fatalf("target not cancelled after its ring time: %v", err)
	}
	back, err := b.NextCall(ctx(t))
	if err != nil {
		t.Fatalf("transferor not called back: %v", err)
	}
	if from := back.From().Address.User; from != "101" {
		t.Errorf("recall shows caller ID %q, want the transferee 101", from)
	}
	talking(t, caller, back, 440, 1000)
	if err := back.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// Attended transfer: 102 holds its call with 101, calls 103, then REFERs
// the first call with Replaces naming the second. 101 and 103 then talk,
// and both of 102's dialogs are hung up.
func TestAttendedTransfer(t *testing.T) {
	_, a, b, c := threePhones(t)
	caller, first := connect(t, a, b, "102")
	res, err := first.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	second, target := connect(t, b, c, "103")
	talking(t, second, target, 1000, 700)

	res, err = first.ReferReplaces(ctx(t), second)
	mustCode(t, res, err, sip.StatusAccepted)
	wantReferNotifies(t, first, "SIP/2.0 200 OK")
	for _, d := range []*pbxtest.Call{first, second} {
		if err := d.WaitEnded(ctx(t)); err != nil {
			t.Fatalf("transferor's dialog not hung up: %v", err)
		}
	}
	if d, err := caller.WaitOffered(ctx(t), 2); err != nil || d != pbxtest.SendRecv {
		t.Fatalf("transferee's hold not ended: offered %q (%v)", d, err)
	}
	talking(t, caller, target, 440, 700)
	if err := target.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// Attended transfer before the target answers: 102 REFERs its first call
// with Replaces naming its second while that still rings. The second
// call ends and the target is rung for the transferee, who talks to it
// once it answers.
func TestAttendedTransferWhileRinging(t *testing.T) {
	_, a, b, c := threePhones(t)
	caller, first := connect(t, a, b, "102")
	res, err := first.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	second, rung := ringing(t, b, c, "103")

	c.SetPolicy(pbxtest.Policy{}) // the target answers its next ringing
	res, err = first.ReferReplaces(ctx(t), second)
	mustCode(t, res, err, sip.StatusAccepted)
	if err := rung.WaitCancelled(ctx(t)); err != nil {
		t.Fatalf("the transferor's ringing call was not cancelled: %v", err)
	}
	if st, err := second.WaitFinal(ctx(t)); err != nil || st == sip.StatusOK {
		t.Fatalf("the transferor's second call ended with %d %v, want a failure", st, err)
	}
	target, err := c.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if from := target.From().Address.User; from != "101" {
		t.Errorf("target sees caller ID %q, want the transferee 101", from)
	}
	wantReferNotifies(t, first, "SIP/2.0 200 OK")
	if err := first.WaitEnded(ctx(t)); err != nil {
		t.Fatalf("transferor not hung up: %v", err)
	}
	talking(t, caller, target, 440, 700)
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := target.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// INVITE with Replaces: a phone naming the dialog of an answered call
// takes that phone's place (which is hung up); naming a ringing one picks
// the call up.
func TestInviteWithReplaces(t *testing.T) {
	_, a, b, c := threePhones(t)
	caller, callee := connect(t, a, b, "102")
	taker := dialOK(t, c, "102", pbxtest.WithHeader("Replaces", callee.ReplacesID()))
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatalf("replaced phone not hung up: %v", err)
	}
	talking(t, caller, taker, 440, 700)
	if err := taker.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}

	caller, rung := ringing(t, a, b, "102")
	picker := dialOK(t, c, "102", pbxtest.WithHeader("Replaces", rung.ReplacesID()))
	if err := rung.WaitCancelled(ctx(t)); err != nil {
		t.Fatalf("ringing phone not cancelled: %v", err)
	}
	if st, err := caller.WaitFinal(ctx(t)); err != nil || st != sip.StatusOK {
		t.Fatalf("caller got %d %v", st, err)
	}
	talking(t, caller, picker, 440, 700)

	if res, err := c.Dial(ctx(t), "102", pbxtest.WithHeader("Replaces", "nosuchcall;to-tag=a;from-tag=b")); err != nil ||
		res.Status() != sip.StatusCallTransactionDoesNotExists {
		t.Errorf("Replaces of an unknown dialog: %d %v, want 481", res.Status(), err)
	}
}

// Bad REFERs get clear errors and leave the call as it was.
func TestReferErrors(t *testing.T) {
	_, a, b, _ := threePhones(t)
	caller, callee := connect(t, a, b, "102")
	for _, tc := range []struct {
		referTo string
		code    int
	}{
		{"<mailto:x@example.com>", sip.StatusBadRequest},
		{"<sip:@127.0.0.1>", sip.StatusBadRequest},
		{"<sip:103@127.0.0.1?Replaces=nosuch%3Bto-tag%3Da%3Bfrom-tag%3Db>", sip.StatusCallTransactionDoesNotExists},
		{"<sip:103@127.0.0.1?Replaces=x>", sip.StatusBadRequest},
	} {
		res, err := callee.ReferRaw(ctx(t), tc.referTo)
		mustCode(t, res, err, tc.code)
	}
	res, err := callee.Refer(ctx(t), "999") // routing fails after the 202
	mustCode(t, res, err, sip.StatusAccepted)
	wantReferNotifies(t, callee, "SIP/2.0 404 Not Found")
	talking(t, caller, callee, 440, 1000)
}

// BLF lamps follow a blind transfer: the target's lamp shows it ringing,
// then talking; the transferor's goes off.
func TestBlindTransferOnBLF(t *testing.T) {
	p, a, b, c := threePhones(t)
	w := phone(t, p, p.CreateExtension("104", nil))
	lamp102, lamp103 := watch(t, subscribe(t, w, "102", "dialog", 600)), watch(t, subscribe(t, w, "103", "dialog", 600))
	lamp102.dialog("idle", "")
	lamp103.dialog("idle", "")
	caller, callee := connect(t, a, b, "102")
	for n := lamp102.next(); n.Dialog != "confirmed"; n = lamp102.next() {
	}
	c.SetPolicy(pbxtest.Policy{RingFor: time.Second})
	res, err := callee.Refer(ctx(t), "103")
	mustCode(t, res, err, sip.StatusAccepted)
	lamp103.dialog("early", "recipient")
	lamp103.dialog("confirmed", "recipient")
	lamp102.dialog("idle", "")
	target, err := c.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	talking(t, caller, target, 440, 700)
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	lamp103.dialog("idle", "")
}
