package pbx_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// groupPBX starts a PBX with phones 101 (caller), 102, 103 and 104, and
// ring group 600 with members 102 then 103, as change makes it.
func groupPBX(t *testing.T, change func(*store.RingGroup)) (p *pbxtest.PBX, a, b, c, d *pbxtest.UA) {
	t.Helper()
	p = pbxtest.Start(t)
	a = p.Phone("101", pbxtest.WithTone(440))
	b = p.Phone("102", pbxtest.WithTone(1000))
	c = p.Phone("103", pbxtest.WithTone(1500))
	d = p.Phone("104", pbxtest.WithTone(700))
	g := store.RingGroup{Number: "600", Name: "Sales", Strategy: store.StrategyRingAll, Members: []string{"102", "103"},
		RingSeconds: 30, MemberSeconds: 10}
	if change != nil {
		change(&g)
	}
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/ringgroups", map[string]any{
		"number": g.Number, "name": g.Name, "strategy": g.Strategy, "members": g.Members,
		"ring_seconds": g.RingSeconds, "member_seconds": g.MemberSeconds, "on_no_answer": g.OnNoAnswer})
	return p, a, b, c, d
}

// ringall rings every member at once; the first to answer gets the
// call and the others stop ringing.
func TestRingGroupRingAll(t *testing.T) {
	_, a, b, c, _ := groupPBX(t, nil)
	b.SetPolicy(pbxtest.Policy{RingForever: true})
	c.SetPolicy(pbxtest.Policy{RingFor: 300 * time.Millisecond})
	caller, err := a.Dial(ctx(t), "600")
	if err != nil || caller.Status() != sip.StatusOK {
		t.Fatalf("dial 600: %v %d", err, caller.Status())
	}
	rung, err := b.NextCall(ctx(t))
	if err != nil {
		t.Fatalf("102 not rung: %v", err)
	}
	answered, err := c.NextCall(ctx(t))
	if err != nil {
		t.Fatalf("103 not rung: %v", err)
	}
	if err := rung.WaitCancelled(ctx(t)); err != nil {
		t.Errorf("102 still rings after 103 answered: %v", err)
	}
	hearEachOther(t, caller, answered, 440, 1500)
	hangUp(t, caller, answered)
}

// hunt rings members one after another in member order, each for its
// member time: 103 is rung only once 102's turn is over (102 is then
// cancelled), and answers.
func TestRingGroupHunt(t *testing.T) {
	_, a, b, c, _ := groupPBX(t, func(g *store.RingGroup) { g.Strategy, g.MemberSeconds = store.StrategyHunt, 5 })
	b.SetPolicy(pbxtest.Policy{RingForever: true})
	done := make(chan *pbxtest.Call, 1)
	go func() {
		caller, err := a.Dial(ctxFor(t, 20*time.Second), "600")
		if err != nil {
			t.Errorf("dial 600: %v", err)
		}
		done <- caller
	}()
	first, err := b.NextCall(ctx(t))
	if err != nil {
		t.Fatalf("102, the first member, not rung: %v", err)
	}
	if early, err := c.NextCall(ctxFor(t, time.Second)); err == nil {
		t.Fatalf("103 rung (%s) while 102 still rang: not hunting in order", early.From().Address.User)
	}
	second, err := c.NextCall(ctx(t))
	if err != nil {
		t.Fatalf("103 not rung after 102's turn: %v", err)
	}
	if err := first.WaitCancelled(ctx(t)); err != nil {
		t.Errorf("102 not cancelled when its turn ended: %v", err)
	}
	caller := <-done
	if caller == nil || caller.Status() != sip.StatusOK {
		t.Fatalf("caller not connected")
	}
	hearEachOther(t, caller, second, 440, 1500)
	hangUp(t, caller, second)
}

// When no member answers, the group fails over to on_no_answer; members
// on do-not-disturb are skipped.
func TestRingGroupFailover(t *testing.T) {
	p, a, b, c, d := groupPBX(t, func(g *store.RingGroup) { g.Strategy, g.OnNoAnswer = store.StrategyHunt, "extension:104" })
	b.SetPolicy(pbxtest.Policy{Reject: sip.StatusBusyHere})
	p.MustDo(http.StatusOK, http.MethodPatch, "/api/v1/extensions/103", map[string]any{"dnd": true})
	caller, callee := connect(t, a, d, "600")
	if _, err := c.NextCall(ctxFor(t, 100*time.Millisecond)); err == nil {
		t.Errorf("103 on do-not-disturb was rung")
	}
	hearEachOther(t, caller, callee, 440, 700)
	hangUp(t, caller, callee)
}

// An extension's forwards may lead to any destination: 110 has no phone,
// and its no-answer forward sends its callers to the ring group.
func TestForwardToRingGroup(t *testing.T) {
	p, a, b, c, _ := groupPBX(t, nil)
	c.SetPolicy(pbxtest.Policy{RingForever: true})
	p.CreateExtension("110", map[string]any{"forward": map[string]any{"no_answer": "ringgroup:600"}})
	caller, callee := connect(t, a, b, "110")
	hearEachOther(t, caller, callee, 440, 1000)
	hangUp(t, caller, callee)
}
