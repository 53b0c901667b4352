package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// sendPlain sends a text/plain body.
func (e *testEnv) sendPlain(method, path, token, contentType, body string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

func (e *testEnv) putPlan(text string) response {
	e.t.Helper()
	return e.sendPlain("PUT", "/api/v1/dialplan", e.admin, "text/plain; charset=utf-8", text)
}

// currentPlan reads the plan and its version through the API.
func (e *testEnv) currentPlan() (string, string) {
	e.t.Helper()
	r := e.must(http.StatusOK, e.do("GET", "/api/v1/dialplan", e.admin, nil))
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		e.t.Errorf("GET /dialplan content type %q", ct)
	}
	return string(r.raw), r.header.Get("X-Dialplan-Version")
}

const planV1 = `context internal {
    rule 0 {
        dial extension:101
    }
}
`

const planV2 = `context internal {
    rule 0 {
        dial extension:101 ring 15
        dial voicemail:101
    }
    rule _9X. {
        strip 1
        dial number:${number}
    }
}
`

func TestDialplanPutGetVersions(t *testing.T) {
	env := newEnv(t)
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/dialplan", env.admin, nil))
	env.createExtension("101", nil)

	r := env.must(http.StatusOK, env.putPlan(planV1))
	if r.body["version"] != float64(1) || r.header.Get("X-Dialplan-Version") != "1" {
		t.Fatalf("first PUT: %s, header %q", r.raw, r.header.Get("X-Dialplan-Version"))
	}
	if text, v := env.currentPlan(); text != planV1 || v != "1" {
		t.Errorf("GET = %q version %s", text, v)
	}
	r = env.must(http.StatusOK, env.sendPlain("PUT", "/api/v1/dialplan?comment=voicemail+after", env.admin, "text/plain", planV2))
	if r.body["version"] != float64(2) {
		t.Fatalf("second PUT: %s", r.raw)
	}

	// Broken: every error with its position; nothing changes.
	broken := strings.Replace(planV2, "dial voicemail:101", "dial voicemail:10x\n        bogus", 1)
	r = env.must(http.StatusBadRequest, env.putPlan(broken))
	errs, _ := r.body["errors"].([]any)
	if len(errs) < 2 || !strings.HasPrefix(r.str("error"), "dial plan has ") {
		t.Fatalf("broken PUT: %s", r.raw)
	}
	first := errs[0].(map[string]any)
	if first["line"] == nil || first["col"] == nil || first["message"] == "" {
		t.Errorf("error entry %v", first)
	}
	if text, v := env.currentPlan(); text != planV2 || v != "2" {
		t.Errorf("after a broken PUT: version %s text %q", v, text)
	}
	// A dangling destination alone is one error at its line and column.
	r = env.must(http.StatusBadRequest, env.putPlan(strings.Replace(planV1, "extension:101", "extension:999", 1)))
	if r.str("error") != "dial plan has 1 error" || !strings.Contains(string(r.raw), `{"line":3,"col":14,"message":"no extension 999"}`) {
		t.Errorf("dangling destination: %s", r.raw)
	}

	// Versions: newest first, with who and lines; paging by cursor.
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/dialplan/versions", env.admin, nil))
	items := r.items()
	if len(items) != 2 {
		t.Fatalf("versions: %s", r.raw)
	}
	v2 := items[0].(map[string]any)
	if v2["id"] != float64(2) || v2["created_by"] != "admin" || v2["comment"] != "voicemail after" || v2["lines"] != float64(10) || v2["created_at"] == "" {
		t.Errorf("version 2 in the list: %v", v2)
	}
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/dialplan/versions?limit=1", env.admin, nil))
	if len(r.items()) != 1 || r.str("next_cursor") != "2" {
		t.Errorf("page 1: %s", r.raw)
	}
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/dialplan/versions?limit=1&cursor=2", env.admin, nil))
	if len(r.items()) != 1 || r.items()[0].(map[string]any)["id"] != float64(1) || r.str("next_cursor") != "" {
		t.Errorf("page 2: %s", r.raw)
	}
	env.must(http.StatusBadRequest, env.do("GET", "/api/v1/dialplan/versions?cursor=x", env.admin, nil))

	r = env.must(http.StatusOK, env.do("GET", "/api/v1/dialplan/versions/1", env.admin, nil))
	if string(r.raw) != planV1 || r.header.Get("X-Dialplan-Version") != "1" {
		t.Errorf("version 1: %q", r.raw)
	}
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/dialplan/versions/9", env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/dialplan/versions/abc", env.admin, nil))

	// Restore: a new version with version 1's text.
	r = env.must(http.StatusOK, env.do("POST", "/api/v1/dialplan/versions/1/restore", env.admin, nil))
	if r.body["version"] != float64(3) {
		t.Fatalf("restore: %s", r.raw)
	}
	if text, v := env.currentPlan(); text != planV1 || v != "3" {
		t.Errorf("after restore: version %s text %q", v, text)
	}
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/dialplan/versions?limit=1", env.admin, nil))
	if c := r.items()[0].(map[string]any)["comment"]; c != "restored from version 1" {
		t.Errorf("restored version's comment %v", c)
	}
	env.must(http.StatusNotFound, env.do("POST", "/api/v1/dialplan/versions/99/restore", env.admin, nil))
}

