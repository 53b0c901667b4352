package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/officepbx/pbx/pbx/store"
)

const adminPassword = "correct horse battery"

// testEnv is a Server on a real store in a temporary directory, reached
// through a real HTTP listener.
type testEnv struct {
	t     *testing.T
	srv   *Server
	store *store.Store
	ts    *httptest.Server
	admin string // a session token of user "admin"
}

type envOption func(*Config)

func withUI(ui fs.FS) envOption                       { return func(c *Config) { c.UI = ui } }
func withRegistrations(r LiveRegistrations) envOption { return func(c *Config) { c.Registrations = r } }
func withEvents(w RegistrationWatcher) envOption      { return func(c *Config) { c.Events = w } }
func withMetricsToken(tok string) envOption           { return func(c *Config) { c.MetricsToken = tok } }

func newEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "pbx.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := Config{Store: st, Version: "test-1.0", BcryptCost: bcrypt.MinCost}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hashPassword(adminPassword, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &store.User{Username: "admin", PasswordHash: h, Role: roleAdmin}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tt, _ := t.(*testing.T)
	env := &testEnv{t: tt, srv: srv, store: st, ts: ts}
	env.admin = env.sessionFor(t, "admin")
	return env
}

// sessionFor opens a session for username straight in the store, skipping
// the login endpoint (and its rate limit).
func (e *testEnv) sessionFor(t testing.TB, username string) string {
	t.Helper()
	tok := newToken(sessionPrefix)
	if err := e.store.CreateSession(context.Background(), hashToken(tok), username, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return tok
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r response) fields() map[string]any {
	f, _ := r.body["fields"].(map[string]any)
	return f
}

func (r response) items() []any {
	it, _ := r.body["items"].([]any)
	return it
}

// do sends a request. body may be nil, a string (sent verbatim) or a value
// to marshal; any body is sent as application/json.
func (e *testEnv) do(method, path, token string, body any) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

func (e *testEnv) send(req *http.Request) response {
	e.t.Helper()
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 && res.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", req.Method, req.URL.Path, err, raw)
		}
	}
	return r
}

// must checks the status of a response and returns it.
func (e *testEnv) must(want int, r response) response {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d; body %s", r.status, want, r.raw)
	}
	return r
}

// createExtension makes an extension through the API.
func (e *testEnv) createExtension(number string, extra map[string]any) response {
	e.t.Helper()
	body := map[string]any{"number": number}
	for k, v := range extra {
		body[k] = v
	}
	return e.must(http.StatusCreated, e.do("POST", "/api/v1/extensions", e.admin, body))
}

// createUser makes a user through the API and returns a session for them.
func (e *testEnv) createUser(username, role, extension string) string {
	e.t.Helper()
	e.must(http.StatusCreated, e.do("POST", "/api/v1/users", e.admin,
		map[string]any{"username": username, "password": "password-" + username, "role": role, "extension": extension}))
	return e.sessionFor(e.t, username)
}

// as returns a copy of e that reports failures to t (a subtest).
func (e *testEnv) as(t *testing.T) *testEnv {
	c := *e
	c.t = t
	return &c
}

func urlQuery(s string) string { return url.QueryEscape(s) }
