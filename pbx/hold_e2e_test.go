package pbx_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// listen waits for fresh audio on each call.
func listen(t *testing.T, calls ...*pbxtest.Call) {
	t.Helper()
	for _, c := range calls {
		if err := c.Listen(ctx(t), 30); err != nil {
			t.Fatalf("no audio: %v", err)
		}
	}
}

// hearsMusic checks that c hears the PBX's music on hold: real sound, in
// which the tone of the phone that holds is not.
func hearsMusic(t *testing.T, c *pbxtest.Call, heldBy float64) {
	t.Helper()
	energy, other := c.Energy(), c.Heard(heldBy)
	t.Logf("held party: energy %.0f, %.0f at the holder's %v Hz", energy, other, heldBy)
	if energy < 1e4 {
		t.Errorf("held party hears silence (energy %.0f), want music on hold", energy)
	}
	if other > energy/100 {
		t.Errorf("held party still hears the holder's tone (%.0f of %.0f)", other, energy)
	}
}

type liveCallsJSON struct {
	Items []struct {
		Legs []struct {
			Role    string `json:"role"`
			Holding bool   `json:"holding"`
		} `json:"legs"`
	} `json:"items"`
}

func holdingLegs(t *testing.T, p *pbxtest.PBX) map[string]bool {
	t.Helper()
	code, body := p.Do(http.MethodGet, "/api/v1/calls", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /calls: %d %s", code, body)
	}
	var calls liveCallsJSON
	if err := json.Unmarshal(body, &calls); err != nil || len(calls.Items) != 1 {
		t.Fatalf("calls %s: %v", body, err)
	}
	out := map[string]bool{}
	for _, l := range calls.Items[0].Legs {
		out[l.Role] = l.Holding
	}
	return out
}

// Either side holds with a re-INVITE (a=sendonly); the other party hears
// music on hold and its phone is told (a=sendonly from the PBX); the
// holder hears nothing; resume restores two-way audio.
func TestHoldAndResume(t *testing.T) {
	for _, tc := range []struct {
		name        string
		calleeHolds bool
	}{{"caller holds", false}, {"callee holds", true}} {
		t.Run(tc.name, func(t *testing.T) {
			p, a, b := twoPhones(t)
			caller, callee := connect(t, a, b, "102")
			hearEachOther(t, caller, callee, 440, 1000)
			holder, held, holderTone, heldTone, holderRole := caller, callee, 440.0, 1000.0, "caller"
			if tc.calleeHolds {
				holder, held, holderTone, heldTone, holderRole = callee, caller, 1000, 440, "callee"
			}

			res, err := holder.Hold(ctx(t))
			mustCode(t, res, err, sip.StatusOK)
			if d := pbxtest.SDPDirection(res.Body()); d != pbxtest.RecvOnly {
				t.Errorf("answer to a=sendonly is a=%s, want recvonly", d)
			}
			if d, err := held.WaitOffered(ctx(t), 1); err != nil || d != pbxtest.SendOnly {
				t.Fatalf("held phone was offered %q (%v), want sendonly", d, err)
			}
			if got := holdingLegs(t, p); !got[holderRole] || len(got) != 2 {
				t.Errorf("calls API holding = %v, want only the %s", got, holderRole)
			}
			before := holder.Received()
			listen(t, held)
			hearsMusic(t, held, holderTone)
			if n := holder.Received() - before; n > 5 {
				t.Errorf("the phone holding the call got %d packets, want none", n)
			}

			res, err = holder.Resume(ctx(t))
			mustCode(t, res, err, sip.StatusOK)
			if d := pbxtest.SDPDirection(res.Body()); d != pbxtest.SendRecv {
				t.Errorf("answer to resume is a=%s", d)
			}
			if d, err := held.WaitOffered(ctx(t), 2); err != nil || d != pbxtest.SendRecv {
				t.Fatalf("held phone's second offer %q (%v), want sendrecv", d, err)
			}
			listen(t, caller, callee)
			hearEachOther(t, holder, held, holderTone, heldTone)
			if got := holdingLegs(t, p); got["caller"] || got["callee"] {
				t.Errorf("calls API holding = %v after resume", got)
			}
			if err := caller.Hangup(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if err := callee.WaitEnded(ctx(t)); err != nil {
				t.Fatal(err)
			}
			wantCDR(t, p, store.DispositionAnswered, "caller hung up")
		})
	}
}

// Glare: the callee's re-INVITE crosses the PBX's own (telling it that it
// is held): the PBX answers 491, the PBX's re-INVITE completes, the
// callee's retry succeeds, and the call ends cleanly with its ports freed.
func TestReinviteGlare(t *testing.T) {
	p, a, b := twoPhones(t)
	caller, callee := connect(t, a, b, "102")
	release := callee.HoldReinvites()
	res, err := caller.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	if _, err := callee.WaitOffered(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	res, err = callee.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusRequestPending)
	release()
	// The PBX's re-INVITE is answered; then the callee's retry goes in.
	waitFor(t, "the PBX's re-INVITE to finish", func() bool {
		res, err := callee.Reinvite(ctx(t), pbxtest.SendRecv)
		return err == nil && res.StatusCode == sip.StatusOK
	})
	// A PBX re-INVITE that the callee's change set off may still be
	// pending: the resume is then answered 500 with Retry-After, and the
	// phone retries, as RFC 3261 14.2 asks.
	waitFor(t, "the caller's resume", func() bool {
		res, err := caller.Resume(ctx(t))
		if err == nil && res.StatusCode != sip.StatusOK && res.StatusCode != sip.StatusInternalServerError {
			t.Fatalf("resume: %d %s", res.StatusCode, res.Reason)
		}
		return err == nil && res.StatusCode == sip.StatusOK
	})
	listen(t, caller, callee)
	hearEachOther(t, caller, callee, 440, 1000)
	if err := callee.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionAnswered, "callee hung up")
}

// A caller behind a proxy (Record-Route in its INVITE): the PBX's 200
// returns the Record-Route, and its own requests in the dialog (here the
// re-INVITE telling the caller it is held) carry the route set as Route.
func TestRouteSetHonoured(t *testing.T) {
	_, a, b := twoPhones(t)
	const rr1, rr2 = "<sip:proxy1.example;lr>", "<sip:proxy2.example;lr>"
	caller := dialOK(t, a, "102", pbxtest.WithHeader("Record-Route", rr1), pbxtest.WithHeader("Record-Route", rr2))
	callee, err := b.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range caller.Response().GetHeaders("Record-Route") {
		got = append(got, h.Value())
	}
	if len(got) != 2 || got[0] != rr1 || got[1] != rr2 {
		t.Errorf("200 Record-Route %q", got)
	}
	res, err := callee.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	if _, err := caller.WaitOffered(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
	if r := caller.Routes(); len(r) != 2 || r[0] != rr1 || r[1] != rr2 {
		t.Errorf("re-INVITE to the caller has Route %q, want %q, %q", r, rr1, rr2)
	}
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
}
