package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openStore opens a fresh database file in a temporary directory and closes
// it when the test ends.
func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pbx.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

// newExt returns an extension that passes every column check.
func newExt(number string) *Extension {
	return &Extension{
		Number:         number,
		Name:           "Ext " + number,
		Secret:         "secret-" + number,
		AuthAlgorithms: []string{"SHA-256", "MD5"},
		RingSeconds:    20,
		Voicemail:      Voicemail{Enabled: true, PIN: "1234"},
		Outbound:       "internal",
	}
}

func mustCreateExt(t *testing.T, s *Store, e *Extension) {
	t.Helper()
	if err := s.CreateExtension(context.Background(), e); err != nil {
		t.Fatalf("CreateExtension(%s): %v", e.Number, err)
	}
}

func TestOpenPathWithSpecialCharacters(t *testing.T) {
	ctx := context.Background()
	// The path goes into a file: URI; characters that mean something there
	// must not cut it short or land the database elsewhere.
	dir := filepath.Join(t.TempDir(), "my data #1 ?x=y&z")
	path := filepath.Join(dir, "pbx 100%.db")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	mustCreateExt(t, s, newExt("100"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at %q: %v", path, err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.GetExtension(ctx, "100"); err != nil {
		t.Errorf("extension lost across reopen: %v", err)
	}
}

func TestSettings(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Setting(ctx, "tz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing setting: err %v, want ErrNotFound", err)
	}
	for _, v := range []string{"UTC", "Europe/Paris"} {
		if err := s.SetSetting(ctx, "tz", v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Setting(ctx, "tz"); err != nil || got != v {
			t.Errorf("Setting = %q, %v; want %q", got, err, v)
		}
	}
}

func TestSubscribe(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	var mu sync.Mutex
	var got []Change
	s.Subscribe(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, c)
	})
	// A second subscriber sees the same stream.
	var second int
	s.Subscribe(func(Change) { second++ })

	bad := newExt("102")
	bad.RingSeconds = 1 // violates the column check
	updated := newExt("101")
	updated.Name = "Renamed"
	fwd := newExt("103")
	fwd.Forward.Busy = "extension:101"

	steps := []struct {
		name    string
		op      func() error
		wantErr error // nil: must succeed; errAny: any failure
		want    *Change
	}{
		{"create", func() error { return s.CreateExtension(ctx, newExt("101")) }, nil,
			&Change{Kind: "extension", Key: "101"}},
		{"create duplicate", func() error { return s.CreateExtension(ctx, newExt("101")) }, ErrNumberTaken, nil},
		{"create violating a check", func() error { return s.CreateExtension(ctx, bad) }, errAny, nil},
		{"update", func() error { return s.UpdateExtension(ctx, updated) }, nil,
			&Change{Kind: "extension", Key: "101"}},
		{"update missing", func() error { return s.UpdateExtension(ctx, newExt("199")) }, ErrNotFound, nil},
		{"create forwarding", func() error { return s.CreateExtension(ctx, fwd) }, nil,
			&Change{Kind: "extension", Key: "103"}},
		{"delete referenced", func() error { return s.DeleteExtension(ctx, "101") }, ErrInUse, nil},
		{"delete missing", func() error { return s.DeleteExtension(ctx, "199") }, ErrNotFound, nil},
		{"delete", func() error { return s.DeleteExtension(ctx, "103") }, nil,
			&Change{Kind: "extension", Key: "103", Deleted: true}},
	}
	for _, st := range steps {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		err := st.op()
		switch {
		case st.wantErr == nil && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.wantErr == errAny && err == nil,
			st.wantErr != nil && st.wantErr != errAny && !errors.Is(err, st.wantErr):
			t.Fatalf("%s: err %v, want %v", st.name, err, st.wantErr)
		}
		mu.Lock()
		events := append([]Change(nil), got[n:]...)
		mu.Unlock()
		switch {
		case st.want == nil && len(events) != 0:
			t.Errorf("%s: failed write announced %v", st.name, events)
		case st.want != nil && (len(events) != 1 || events[0] != *st.want):
			t.Errorf("%s: events %v, want [%v]", st.name, events, *st.want)
		}
	}
	if second != 4 {
		t.Errorf("second subscriber saw %d changes, want 4", second)
	}
	// The failed create must not have kept its number.
	if _, err := s.NumberKind(ctx, "102"); !errors.Is(err, ErrNotFound) {
		t.Errorf("number of the failed create: err %v, want ErrNotFound", err)
	}
}

