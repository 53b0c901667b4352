package pbx_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
)

// ctxFor is a context ending after d (or with the test).
func ctxFor(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// clock is a settable clock for the dial plan's time conditions.
type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) set(t *testing.T, rfc3339 string) {
	tm, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	c.t.Store(&tm)
}

func (c *clock) now() time.Time { return *c.t.Load() }

// clockedPBX starts a PBX whose dial plan reads clk.
func clockedPBX(t *testing.T, clk *clock) *pbxtest.PBX {
	return pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) { c.Now = clk.now }))
}

const hoursPlan = `timezone "Europe/Berlin"
hours office {
    mon-fri 09:00-17:00
    closed 2026-12-24
}
context internal {
    rule 700 {
        if office dial extension:102
        dial extension:103
    }
}
`

// A number of the dial plan routes by business hours: 102 inside them,
// 103 outside (evening, weekend, holiday), with an injected clock.
func TestDialPlanHours(t *testing.T) {
	var clk clock
	clk.set(t, "2026-12-01T10:00:00+01:00") // a Tuesday morning in Berlin
	p := clockedPBX(t, &clk)
	a := p.Phone("101", pbxtest.WithTone(440))
	b := p.Phone("102", pbxtest.WithTone(1000))
	c := p.Phone("103", pbxtest.WithTone(1500))
	if code, out := p.PutDialplan(hoursPlan); code != http.StatusOK {
		t.Fatalf("PUT dial plan: %d %s", code, out)
	}
	for _, tc := range []struct {
		at   string
		want *pbxtest.UA
	}{
		{"2026-12-01T10:00:00+01:00", b}, // Tuesday in hours
		{"2026-12-01T18:30:00+01:00", c}, // Tuesday evening
		{"2026-12-05T10:00:00+01:00", c}, // Saturday
		{"2026-12-24T10:00:00+01:00", c}, // a holiday Thursday
		{"2026-12-28T16:59:00+01:00", b}, // Monday, a minute before closing
	} {
		clk.set(t, tc.at)
		// The trace (at the same time) names the phone the call reaches.
		code, out := p.Do(http.MethodPost, "/api/v1/dialplan/trace", map[string]any{"number": "700", "from": "101", "at": tc.at})
		if first := `"attempts":[{"destination":"extension:` + tc.want.User; code != http.StatusOK || !strings.Contains(string(out), first) {
			t.Errorf("trace at %s: %d %s, want first attempt extension:%s", tc.at, code, out, tc.want.User)
		}
		caller, callee := connect(t, a, tc.want, "700")
		if callee.From().Address.User != "101" {
			t.Errorf("%s: callee sees caller %s", tc.at, callee.From().Address.User)
		}
		hangUp(t, caller, callee)
	}
}

// hangUp ends an answered call from the caller's side.
func hangUp(t *testing.T, caller, callee *pbxtest.Call) {
	t.Helper()
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// An invalid plan is refused with every error at its line and column,
// and calls go on being routed by the plan in force.
func TestDialPlanInvalidPutKeepsOld(t *testing.T) {
	var clk clock
	clk.set(t, "2026-12-01T10:00:00+01:00")
	p := clockedPBX(t, &clk)
	a := p.Phone("101", pbxtest.WithTone(440))
	b := p.Phone("102", pbxtest.WithTone(1000))
	p.Phone("103", pbxtest.WithTone(1500))
	if code, out := p.PutDialplan(hoursPlan); code != http.StatusOK {
		t.Fatalf("PUT dial plan: %d %s", code, out)
	}
	broken := strings.Replace(hoursPlan, "dial extension:103", "dial extension:999\n        bogus", 1)
	code, out := p.PutDialplan(broken)
	if code != http.StatusBadRequest || !strings.Contains(string(out), `"line":10,"col":9`) || !strings.Contains(string(out), "bogus") ||
		!strings.Contains(string(out), `"line":9,"col":14,"message":"no extension 999"`) {
		t.Fatalf("PUT broken plan: %d %s, want 400 naming the errors", code, out)
	}
	caller, callee := connect(t, a, b, "700")
	hangUp(t, caller, callee)
	// A number no rule matches is 404, as before.
	res, err := a.Dial(ctx(t), "555")
	if err != nil || res.Status() != sip.StatusNotFound {
		t.Errorf("dial 555: %v %d, want 404", err, res.Status())
	}
}

// A valid plan takes effect for the next call, without a restart, and a
// require refuses a caller whose class is too low with 403.
func TestDialPlanTakesEffectAtOnce(t *testing.T) {
	var clk clock
	clk.set(t, "2026-12-01T10:00:00+01:00")
	p := clockedPBX(t, &clk)
	a := p.Phone("101", pbxtest.WithTone(440))
	c := p.Phone("103", pbxtest.WithTone(1500))
	if res, err := a.Dial(ctx(t), "0800"); err != nil || res.Status() != sip.StatusNotFound {
		t.Fatalf("dial 0800 before the plan: %v %d, want 404", err, res.Status())
	}
	plan := "context internal {\n    rule 0800 {\n        dial number:103\n    }\n    rule _00X. {\n        require international\n        dial extension:103\n    }\n}\n"
	if code, out := p.PutDialplan(plan); code != http.StatusOK {
		t.Fatalf("PUT dial plan: %d %s", code, out)
	}
	caller, callee := connect(t, a, c, "0800")
	hangUp(t, caller, callee)
	if res, err := a.Dial(ctx(t), "0044123"); err != nil || res.Status() != sip.StatusForbidden {
		t.Errorf("dial 0044123 as an internal-class caller: %v %d, want 403", err, res.Status())
	}
}

// A data directory from before the dial-plan language holds the old
// comments-only default, saved by the system: the next start replaces it
// with today's default (keeping it in the history), so routing works.
func TestOldDefaultPlanUpgraded(t *testing.T) {
	p := pbxtest.Start(t)
	old := "# Dial plan.\n# Internal numbers are reached without any entry here.\n"
	if _, err := p.App.Store.SetDialplan(ctx(t), old, ""); err != nil {
		t.Fatal(err)
	}
	p.Restart()
	cur, err := p.App.Store.Dialplan(ctx(t))
	if err != nil || cur.Text != dialplan.Default || cur.CreatedBy != "" {
		t.Fatalf("plan after restart: version %d by %q, default %v (%v)", cur.ID, cur.CreatedBy, cur.Text == dialplan.Default, err)
	}
	code, out := p.Do(http.MethodPost, "/api/v1/dialplan/trace", map[string]any{"number": "555"})
	if code != http.StatusOK || !strings.Contains(string(out), `"outcome":"no_match"`) {
		t.Errorf("trace after the upgrade: %d %s", code, out)
	}
}
