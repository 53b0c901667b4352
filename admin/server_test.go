package admin

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

var testUI = fstest.MapFS{
	"index.html":     {Data: []byte("<!doctype html><title>PBX</title>")},
	"assets/app.js":  {Data: []byte("console.log('pbx')")},
	"assets/app.css": {Data: []byte("body{}")},
}

func TestRouting(t *testing.T) {
	for _, ui := range []bool{false, true} {
		t.Run(fmt.Sprintf("ui=%v", ui), func(t *testing.T) {
			var opts []envOption
			if ui {
				opts = append(opts, withUI(testUI))
			}
			env := newEnv(t, opts...)
			tests := []struct {
				method, path string
				want         int
			}{
				{"GET", "/api/v1/nope", http.StatusNotFound},
				{"POST", "/api/v1/nope", http.StatusNotFound},
				{"GET", "/api/v1/extensions/101/extra", http.StatusNotFound},
				{"GET", "/api/nope", http.StatusNotFound},
				{"GET", "/api", http.StatusNotFound},
				{"DELETE", "/api/v1/users", http.StatusMethodNotAllowed},
				{"PUT", "/api/v1/auth/login", http.StatusMethodNotAllowed},
				{"POST", "/healthz", http.StatusMethodNotAllowed},
			}
			for _, tt := range tests {
				r := env.do(tt.method, tt.path, env.admin, nil)
				if r.status != tt.want {
					t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, r.status, tt.want)
				}
				if r.header.Get("Content-Type") != "application/json" || r.str("error") == "" {
					t.Errorf("%s %s: not a JSON error: %q %s", tt.method, tt.path, r.header.Get("Content-Type"), r.raw)
				}
			}
		})
	}
}

func TestSPAFallback(t *testing.T) {
	env := newEnv(t, withUI(testUI))
	tests := []struct {
		path, want string
		status     int
	}{
		{"/", "<!doctype html>", 200},
		{"/extensions", "<!doctype html>", 200},
		{"/extensions/101/edit", "<!doctype html>", 200},
		{"/assets/app.js", "console.log", 200},
		{"/assets/missing.js", "", 404},
		{"/../../etc/passwd", "<!doctype html>", 200},
	}
	for _, tt := range tests {
		r := env.do("GET", tt.path, "", nil)
		if r.status != tt.status || !strings.HasPrefix(string(r.raw), tt.want) {
			t.Errorf("GET %s: %d %q", tt.path, r.status, r.raw)
		}
	}
	r := env.do("GET", "/extensions", "", nil)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("index Content-Type %q", ct)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers %v", r.header)
	}
	// Without a UI, / is a JSON 404.
	plain := newEnv(t)
	if r := plain.do("GET", "/extensions", "", nil); r.status != 404 || r.str("error") == "" {
		t.Errorf("no UI: %d %s", r.status, r.raw)
	}
}

func TestHealthz(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusOK, env.do("GET", "/healthz", "", nil))
	if r.str("status") != "ok" || r.str("version") != "test-1.0" || r.body["uptime_s"] == nil {
		t.Errorf("healthz %s", r.raw)
	}
	env.store.Close()
	r = env.must(http.StatusServiceUnavailable, env.do("GET", "/healthz", "", nil))
	if r.str("status") != "error" || !strings.HasPrefix(r.str("error"), "database: ") {
		t.Errorf("healthz on a closed store %s", r.raw)
	}
}

type fakeMetrics string

func (f fakeMetrics) WriteMetrics(w io.Writer) { io.WriteString(w, string(f)) }

