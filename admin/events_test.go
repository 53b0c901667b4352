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

// nextNamed returns the next event called name, skipping other kinds.
func nextNamed(t *testing.T, name string, events <-chan sseEvent) sseEvent {
	t.Helper()
	for {
		if ev := nextEvent(t, events); ev.name == name {
			return ev
		}
	}
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
	if got := registrationExtensions(t, nextNamed(t, eventRegistration, events)); strings.Join(got, ",") != "102 10.0.0.2:5060/udp" {
		t.Errorf("initial event %v", got)
	}

	signal := <-live.watches
	live.set(
		store.Registration{Extension: "102", Contact: "sip:102@10.0.0.2", Source: "10.0.0.2:5060", Transport: "udp", ExpiresAt: exp},
		store.Registration{Extension: "101", Contact: "sip:101@10.0.0.1", Source: "10.0.0.1:5060", Transport: "tcp", ExpiresAt: exp},
	)
	signal <- struct{}{}
	if got := registrationExtensions(t, nextNamed(t, eventRegistration, events)); strings.Join(got, ",") != "101 10.0.0.1:5060/tcp,102 10.0.0.2:5060/udp" {
		t.Errorf("change event %v", got)
	}

	// A user sees their own extension's bindings only.
	env.createExtension("101", nil)
	anna := env.createUser("anna", roleUser, "101")
	userEvents, _ := openStream(t, env, anna)
	if got := registrationExtensions(t, nextNamed(t, eventRegistration, userEvents)); strings.Join(got, ",") != "101 10.0.0.1:5060/tcp" {
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
	if got := registrationExtensions(t, nextNamed(t, eventRegistration, events)); len(got) != 0 {
		t.Errorf("initial %v", got)
	}
	signal := <-live.watches
	start := time.Now()
	live.set(store.Registration{Extension: "101", Contact: "sip:101@h", Source: "h:1", Transport: "udp"})
	signal <- struct{}{}
	nextNamed(t, eventRegistration, events)
	signal <- struct{}{}
	nextNamed(t, eventRegistration, events)
	// Two changes right after connecting: the second event is at least two
	// intervals after the stream opened.
	if d := time.Since(start); d < eventMinInterval {
		t.Errorf("two events in %v, faster than one per %v", d, eventMinInterval)
	}
}

func TestEventsWithoutWatcher(t *testing.T) {
	env := newEnv(t)
	events, _ := openStream(t, env, env.admin)
	if got := registrationExtensions(t, nextNamed(t, eventRegistration, events)); len(got) != 0 {
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

// fakeLiveCalls is a call engine whose calls the test changes, signalling
// watchers as the engine does.
type fakeLiveCalls struct {
	mu      sync.Mutex
	calls   []Call
	watches chan chan struct{}
	stopped chan struct{}
}

func newFakeLiveCalls() *fakeLiveCalls {
	return &fakeLiveCalls{watches: make(chan chan struct{}, 4), stopped: make(chan struct{}, 4)}
}

func (f *fakeLiveCalls) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

func (f *fakeLiveCalls) Hangup(string) error { return ErrNoSuchCall }

func (f *fakeLiveCalls) WatchCalls() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	f.watches <- ch
	return ch, func() { f.stopped <- struct{}{} }
}

func (f *fakeLiveCalls) set(calls ...Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = calls
}

// callSummaries reads a calls event as "ID FROM>TO STATE CODEC,CODEC" lines.
func callSummaries(t *testing.T, ev sseEvent) []string {
	t.Helper()
	if ev.name != eventCalls {
		t.Fatalf("event %q, want calls", ev.name)
	}
	var body struct {
		Items []callJSON `json:"items"`
	}
	if err := json.Unmarshal([]byte(ev.data), &body); err != nil || body.Items == nil {
		t.Fatalf("data %q: %v", ev.data, err)
	}
	out := []string{}
	for _, c := range body.Items {
		var codecs []string
		for _, l := range c.Legs {
			codecs = append(codecs, l.Codec)
		}
		out = append(out, c.ID+" "+c.From+">"+c.To+" "+c.State+" "+strings.Join(codecs, ","))
	}
	return out
}

func TestEventsCalls(t *testing.T) {
	live := newFakeLive()
	calls := newFakeLiveCalls()
	now := time.Now()
	calls.set(
		Call{ID: "a", From: "101", To: "102", State: "answered", StartedAt: now, AnsweredAt: now,
			Legs: []CallLeg{{Role: "caller", Number: "101", Codec: "PCMU"}, {Role: "callee", Number: "102", Codec: "PCMA"}}},
		Call{ID: "b", From: "103", To: "104", State: "ringing", StartedAt: now},
	)
	env := newEnv(t, withRegistrations(live), withEvents(live), func(c *Config) { c.Calls = calls; c.CallEvents = calls })

	// On connect: registrations, then calls.
	events, _ := openStream(t, env, env.admin)
	if ev := nextEvent(t, events); ev.name != eventRegistration {
		t.Fatalf("first event %q, want registrations", ev.name)
	}
	if got := strings.Join(callSummaries(t, nextEvent(t, events)), "|"); got != "a 101>102 answered PCMU,PCMA|b 103>104 ringing " {
		t.Errorf("initial calls %q", got)
	}
	// Then, to an administrator, the live conference rooms (none here).
	if ev := nextEvent(t, events); ev.name != eventConferences || ev.data != `{"items":[],"next_cursor":""}` {
		t.Fatalf("third event %q %s, want no conference rooms", ev.name, ev.data)
	}
	regSignal, callSignal := <-live.watches, <-calls.watches

	// A user sees the calls of their own extension only, as in GET /calls.
	env.createExtension("104", nil)
	bea := env.createUser("bea", roleUser, "104")
	userEvents, _ := openStream(t, env, bea)
	if got := strings.Join(callSummaries(t, nextNamed(t, eventCalls, userEvents)), "|"); got != "b 103>104 ringing " {
		t.Errorf("user's initial calls %q", got)
	}
	userSignal := <-calls.watches
	<-live.watches

	// A call ends: both streams hear of it.
	calls.set(Call{ID: "b", From: "103", To: "104", State: "answered", StartedAt: now, AnsweredAt: now})
	callSignal <- struct{}{}
	userSignal <- struct{}{}
	if got := strings.Join(callSummaries(t, nextEvent(t, events)), "|"); got != "b 103>104 answered " {
		t.Errorf("admin's change event %q", got)
	}
	if got := strings.Join(callSummaries(t, nextEvent(t, userEvents)), "|"); got != "b 103>104 answered " {
		t.Errorf("user's change event %q", got)
	}

	// Kinds are paced separately: a registration change and a call change
	// together both go out, neither swallowed by the other's pacing.
	calls.set()
	callSignal <- struct{}{}
	regSignal <- struct{}{}
	got := map[string]sseEvent{}
	for range 2 {
		ev := nextEvent(t, events)
		got[ev.name] = ev
	}
	if _, ok := got[eventRegistration]; !ok {
		t.Errorf("no registrations event after a registration change: %v", got)
	}
	if c := callSummaries(t, got[eventCalls]); len(c) != 0 {
		t.Errorf("calls after the last ended: %v", c)
	}

	env.srv.Close()
	for range 4 { // two streams, each with two subscriptions
		select {
		case <-live.stopped:
		case <-calls.stopped:
		case <-time.After(5 * time.Second):
			t.Fatal("subscription not ended")
		}
	}
}

func TestEventsCallsWithoutWatcher(t *testing.T) {
	env := newEnv(t)
	events, _ := openStream(t, env, env.admin)
	if got := callSummaries(t, nextNamed(t, eventCalls, events)); len(got) != 0 {
		t.Errorf("initial calls %v", got)
	}
}
