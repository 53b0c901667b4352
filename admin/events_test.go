package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// fakeLive is a registrar whose bindings the test changes, signalling
// watchers as the engine does.
type fakeLive struct {
	mu      sync.Mutex
	regs    []store.Registration
	watches chan chan struct{} // each subscription's channel, for the test to await
	stopped chan struct{}
}

func newFakeLive() *fakeLive {
	return &fakeLive{watches: make(chan chan struct{}, 4), stopped: make(chan struct{}, 4)}
}

func (f *fakeLive) Registrations() []store.Registration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.Registration(nil), f.regs...)
}

func (f *fakeLive) WatchRegistrations() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.watches <- ch
	return ch, func() { f.stopped <- struct{}{} }
}

func (f *fakeLive) set(regs ...store.Registration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.regs = regs
}

// sseEvent is one parsed event of a stream.
type sseEvent struct {
	name string
	data string
}

// readEvents parses a text/event-stream into events (comments and retry
// lines are skipped) until the body ends.
func readEvents(sc *bufio.Scanner, out chan<- sseEvent) {
	defer close(out)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				out <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data += strings.TrimPrefix(line, "data: ")
		}
	}
}

func openStream(t *testing.T, env *testEnv, token string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", env.ts.URL+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := env.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	events := make(chan sseEvent, 8)
	go readEvents(bufio.NewScanner(res.Body), events)
	return events, res
}

func nextEvent(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return sseEvent{}
}

func registrationExtensions(t *testing.T, ev sseEvent) []string {
	t.Helper()
	if ev.name != "registrations" {
		t.Fatalf("event %q, want registrations", ev.name)
	}
	var body struct {
		Items []registrationJSON `json:"items"`
	}
	if err := json.Unmarshal([]byte(ev.data), &body); err != nil || body.Items == nil {
		t.Fatalf("data %q: %v", ev.data, err)
	}
	var out []string
	for _, r := range body.Items {
		out = append(out, r.Extension+" "+r.Source)
	}
	return out
}

func TestEventsRegistrations(t *testing.T) {
	live := newFakeLive()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	live.set(store.Registration{Extension: "102", Contact: "sip:102@10.0.0.2", Source: "10.0.0.2:5060", Transport: "udp", ExpiresAt: exp})
	env := newEnv(t, withRegistrations(live), withEvents(live))

	events, res := openStream(t, env, env.admin)
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := registrationExtensions(t, nextEvent(t, events)); strings.Join(got, ",") != "102 10.0.0.2:5060/udp" {
		t.Errorf("initial event %v", got)
	}

	signal := <-live.watches
	live.set(
		store.Registration{Extension: "102", Contact: "sip:102@10.0.0.2", Source: "10.0.0.2:5060", Transport: "udp", ExpiresAt: exp},
		store.Registration{Extension: "101", Contact: "sip:101@10.0.0.1", Source: "10.0.0.1:5060", Transport: "tcp", ExpiresAt: exp},
	)
	signal <- struct{}{}
	if got := registrationExtensions(t, nextEvent(t, events)); strings.Join(got, ",") != "101 10.0.0.1:5060/tcp,102 10.0.0.2:5060/udp" {
		t.Errorf("change event %v", got)
	}

	// A user sees their own extension's bindings only.
	env.createExtension("101", nil)
	anna := env.createUser("anna", roleUser, "101")
	userEvents, _ := openStream(t, env, anna)
	if got := registrationExtensions(t, nextEvent(t, userEvents)); strings.Join(got, ",") != "101 10.0.0.1:5060/tcp" {
		t.Errorf("user's initial event %v", got)
	}

	// Closing the server ends the streams and their subscriptions.
	env.srv.Close()
	for _, ch := range []<-chan sseEvent{events, userEvents} {
		select {
		case _, ok := <-ch:
			for ok {
				_, ok = <-ch
			}
		case <-time.After(5 * time.Second):
			t.Fatal("stream still open after Close")
		}
	}
	for range 2 {
		select {
		case <-live.stopped:
		case <-time.After(5 * time.Second):
			t.Fatal("subscription not ended")
		}
	}
}

func TestEventsCoalesced(t *testing.T) {
	live := newFakeLive()
	env := newEnv(t, withRegistrations(live), withEvents(live))
	events, _ := openStream(t, env, env.admin)
	if got := registrationExtensions(t, nextEvent(t, events)); len(got) != 0 {
		t.Errorf("initial %v", got)
	}
	signal := <-live.watches
	start := time.Now()
	live.set(store.Registration{Extension: "101", Contact: "sip:101@h", Source: "h:1", Transport: "udp"})
	signal <- struct{}{}
	nextEvent(t, events)
	signal <- struct{}{}
	nextEvent(t, events)
	// Two changes right after connecting: the second event is at least two
	// intervals after the stream opened.
	if d := time.Since(start); d < eventMinInterval {
		t.Errorf("two events in %v, faster than one per %v", d, eventMinInterval)
	}
}

func TestEventsWithoutWatcher(t *testing.T) {
	env := newEnv(t)
	events, _ := openStream(t, env, env.admin)
	if got := registrationExtensions(t, nextEvent(t, events)); len(got) != 0 {
		t.Errorf("initial %v", got)
	}
	env.must(http.StatusUnauthorized, env.do("GET", "/api/v1/events", "", nil))
}

func TestRegenerateSecret(t *testing.T) {
	env := newEnv(t)
	old := env.createExtension("101", nil).str("secret")
	r := env.must(http.StatusOK, env.do("POST", "/api/v1/extensions/101/secret", env.admin, nil))
	secret := r.str("secret")
	if secret == "" || secret == old || checkSecret(secret) != "" {
		t.Fatalf("new secret %q (old %q)", secret, old)
	}
	got := env.must(http.StatusOK, env.do("GET", "/api/v1/extensions/101", env.admin, nil))
	if got.str("secret") != secret {
		t.Errorf("stored secret %q, answered %q", got.str("secret"), secret)
	}
	env.must(http.StatusNotFound, env.do("POST", "/api/v1/extensions/999/secret", env.admin, nil))
	anna := env.createUser("anna", roleUser, "101")
	env.must(http.StatusForbidden, env.do("POST", "/api/v1/extensions/101/secret", anna, nil))
}
