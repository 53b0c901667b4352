package admin

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// fakeGuard is a block list in memory.
type fakeGuard struct {
	mu      sync.Mutex
	blocked map[string]store.BlockedSource
}

func (g *fakeGuard) BlockedSources() []store.BlockedSource {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []store.BlockedSource
	for _, b := range g.blocked {
		out = append(out, b)
	}
	return out
}

func (g *fakeGuard) Unblock(ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.blocked[ip]
	delete(g.blocked, ip)
	return ok
}

func TestBlockedSources(t *testing.T) {
	until := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	g := &fakeGuard{blocked: map[string]store.BlockedSource{
		"203.0.113.9": {Source: "203.0.113.9", Reason: "scanner", Until: until},
	}}
	env := newEnv(t, func(c *Config) { c.Guard = g })
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/security/blocked", env.admin, nil))
	items := r.items()
	if len(items) != 1 {
		t.Fatalf("blocked %s", r.raw)
	}
	b := items[0].(map[string]any)
	if b["source"] != "203.0.113.9" || b["reason"] != "scanner" || b["until"] != until.Format(time.RFC3339) {
		t.Fatalf("blocked item %v", b)
	}
	env.must(http.StatusBadRequest, env.do("DELETE", "/api/v1/security/blocked/not-an-ip", env.admin, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/security/blocked/198.51.100.1", env.admin, nil))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/security/blocked/203.0.113.9", env.admin, nil))
	if r := env.must(http.StatusOK, env.do("GET", "/api/v1/security/blocked", env.admin, nil)); len(r.items()) != 0 {
		t.Fatalf("still blocked: %s", r.raw)
	}
	// Admin only.
	user := env.createUser("clerk", "user", "")
	env.must(http.StatusForbidden, env.do("GET", "/api/v1/security/blocked", user, nil))
	env.must(http.StatusForbidden, env.do("PUT", "/api/v1/security/allowlist", user, map[string]any{"items": []any{}}))
}

func TestAllowList(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/security/allowlist", env.admin, nil))
	if len(r.items()) != 2 || r.items()[0].(map[string]any)["cidr"] != "127.0.0.0/8" {
		t.Fatalf("default allow-list %s", r.raw)
	}
	r = env.must(http.StatusOK, env.do("PUT", "/api/v1/security/allowlist", env.admin, map[string]any{"items": []any{
		map[string]any{"cidr": "10.1.2.3/8", "note": "office LAN"},
		map[string]any{"cidr": " 192.0.2.7 "},
	}}))
	items := r.items()
	if len(items) != 2 || items[0].(map[string]any)["cidr"] != "10.0.0.0/8" || items[0].(map[string]any)["note"] != "office LAN" ||
		items[1].(map[string]any)["cidr"] != "192.0.2.7/32" {
		t.Fatalf("stored allow-list %s", r.raw)
	}
	cfg, err := env.store.SIPSecurity(t.Context())
	if err != nil || len(cfg.Allow) != 2 || cfg.Allow[1].CIDR != "192.0.2.7/32" {
		t.Fatalf("store %+v %v", cfg, err)
	}
	bad := env.must(http.StatusBadRequest, env.do("PUT", "/api/v1/security/allowlist", env.admin, map[string]any{"items": []any{
		map[string]any{"cidr": "10.0.0.0/8"},
		map[string]any{"cidr": "example.com"},
		map[string]any{"cidr": "10.0.0.1/8"},
		map[string]any{"cidr": "::1", "note": strings.Repeat("n", 201)},
	}}))
	f := bad.fields()
	if f["items[1].cidr"] == nil || f["items[2].cidr"] != "listed twice" || f["items[3].note"] == nil || f["items[0].cidr"] != nil {
		t.Fatalf("field errors %s", bad.raw)
	}
	env.must(http.StatusBadRequest, env.do("PUT", "/api/v1/security/allowlist", env.admin, map[string]any{}))
	// Nothing changed by the refused PUT.
	if r := env.must(http.StatusOK, env.do("GET", "/api/v1/security/allowlist", env.admin, nil)); len(r.items()) != 2 {
		t.Fatalf("after refused PUT %s", r.raw)
	}
	env.must(http.StatusOK, env.do("PUT", "/api/v1/security/allowlist", env.admin, map[string]any{"items": []any{}}))
	if r := env.must(http.StatusOK, env.do("GET", "/api/v1/security/allowlist", env.admin, nil)); len(r.items()) != 0 {
		t.Fatalf("emptied allow-list %s", r.raw)
	}
}

