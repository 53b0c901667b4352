package admin

import (
	"net/http"
	"testing"
	"time"
)

// fakeCalls is a call engine with fixed calls.
type fakeCalls struct {
	calls  []Call
	hungUp []string
}

func (f *fakeCalls) Calls() []Call { return f.calls }
func (f *fakeCalls) Hangup(id string) error {
	for _, c := range f.calls {
		if c.ID == id {
			f.hungUp = append(f.hungUp, id)
			return nil
		}
	}
	return ErrNoSuchCall
}

func TestCallsRolesAndHangup(t *testing.T) {
	now := time.Now()
	calls := &fakeCalls{calls: []Call{
		{ID: "a", From: "101", To: "102", State: "answered", StartedAt: now, AnsweredAt: now,
			Legs: []CallLeg{{Role: "caller", Number: "101", Codec: "PCMU"}, {Role: "callee", Number: "102", Codec: "PCMA"}}},
		{ID: "b", From: "103", To: "104", State: "ringing", StartedAt: now},
	}}
	env := newEnv(t, func(c *Config) { c.Calls = calls })
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/calls", env.admin, nil))
	if len(r.items()) != 2 {
		t.Fatalf("admin sees %d calls", len(r.items()))
	}
	ringing := r.items()[1].(map[string]any)
	if ringing["answered_at"] != nil || ringing["state"] != "ringing" {
		t.Fatalf("ringing call: %v", ringing)
	}

	env.createExtension("102", nil)
	user := env.createUser("bea", "user", "102")
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/calls", user, nil))
	if len(r.items()) != 1 || r.items()[0].(map[string]any)["id"] != "a" {
		t.Fatalf("user sees %v, want only the call to their extension", r.items())
	}
	env.must(http.StatusForbidden, env.do("DELETE", "/api/v1/calls/a", user, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/calls/zzz", env.admin, nil))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/calls/a", env.admin, nil))
	if len(calls.hungUp) != 1 || calls.hungUp[0] != "a" {
		t.Fatalf("hung up %v", calls.hungUp)
	}
	env.must(http.StatusUnauthorized, env.do("GET", "/api/v1/calls", "", nil))
}