func TestDialplanRestoreRechecksDestinations(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	env.createExtension("102", nil)
	env.must(http.StatusOK, env.putPlan(strings.Replace(planV1, "101", "102", 1)))
	env.must(http.StatusOK, env.putPlan(planV1))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/extensions/102", env.admin, nil))
	r := env.must(http.StatusBadRequest, env.do("POST", "/api/v1/dialplan/versions/1/restore", env.admin, nil))
	if !strings.Contains(string(r.raw), "no extension 102") {
		t.Errorf("restore of a plan naming a deleted extension: %s", r.raw)
	}
	if text, v := env.currentPlan(); text != planV1 || v != "2" {
		t.Errorf("after a refused restore: version %s", v)
	}
}

func TestDialplanRequestErrors(t *testing.T) {
	env := newEnv(t)
	user := env.createUser("bea", "user", "")
	for _, tc := range []struct {
		method, path string
		body         string
	}{
		{"GET", "/api/v1/dialplan", ""},
		{"PUT", "/api/v1/dialplan", planV1},
		{"GET", "/api/v1/dialplan/versions", ""},
		{"GET", "/api/v1/dialplan/versions/1", ""},
		{"POST", "/api/v1/dialplan/versions/1/restore", ""},
		{"POST", "/api/v1/dialplan/trace", `{"number":"1"}`},
	} {
		env.must(http.StatusForbidden, env.sendPlain(tc.method, tc.path, user, "text/plain", tc.body))
		env.must(http.StatusUnauthorized, env.sendPlain(tc.method, tc.path, "", "text/plain", tc.body))
	}
	env.must(http.StatusUnsupportedMediaType, env.do("PUT", "/api/v1/dialplan", env.admin, `{"text":"x"}`))
	env.must(http.StatusUnsupportedMediaType, env.sendPlain("PUT", "/api/v1/dialplan", env.admin, "text/plain; charset=latin1", planV1))
	env.must(http.StatusBadRequest, env.sendPlain("PUT", "/api/v1/dialplan", env.admin, "text/plain", "context \xff {}"))
	env.must(http.StatusRequestEntityTooLarge, env.putPlan(strings.Repeat("# comment\n", 110_000)))
	r := env.must(http.StatusBadRequest, env.sendPlain("PUT", "/api/v1/dialplan?comment="+strings.Repeat("x", 201), env.admin, "text/plain", planV1))
	if r.fields()["comment"] == nil {
		t.Errorf("long comment: %s", r.raw)
	}
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/dialplan", env.admin, nil))
}