func TestSecuritySettings(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/security/settings", env.admin, nil))
	if r.body["rate_per_second"] != 100.0 || r.body["rate_burst"] != 1000.0 ||
		!strings.Contains(string(r.raw), `"friendly-scanner"`) {
		t.Fatalf("defaults %s", r.raw)
	}
	r = env.must(http.StatusOK, env.do("PUT", "/api/v1/security/settings", env.admin, map[string]any{
		"scanner_user_agents": []string{"evil-scan", " sipvicious "}, "rate_per_second": 20}))
	if r.body["rate_per_second"] != 20.0 || r.body["rate_burst"] != 200.0 || !strings.Contains(string(r.raw), `["evil-scan","sipvicious"]`) {
		t.Fatalf("stored %s", r.raw)
	}
	bad := env.must(http.StatusBadRequest, env.do("PUT", "/api/v1/security/settings", env.admin, map[string]any{
		"scanner_user_agents": []string{"ok", "", "tab\there"}, "rate_per_second": -1, "rate_burst": 2000000}))
	f := bad.fields()
	for _, k := range []string{"scanner_user_agents[1]", "scanner_user_agents[2]", "rate_per_second", "rate_burst"} {
		if f[k] == nil {
			t.Errorf("no error for %s: %s", k, bad.raw)
		}
	}
	env.must(http.StatusBadRequest, env.do("PUT", "/api/v1/security/settings", env.admin, map[string]any{"rate_per_second": 50, "rate_burst": 10}))
	// Omitted fields take their defaults; the allow-list is untouched.
	env.must(http.StatusOK, env.do("PUT", "/api/v1/security/allowlist", env.admin, map[string]any{"items": []any{map[string]any{"cidr": "10.0.0.0/8"}}}))
	r = env.must(http.StatusOK, env.do("PUT", "/api/v1/security/settings", env.admin, map[string]any{"rate_per_second": 0}))
	if r.body["rate_per_second"] != 0.0 || !strings.Contains(string(r.raw), "VaxSIPUserAgent") {
		t.Fatalf("after PUT with defaults %s", r.raw)
	}
	if cfg, _ := env.store.SIPSecurity(t.Context()); len(cfg.Allow) != 1 {
		t.Fatalf("settings PUT touched the allow-list: %+v", cfg)
	}
}

// cookieRequest is a request authenticated by the session cookie alone,
// as a browser sends it.
func (e *testEnv) cookieRequest(method, path, body string, hdr map[string]string) *http.Request {
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewBufferString(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.admin})
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func TestCSRF(t *testing.T) {
	env := newEnv(t)
	body := `{"number":"101"}`
	// A change with the cookie alone (a forged cross-site form or fetch) is refused.
	r := env.must(http.StatusForbidden, env.send(env.cookieRequest("POST", "/api/v1/extensions", body, nil)))
	if !strings.Contains(r.str("error"), "X-Requested-With") {
		t.Errorf("error %s", r.raw)
	}
	// Even with the header, an Origin of another site is refused.
	env.must(http.StatusForbidden, env.send(env.cookieRequest("POST", "/api/v1/extensions", body,
		map[string]string{"X-Requested-With": "x", "Origin": "https://evil.example"})))
	env.must(http.StatusForbidden, env.send(env.cookieRequest("POST", "/api/v1/extensions", body,
		map[string]string{"X-Requested-With": "x", "Origin": "null"})))
	if _, err := env.store.GetExtension(t.Context(), "101"); err == nil {
		t.Fatal("a refused request created the extension")
	}
	// The console's request: header and its own origin.
	env.must(http.StatusCreated, env.send(env.cookieRequest("POST", "/api/v1/extensions", body,
		map[string]string{"X-Requested-With": "pbx-console", "Origin": env.ts.URL})))
	// Reading needs no header; a bearer token needs none for changes.
	env.must(http.StatusOK, env.send(env.cookieRequest("GET", "/api/v1/extensions/101", "", nil)))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/extensions/101", env.admin, nil))
	// A login from another site's page is refused; a script's (no Origin) is not.
	req, _ := http.NewRequest("POST", env.ts.URL+"/api/v1/auth/login",
		strings.NewReader(`{"username":"admin","password":"`+adminPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://evil.example")
	env.must(http.StatusForbidden, env.send(req))
	env.must(http.StatusOK, env.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "admin", "password": adminPassword}))
}