func TestMetrics(t *testing.T) {
	env := newEnv(t, func(c *Config) {
		c.Metrics = []MetricsSource{fakeMetrics("# HELP pbx_sip_registrations Live bindings.\n# TYPE pbx_sip_registrations gauge\npbx_sip_registrations 3\n")}
	})
	env.do("GET", "/api/v1/auth/me", "", nil) // a 401 to count
	env.do("GET", "/healthz", "", nil)
	r := env.must(http.StatusOK, env.do("GET", "/metrics", "", nil))
	if ct := r.header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body := string(r.raw)
	for _, want := range []string{
		"# TYPE pbx_up gauge\npbx_up 1\n",
		`pbx_build_info{version="test-1.0"} 1`,
		"# TYPE pbx_http_requests_total counter\n",
		`pbx_http_requests_total{code="200"} `,
		`pbx_http_requests_total{code="401"} 1`,
		"pbx_sip_registrations 3\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	checkExposition(t, r.raw)

	locked := newEnv(t, withMetricsToken("s3cret"))
	locked.must(http.StatusUnauthorized, locked.do("GET", "/metrics", "", nil))
	locked.must(http.StatusUnauthorized, locked.do("GET", "/metrics", "wrong", nil))
	locked.must(http.StatusOK, locked.do("GET", "/metrics", "s3cret", nil))
}

// checkExposition checks each line is a comment or "name{labels} value".
func checkExposition(t *testing.T, b []byte) {
	t.Helper()
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		s := string(line)
		if strings.HasPrefix(s, "# HELP ") || strings.HasPrefix(s, "# TYPE ") {
			continue
		}
		name, value, ok := strings.Cut(s, " ")
		if !ok || name == "" || value == "" || strings.Contains(value, " ") {
			t.Errorf("bad exposition line %q", s)
		}
	}
}

func TestEscapeLabel(t *testing.T) {
	if got := escapeLabel("a\"b\\c\nd"); got != `a\"b\\c\nd` {
		t.Errorf("escapeLabel = %s", got)
	}
}

type fakeRegistrations []store.Registration

func (f fakeRegistrations) Registrations() []store.Registration { return f }

func TestRegistrations(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	regs := fakeRegistrations{
		{Extension: "102", Contact: "sip:102@10.0.0.2:5060", Source: "10.0.0.2:5060", Transport: "udp", UserAgent: "Yealink T46", ExpiresAt: exp},
		{Extension: "101", Contact: "sip:101@10.0.0.9:5062", Source: "10.0.0.9:5062", Transport: "tcp", UserAgent: "Linphone", ExpiresAt: exp},
		{Extension: "101", Contact: "sip:101@10.0.0.1:5060", Source: "10.0.0.1:5060", Transport: "udp", UserAgent: "baresip", ExpiresAt: exp},
	}
	env := newEnv(t, withRegistrations(regs))
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/registrations", env.admin, nil))
	items := r.items()
	if len(items) != 3 {
		t.Fatalf("items %s", r.raw)
	}
	first := items[0].(map[string]any)
	want := map[string]any{"extension": "101", "contact": "sip:101@10.0.0.1:5060", "source": "10.0.0.1:5060/udp",
		"user_agent": "baresip", "expires_at": "2030-01-02T03:04:05Z"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if items[2].(map[string]any)["extension"] != "102" {
		t.Errorf("not sorted: %s", r.raw)
	}
	if regs[0].Extension != "102" {
		t.Error("the registrar's slice was reordered")
	}

	// Paging by cursor.
	p1 := env.must(http.StatusOK, env.do("GET", "/api/v1/registrations?limit=2", env.admin, nil))
	next := p1.str("next_cursor")
	if len(p1.items()) != 2 || next == "" {
		t.Fatalf("page 1 %s", p1.raw)
	}
	p2 := env.must(http.StatusOK, env.do("GET", "/api/v1/registrations?limit=2&cursor="+next, env.admin, nil))
	if len(p2.items()) != 1 || p2.str("next_cursor") != "" || p2.items()[0].(map[string]any)["extension"] != "102" {
		t.Errorf("page 2 %s", p2.raw)
	}
	env.must(http.StatusBadRequest, env.do("GET", "/api/v1/registrations?cursor=!!", env.admin, nil))

	f := env.must(http.StatusOK, env.do("GET", "/api/v1/registrations?extension=102", env.admin, nil))
	if len(f.items()) != 1 {
		t.Errorf("filtered %s", f.raw)
	}

	// A user sees their own extension's only.
	env.createExtension("101", nil)
	anna := env.createUser("anna", roleUser, "101")
	own := env.must(http.StatusOK, env.do("GET", "/api/v1/registrations", anna, nil))
	if len(own.items()) != 2 {
		t.Errorf("user sees %s", own.raw)
	}

	// No registrar: an empty list.
	empty := newEnv(t)
	r = empty.must(http.StatusOK, empty.do("GET", "/api/v1/registrations", empty.admin, nil))
	if string(r.raw) != `{"items":[],"next_cursor":""}`+"\n" {
		t.Errorf("empty %q", r.raw)
	}
}

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a store succeeded")
	}
	env := newEnv(t)
	if _, err := New(Config{Store: env.store, BcryptCost: 99}); err == nil {
		t.Error("New with bcrypt cost 99 succeeded")
	}
}
