package pbx

import (
	"context"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// TestMessengerBookkeeping checks which phones the owner would offer the
// stored messages to, and when a recipient stops counting as pending,
// without sending anything.
func TestMessengerBookkeeping(t *testing.T) {
	e := newTestEngine(t) // not serving: no owner goroutine runs
	m := e.msgs
	st := e.cfg.Store
	ctx := context.Background()
	if err := st.CreateExtension(ctx, &store.Extension{Number: "102", Secret: "s3cret-pass",
		AuthAlgorithms: []string{AlgMD5}, RingSeconds: 20, Outbound: "internal"}); err != nil {
		t.Fatal(err)
	}
	register := func(contact string, at time.Time) store.Registration {
		t.Helper()
		meta := store.Registration{Source: "127.0.0.1:5062", Transport: "udp"}
		bindings, _ := e.loc.apply("102", false, []bindingUpdate{{contact, time.Minute}}, meta, at)
		for _, b := range bindings {
			if b.Contact == contact {
				return b
			}
		}
		t.Fatalf("%s not bound", contact)
		return store.Registration{}
	}
	untried := func() []store.Registration {
		t.Helper()
		m.mu.Lock()
		defer m.mu.Unlock()
		mb := m.pending["102"]
		if mb == nil {
			t.Fatal("102 is not pending")
		}
		return m.untried("102", mb, time.Now())
	}
	gen := func() uint64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.pending["102"].gen
	}
	save := func() store.Message {
		t.Helper()
		msg := store.Message{Sender: "101", Recipient: "102", ContentType: "text/plain", Body: []byte("hi")}
		if err := st.SaveMessage(ctx, &msg, 0); err != nil {
			t.Fatal(err)
		}
		return msg
	}

	now := time.Now()
	desk := register("sip:102@127.0.0.1:5062", now)
	// The phone refused the message before it was stored: not offered again...
	msg := save()
	m.markPending("102", []bindingKey{keyOf(desk)}, false)
	if got := untried(); len(got) != 0 {
		t.Fatalf("refusing phone offered again at once: %v", got)
	}
	// ...until it registers again.
	desk = register(desk.Contact, now.Add(time.Second))
	if got := untried(); len(got) != 1 || got[0].UpdatedAt != desk.UpdatedAt {
		t.Fatalf("after REGISTER: untried %v", got)
	}

	// A flush that ends with the message still there marks the phone tried
	// and forgets the superseded REGISTER.
	g := gen()
	m.mu.Lock()
	m.pending["102"].busy = true
	m.mu.Unlock()
	m.finish(ctx, "102", []store.Registration{desk}, g)
	m.mu.Lock()
	mb := m.pending["102"]
	if mb == nil || mb.busy || len(mb.tried) != 1 {
		t.Fatalf("after a flush that delivered nothing: %+v", mb)
	}
	m.mu.Unlock()
	if got := untried(); len(got) != 0 {
		t.Fatalf("tried phone still untried: %v", got)
	}

	// A message queued behind makes every phone eligible again, and a flush
	// that started before it does not mark the phone tried.
	save()
	m.markPending("102", nil, true)
	if got := untried(); len(got) != 1 {
		t.Fatalf("after a queued message: untried %v", got)
	}
	m.finish(ctx, "102", []store.Registration{desk}, g)
	if got := untried(); len(got) != 1 {
		t.Fatalf("a flush older than the message marked the phone tried: %v", got)
	}

	// With nothing left in the database, the mailbox goes.
	all, _ := st.PendingMessages(ctx, "102", 0, time.Time{}, 10)
	for _, x := range append(all, msg) {
		st.DeleteMessage(ctx, x.ID)
	}
	m.finish(ctx, "102", []store.Registration{desk}, gen())
	if m.hasPending("102") {
		t.Fatal("empty mailbox kept")
	}

	// sweep finds recipients in the database, drops expired messages, and
	// forgets recipients whose messages went behind its back.
	old := store.Message{Sender: "101", Recipient: "101", ContentType: "text/plain", Body: []byte("x"),
		CreatedAt: time.Now().Add(-messageTTL - time.Hour)}
	if err := st.SaveMessage(ctx, &old, 0); err != nil {
		t.Fatal(err)
	}
	save()
	m.sweep(ctx)
	if !m.hasPending("102") || m.hasPending("101") {
		t.Fatalf("after sweep: 102 pending %v, 101 pending %v", m.hasPending("102"), m.hasPending("101"))
	}
	if left, _ := st.PendingMessages(ctx, "101", 0, time.Time{}, 10); len(left) != 0 {
		t.Fatalf("expired message kept: %+v", left)
	}
	if err := st.DeleteExtension(ctx, "102"); err != nil {
		t.Fatal(err)
	}
	m.sweep(ctx)
	if m.hasPending("102") {
		t.Fatal("a deleted extension stays pending")
	}
}