func TestSecurityHeadersAndBodyLimit(t *testing.T) {
	env := newEnv(t, withUI(testUI))
	for _, path := range []string{"/", "/api/v1/auth/me", "/healthz"} {
		r := env.do("GET", path, env.admin, nil)
		h := r.header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
			"Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", path)
		}
	}
	big := strings.Repeat("x", 2<<20)
	env.must(http.StatusRequestEntityTooLarge, env.do("POST", "/api/v1/extensions", env.admin, `{"name":"`+big+`"}`))
	// Routes outside the API are limited too.
	env.must(http.StatusRequestEntityTooLarge, env.do("POST", "/index.html", "", big))
}

func TestAuditLog(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/extensions/101", env.admin, map[string]any{"name": "Reception"}))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/extensions/999", env.admin, nil))
	env.must(http.StatusOK, env.do("GET", "/api/v1/extensions/101", env.admin, nil))       // a read: not logged
	env.must(http.StatusUnauthorized, env.do("DELETE", "/api/v1/extensions/101", "", nil)) // no caller: not logged
	env.must(http.StatusUnauthorized, env.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "mallory", "password": "guess-guess"}))
	clerk := env.createUser("clerk", "user", "")
	env.must(http.StatusForbidden, env.do("DELETE", "/api/v1/extensions/101", clerk, nil))

	r := env.must(http.StatusOK, env.do("GET", "/api/v1/audit", env.admin, nil))
	type row struct {
		user, method, path, entity string
		status                     float64
	}
	var got []row
	for _, it := range r.items() {
		m := it.(map[string]any)
		if m["remote_ip"] != "127.0.0.1" {
			t.Errorf("remote_ip %v", m["remote_ip"])
		}
		if at, err := time.Parse(time.RFC3339Nano, m["at"].(string)); err != nil || time.Since(at) > time.Minute {
			t.Errorf("at %v", m["at"])
		}
		got = append(got, row{m["username"].(string), m["method"].(string), m["path"].(string), m["entity"].(string), m["status"].(float64)})
	}
	want := []row{ // newest first
		{"clerk", "DELETE", "/api/v1/extensions/101", "extensions/101", 403},
		{"admin", "POST", "/api/v1/users", "users", 201},
		{"mallory", "POST", "/api/v1/auth/login", "auth/login", 401},
		{"admin", "DELETE", "/api/v1/extensions/999", "extensions/999", 404},
		{"admin", "PATCH", "/api/v1/extensions/101", "extensions/101", 200},
		{"admin", "POST", "/api/v1/extensions", "extensions", 201},
	}
	if len(got) != len(want) {
		t.Fatalf("audit log:\n%+v\nwant\n%+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// Paged like every list; filtered by user; admin only.
	p1 := env.must(http.StatusOK, env.do("GET", "/api/v1/audit?limit=4", env.admin, nil))
	if len(p1.items()) != 4 || p1.str("next_cursor") == "" {
		t.Fatalf("page 1 %s", p1.raw)
	}
	p2 := env.must(http.StatusOK, env.do("GET", "/api/v1/audit?limit=4&cursor="+p1.str("next_cursor"), env.admin, nil))
	if len(p2.items()) != 2 || p2.str("next_cursor") != "" {
		t.Fatalf("page 2 %s", p2.raw)
	}
	if r := env.must(http.StatusOK, env.do("GET", "/api/v1/audit?username=clerk", env.admin, nil)); len(r.items()) != 1 {
		t.Fatalf("filtered %s", r.raw)
	}
	env.must(http.StatusBadRequest, env.do("GET", "/api/v1/audit?cursor=x", env.admin, nil))
	env.must(http.StatusBadRequest, env.do("GET", "/api/v1/audit?limit=0", env.admin, nil))
	env.must(http.StatusForbidden, env.do("GET", "/api/v1/audit", clerk, nil))
}