func TestDialplanTrace(t *testing.T) {
	env := newEnv(t, func(c *Config) { c.Router = planRouter{Store: c.Store} })
	env.createExtension("101", map[string]any{"name": "Reception", "outbound": "national"})
	env.must(http.StatusConflict, env.do("POST", "/api/v1/dialplan/trace", env.admin, map[string]any{"number": "0"}))
	plan := `context internal {
    rule _9X. {
        require national
        strip 1
        dial number:${number}
    }
    rule 0 {
        dial extension:101 ring 15
        dial voicemail:101
    }
}
context from-pstn {
    rule 555 {
        goto internal
    }
}
`
	env.must(http.StatusOK, env.putPlan(plan))
	r := env.must(http.StatusOK, env.do("POST", "/api/v1/dialplan/trace", env.admin, map[string]any{"number": "0", "from": "101"}))
	attempts, _ := r.body["attempts"].([]any)
	steps, _ := r.body["steps"].([]any)
	if r.str("outcome") != "route" || len(attempts) != 2 || len(steps) == 0 || r.str("caller_name") != "Reception" || r.str("caller_number") != "101" {
		t.Fatalf("trace of 0: %s", r.raw)
	}
	if a := attempts[0].(map[string]any); a["destination"] != "extension:101" || a["ring_s"] != float64(15) || a["line"] != float64(8) {
		t.Errorf("first attempt %v", a)
	}
	if s := steps[0].(map[string]any); s["line"] != float64(7) || s["context"] != "internal" || !strings.Contains(s["text"].(string), "rule 0") {
		t.Errorf("first step %v", s)
	}

	// The caller's class comes from their extension: 101 may dial out, an
	// unknown caller may not.
	r = env.must(http.StatusOK, env.do("POST", "/api/v1/dialplan/trace", env.admin, map[string]any{"number": "90301234", "from": "101"}))
	if r.str("outcome") != "route" || r.str("number") != "0301234" {
		t.Errorf("9 + number from 101: %s", r.raw)
	}
	r = env.must(http.StatusOK, env.do("POST", "/api/v1/dialplan/trace", env.admin, map[string]any{"number": "90301234", "from": "555"}))
	if r.str("outcome") != "refused" || r.str("reason") == "" {
		t.Errorf("9 + number from 555: %s", r.raw)
	}
	r = env.must(http.StatusOK, env.do("POST", "/api/v1/dialplan/trace", env.admin,
		map[string]any{"context": "from-pstn", "number": "555", "from": "+4930999", "at": "2026-12-24T09:30:00+01:00"}))
	if r.str("outcome") != "no_match" {
		t.Errorf("inbound 555: %s", r.raw)
	}

	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{}, "number"},
		{map[string]any{"number": "12a"}, "number"},
		{map[string]any{"number": "1", "from": "x"}, "from"},
		{map[string]any{"number": "1", "at": "tomorrow"}, "at"},
		{map[string]any{"number": "1", "context": "no such"}, "context"},
		{map[string]any{"number": "1", "context": "nowhere"}, "context"},
		{map[string]any{"number": "1", "trunk": "a b"}, "trunk"},
	} {
		r := env.must(http.StatusBadRequest, env.do("POST", "/api/v1/dialplan/trace", env.admin, tc.body))
		if r.fields()[tc.field] == nil {
			t.Errorf("trace %v: %s, want field %s", tc.body, r.raw, tc.field)
		}
	}
	env.must(http.StatusBadRequest, env.do("POST", "/api/v1/dialplan/trace", env.admin, `{"number":`))
}

// fakeRouter is a call engine's routing.
type fakeRouter struct{ got TraceRequest }

