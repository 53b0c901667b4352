package pbx

import (
	"context"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

func TestLocationApply(t *testing.T) {
	l := newLocation(nil, nil, 3, time.Second)
	now := time.Now()
	meta := store.Registration{Source: "127.0.0.1:5062", Transport: "udp", CallID: "c1", CSeq: 2}
	got, _ := l.apply("101", false, []bindingUpdate{{"sip:a@x", time.Minute}, {"sip:b@x", time.Minute}}, meta, now)
	if len(got) != 2 || l.size() != 2 {
		t.Fatalf("two contacts: got %d bindings, size %d", len(got), l.size())
	}
	// An older CSeq of the same Call-ID does not undo the newer binding.
	old := meta
	old.CSeq = 1
	got, _ = l.apply("101", false, []bindingUpdate{{"sip:a@x", 0}}, old, now)
	if len(got) != 1 {
		t.Fatalf("removal with any CSeq removes: got %d", len(got))
	}
	got, _ = l.apply("101", false, []bindingUpdate{{"sip:b@x", 2 * time.Hour}}, old, now)
	if got[0].ExpiresAt != now.Add(time.Minute) {
		t.Fatalf("reordered REGISTER changed the binding: %v", got[0].ExpiresAt)
	}
	// Max contacts: the oldest gives way.
	for _, c := range []string{"sip:c@x", "sip:d@x", "sip:e@x"} {
		got, _ = l.apply("101", false, []bindingUpdate{{c, time.Minute}}, meta, now)
	}
	if len(got) != 3 || got[0].Contact != "sip:c@x" || l.size() != 3 {
		t.Fatalf("max contacts: %+v size %d", got, l.size())
	}
	// Expiry.
	l.apply("102", false, []bindingUpdate{{"sip:z@x", 2 * time.Minute}}, meta, now)
	if n := l.expire(now.Add(90 * time.Second)); n != 3 || l.size() != 1 {
		t.Fatalf("expire removed %d, size %d", n, l.size())
	}
	// Contact: * clears.
	got, _ = l.apply("102", true, nil, meta, now)
	if len(got) != 0 || l.size() != 0 {
		t.Fatalf("wildcard: %d left, size %d", len(got), l.size())
	}
}

// TestLocationFresh: apply tells the bindings a REGISTER made anew (a
// phone that booted, rebooted or moved) from plain refreshes.
func TestLocationFresh(t *testing.T) {
	l := newLocation(nil, nil, 3, time.Second)
	now := time.Now()
	meta := store.Registration{Source: "127.0.0.1:5062", Transport: "udp", CallID: "c1", CSeq: 1}
	step := func(name string, m store.Registration, contact string, exp time.Duration, want int) {
		t.Helper()
		_, fresh := l.apply("101", false, []bindingUpdate{{contact, exp}}, m, now)
		if len(fresh) != want || (want == 1 && fresh[0].Contact != contact) {
			t.Errorf("%s: fresh %+v, want %d", name, fresh, want)
		}
	}
	step("first", meta, "sip:a@x", time.Minute, 1)
	meta.CSeq++
	step("refresh", meta, "sip:a@x", time.Minute, 0)
	step("second contact", meta, "sip:b@x", time.Minute, 1)
	rebooted := meta
	rebooted.CallID, rebooted.CSeq = "c2", 1
	step("rebooted: new Call-ID", rebooted, "sip:a@x", time.Minute, 1)
	moved := rebooted
	moved.Source, moved.CSeq = "192.0.2.7:5060", 2
	step("moved", moved, "sip:a@x", time.Minute, 1)
	moved.CSeq = 3
	step("unregister", moved, "sip:a@x", 0, 0)
}

func TestLocationWritesRefreshesOnTheSlowPath(t *testing.T) {
	e := newTestEngine(t) // a store with extension 101
	l := newLocation(e.cfg.Store, e.log, 10, time.Second)
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	meta := store.Registration{Source: "127.0.0.1:5062", Transport: "udp", CallID: "c1", CSeq: 1}
	stored := func() []store.Registration {
		regs, err := e.cfg.Store.LoadRegistrations(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return regs
	}

	l.apply("101", false, []bindingUpdate{{"sip:a@x", time.Minute}}, meta, now)
	if err := l.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if regs := stored(); len(regs) != 1 || !regs[0].ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("a new binding must be written on the fast path: %+v", regs)
	}

	meta.CSeq = 2 // the same phone refreshing
	l.apply("101", false, []bindingUpdate{{"sip:a@x", 2 * time.Minute}}, meta, now)
	if err := l.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if regs := stored(); !regs[0].ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("a plain refresh was written on the fast path: %+v", regs)
	}
	if err := l.flush(ctx, true); err != nil {
		t.Fatal(err)
	}
	if regs := stored(); !regs[0].ExpiresAt.Equal(now.Add(2 * time.Minute)) {
		t.Fatalf("the refresh was not written on the slow path: %+v", regs)
	}

	meta.CSeq, meta.Source = 3, "127.0.0.1:6000" // the phone moved: a change, not a refresh
	l.apply("101", false, []bindingUpdate{{"sip:a@x", 2 * time.Minute}}, meta, now)
	if err := l.flush(ctx, false); err != nil {
		t.Fatal(err)
	}
	if regs := stored(); regs[0].Source != "127.0.0.1:6000" {
		t.Fatalf("a new source must be written on the fast path: %+v", regs)
	}
}
