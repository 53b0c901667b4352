package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestRegistrations(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	mustCreateExt(t, s, newExt("102"))
	now := time.Now().Truncate(time.Second).UTC()
	reg := func(ext, contact string, expires time.Duration, cseq uint32) Registration {
		return Registration{Extension: ext, Contact: "sip:" + ext + "@" + contact, Source: contact + ":5060",
			Transport: "udp", UserAgent: "Phone/1.0", CallID: "call-" + ext, CSeq: cseq,
			ExpiresAt: now.Add(expires), UpdatedAt: now}
	}
	load := func(at time.Time) []Registration {
		t.Helper()
		regs, err := s.LoadRegistrations(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		return regs
	}

	if err := s.SaveRegistrations(ctx, nil, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	a, b, c := reg("101", "10.0.0.1", time.Hour, 1), reg("101", "10.0.0.2", time.Hour, 1), reg("102", "10.0.0.3", time.Hour, 1)
	ghost := reg("999", "10.0.0.9", time.Hour, 1) // no such extension
	if err := s.SaveRegistrations(ctx, []Registration{a, ghost, b, c}, nil); err != nil {
		t.Fatalf("batch with a deleted extension failed: %v", err)
	}
	if got, want := load(now), []Registration{a, b, c}; !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded\n%+v\nwant\n%+v", got, want)
	}

	// One batch: refresh a (new source, CSeq near the top of uint32), drop b.
	a2 := a
	a2.Source, a2.Transport, a2.CSeq = "10.0.0.1:5062", "tcp", 1<<32-1
	a2.UpdatedAt = now.Add(time.Second)
	if err := s.SaveRegistrations(ctx, []Registration{a2}, []RegistrationKey{{b.Extension, b.Contact}, {"999", "x"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := load(now), []Registration{a2, c}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after upsert+remove\n%+v\nwant\n%+v", got, want)
	}

	// Expired bindings are dropped from the result and from the database.
	short := reg("102", "10.0.0.4", time.Minute, 5)
	if err := s.SaveRegistrations(ctx, []Registration{short}, nil); err != nil {
		t.Fatal(err)
	}
	if got := load(now); len(got) != 3 {
		t.Fatalf("before expiry: %d bindings, want 3", len(got))
	}
	if got, want := load(now.Add(time.Minute)), []Registration{a2, c}; !reflect.DeepEqual(got, want) {
		t.Errorf("at expiry\n%+v\nwant\n%+v", got, want)
	}
	if got, want := load(now), []Registration{a2, c}; !reflect.DeepEqual(got, want) {
		t.Errorf("expired binding came back when loading at an earlier time:\n%+v", got)
	}
}