func (f *fakeRouter) Trace(_ context.Context, req TraceRequest) (TraceResult, error) {
	f.got = req
	if req.Context == "nowhere" {
		return TraceResult{}, errors.Join(errors.New("engine"), ErrUnknownContext)
	}
	return TraceResult{Outcome: "route", Number: req.Number, Context: req.Context,
		Attempts: []TraceAttempt{{Destination: "ringgroup:600", Ring: 30 * time.Second, Line: 4}},
		Steps:    []TraceStep{{Line: 3, Context: req.Context, Text: "from the engine"}}}, nil
}

func TestDialplanTraceUsesRouter(t *testing.T) {
	router := &fakeRouter{}
	env := newEnv(t, func(c *Config) { c.Router = router })
	r := env.must(http.StatusOK, env.do("POST", "/api/v1/dialplan/trace", env.admin,
		map[string]any{"number": "600", "from": "101", "trunk": "pstn", "at": "2026-12-24T09:30:00Z"}))
	if !strings.Contains(string(r.raw), `"attempts":[{"destination":"ringgroup:600","ring_s":30,"line":4}]`) ||
		!strings.Contains(string(r.raw), `"steps":[{"line":3,"context":"internal","text":"from the engine"}]`) {
		t.Errorf("trace through the router: %s", r.raw)
	}
	want := TraceRequest{Context: "internal", Number: "600", CallerNumber: "101", Trunk: "pstn", At: time.Date(2026, 12, 24, 9, 30, 0, 0, time.UTC)}
	if !router.got.At.Equal(want.At) || router.got.Context != want.Context || router.got.Number != want.Number ||
		router.got.CallerNumber != want.CallerNumber || router.got.Trunk != want.Trunk {
		t.Errorf("router asked %+v, want %+v", router.got, want)
	}
	r = env.must(http.StatusBadRequest, env.do("POST", "/api/v1/dialplan/trace", env.admin, map[string]any{"number": "1", "context": "nowhere"}))
	if r.fields()["context"] == nil {
		t.Errorf("unknown context from the router: %s", r.raw)
	}
}

// planRouter traces with the store's current dial plan alone: a stand-in
// for the call engine in the HTTP layer's tests (the engine's own trace is
// tested end to end in package pbx). The caller's outbound class
// and name come from their extension, if they have one.
type planRouter struct {
	Store *store.Store
}

// Trace implements Router.
func (r planRouter) Trace(ctx context.Context, req TraceRequest) (TraceResult, error) {
	cur, err := r.Store.Dialplan(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return TraceResult{}, ErrNoPlan
	} else if err != nil {
		return TraceResult{}, err
	}
	plan, errs := dialplan.Parse(cur.Text)
	if len(errs) > 0 {
		return TraceResult{}, errors.Join(ErrNoPlan, errors.New("the stored dial plan has errors; save a corrected one"))
	}
	if !plan.HasContext(req.Context) {
		return TraceResult{}, ErrUnknownContext
	}
	call := dialplan.Call{Context: req.Context, Number: req.Number, CallerNumber: req.CallerNumber, Trunk: req.Trunk, Time: req.At}
	if dialplan.IsNumber(req.CallerNumber) {
		if e, err := r.Store.GetExtension(ctx, req.CallerNumber); err == nil {
			call.Class, call.CallerName = e.Outbound, e.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			return TraceResult{}, err
		}
	}
	return traceResultOf(plan.Route(call)), nil
}

func traceResultOf(rt dialplan.Route) TraceResult {
	out := TraceResult{
		Outcome: strings.ReplaceAll(rt.Outcome.String(), " ", "_"), Reason: rt.Reason,
		Context: rt.Context, Number: rt.Number, CallerNumber: rt.CallerNumber, CallerName: rt.CallerName,
		Attempts: make([]TraceAttempt, len(rt.Attempts)), Steps: make([]TraceStep, len(rt.Steps)),
	}
	for i, a := range rt.Attempts {
		out.Attempts[i] = TraceAttempt{Destination: a.Dest.String(), Ring: a.Ring, Line: a.Line}
	}
	for i, s := range rt.Steps {
		out.Steps[i] = TraceStep(s)
	}
	return out
}