var errAny = errors.New("any error")

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("1"))
	if err := s.CreateUser(ctx, &User{Username: "admin", PasswordHash: "x", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	var events atomic.Int64 // the subscriber runs on every writer's goroutine
	s.Subscribe(func(c Change) {
		if c.Kind == "extension" {
			events.Add(1)
		}
	})

	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			errs <- worker(ctx, s, w, rounds)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	n, err := s.CountExtensions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every worker keeps its odd rounds and deletes its even ones.
	if want := 1 + workers*(rounds/2); n != want {
		t.Errorf("%d extensions, want %d", n, want)
	}
	deleted := (rounds + 1) / 2
	if got, want := events.Load(), int64(workers*(2*rounds+deleted)); got != want {
		t.Errorf("%d extension changes announced, want %d", got, want)
	}
	regs, err := s.LoadRegistrations(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := workers * (rounds / 2); len(regs) != want {
		t.Errorf("%d registrations, want %d", len(regs), want)
	}
}

// worker does a mix of writes and reads; any error (notably "database is
// locked") fails the test.
func worker(ctx context.Context, s *Store, w, rounds int) error {
	for i := range rounds {
		num := fmt.Sprintf("%d%03d", w+2, i)
		e := newExt(num)
		if err := s.CreateExtension(ctx, e); err != nil {
			return fmt.Errorf("worker %d: create %s: %w", w, num, err)
		}
		e.Name = "updated"
		if err := s.UpdateExtension(ctx, e); err != nil {
			return fmt.Errorf("worker %d: update %s: %w", w, num, err)
		}
		if got, err := s.GetExtension(ctx, num); err != nil || got.Name != "updated" {
			return fmt.Errorf("worker %d: get %s = %q, %v", w, num, got.Name, err)
		}
		if _, _, err := s.ListExtensions(ctx, ListOptions{Query: "upd", Limit: 10}); err != nil {
			return fmt.Errorf("worker %d: list: %w", w, err)
		}
		now := time.Now()
		reg := Registration{Extension: num, Contact: "sip:" + num + "@127.0.0.1", Source: "127.0.0.1:5060",
			Transport: "udp", CSeq: uint32(i), ExpiresAt: now.Add(time.Hour), UpdatedAt: now}
		if err := s.SaveRegistrations(ctx, []Registration{reg}, nil); err != nil {
			return fmt.Errorf("worker %d: save registrations: %w", w, err)
		}
		hash := fmt.Sprintf("session-%d-%d", w, i)
		if err := s.CreateSession(ctx, hash, "admin", now.Add(time.Hour)); err != nil {
			return fmt.Errorf("worker %d: create session: %w", w, err)
		}
		if _, err := s.SessionUser(ctx, hash); err != nil {
			return fmt.Errorf("worker %d: session user: %w", w, err)
		}
		if _, err := s.LoadRegistrations(ctx, now); err != nil {
			return fmt.Errorf("worker %d: load registrations: %w", w, err)
		}
		if i%2 == 0 {
			if err := s.DeleteExtension(ctx, num); err != nil {
				return fmt.Errorf("worker %d: delete %s: %w", w, num, err)
			}
		}
		if err := s.Ping(ctx); err != nil {
			return fmt.Errorf("worker %d: ping: %w", w, err)
		}
	}
	return nil
}

// errContains reports whether err's message contains every part.
func errContains(err error, parts ...string) bool {
	if err == nil {
		return false
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			return false
		}
	}
	return true
}
