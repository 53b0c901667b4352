// Package pbxtest is the test kit: it starts the whole PBX on loopback
// ports with a temporary data directory and gives tests scriptable SIP user
// agents and an authenticated REST client. Every end-to-end test builds on it.
package pbxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/app"
)

// AdminPassword is the password of the "admin" user of every test PBX.
const AdminPassword = "pbxtest-admin-password"

// PBX is a running PBX under test.
type PBX struct {
	t       testing.TB
	App     *app.App
	Config  app.Config
	SIPAddr string // host:port, UDP and TCP
	URL     string // http://host:port
	Token   string // an admin session token
	Logs    *LogBuffer
}

// Option changes the configuration of a test PBX.
type Option func(*app.Config)

// WithConfig lets a test change any configuration field.
func WithConfig(fn func(*app.Config)) Option { return Option(fn) }

// WithTLS makes the PBX listen for SIP over TLS too (self-signed).
func WithTLS() Option { return func(c *app.Config) { c.SIPTLSAddr = "127.0.0.1:0" } }

// Start starts a PBX on 127.0.0.1 with fresh ports and a temporary data
// directory, logs in as admin, and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *PBX {
	t.Helper()
	cfg := app.Config{
		DataDir:           t.TempDir(),
		SIPAddr:           "127.0.0.1:0",
		HTTPAddr:          "127.0.0.1:0",
		RTPPorts:          "20000-20999",
		ExternalIP:        "127.0.0.1",
		AdminPassword:     AdminPassword,
		BcryptCost:        4,
		AuthFailLimit:     10,
		RegistrationFlush: 50 * time.Millisecond,
		Version:           "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	p := &PBX{t: t, Config: cfg}
	p.start()
	t.Cleanup(p.Stop)
	return p
}

func (p *PBX) start() {
	p.t.Helper()
	p.Logs = &LogBuffer{}
	var logOut io.Writer = p.Logs
	if os.Getenv("PBXTEST_LOG") != "" {
		logOut = io.MultiWriter(logOut, os.Stderr)
	}
	lvl := slog.LevelDebug
	if os.Getenv("PBXTEST_QUIET") != "" {
		lvl = slog.LevelWarn
	}
	p.Config.Log = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: lvl}))
	a, err := app.Start(context.Background(), p.Config)
	if err != nil {
		p.t.Fatalf("start PBX: %v", err)
	}
	p.App = a
	p.SIPAddr = a.SIPUDPAddr()
	p.URL = "http://" + a.HTTPAddr()
	// Restarts keep the same ports, as a real restart would.
	p.Config.SIPAddr, p.Config.HTTPAddr = a.SIPUDPAddr(), a.HTTPAddr()
	if a.SIPTLSAddr() != "" {
		p.Config.SIPTLSAddr = a.SIPTLSAddr()
	}
	p.Token = p.Login("admin", AdminPassword)
}

// Stop shuts the PBX down gracefully (idempotent).
func (p *PBX) Stop() {
	if p.App == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.App.Shutdown(ctx); err != nil {
		p.t.Errorf("shutdown: %v", err)
	}
	p.App = nil
	// The HTTP client's kept-alive connections were to this server: a
	// restarted PBX listens on the same port, and a POST sent on one of
	// them before the client noticed it closed fails with EOF (it is not
	// retried, not being idempotent).
	http.DefaultClient.CloseIdleConnections()
}

// Restart stops the PBX gracefully and starts it again on the same data
// directory and ports.
func (p *PBX) Restart() {
	p.t.Helper()
	p.Stop()
	p.start()
}

// Login logs in through the API and returns the session token.
func (p *PBX) Login(username, password string) string {
	p.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	code, body := p.DoToken("", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": password})
	if code != http.StatusOK {
		p.t.Fatalf("login %s: %d %s", username, code, body)
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		p.t.Fatalf("login %s: bad answer %s", username, body)
	}
	return out.Token
}

// Do calls the REST API as admin. body is marshalled to JSON unless it is
// a string or []byte, which are sent as they are.
func (p *PBX) Do(method, path string, body any) (int, []byte) {
	p.t.Helper()
	return p.DoToken(p.Token, method, path, body)
}

// DoToken calls the REST API with the given bearer token (none if empty).
func (p *PBX) DoToken(token, method, path string, body any) (int, []byte) {
	p.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewBuffer(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			p.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewBuffer(js)
	}
	req, err := http.NewRequest(method, p.URL+path, rd)
	if err != nil {
		p.t.Fatalf("request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return res.StatusCode, out
}

// Extension is what CreateExtension returns.
type Extension struct {
	Number string `json:"number"`
	Secret string `json:"secret"`
}

// CreateExtension creates an extension through the API; fields adds or
// overrides JSON fields (e.g. "auth_algorithms"). Its voicemail is off
// unless fields say otherwise.
func (p *PBX) CreateExtension(number string, fields map[string]any) Extension {
	p.t.Helper()
	// Voicemail off unless a test asks: call tests see the phones' own
	// answers (486, 480) rather than the box taking the call.
	body := map[string]any{"number": number, "name": "Test " + number, "voicemail": map[string]any{"enabled": false}}
	for k, v := range fields {
		body[k] = v
	}
	code, out := p.Do(http.MethodPost, "/api/v1/extensions", body)
	if code != http.StatusCreated {
		p.t.Fatalf("create extension %s: %d %s", number, code, out)
	}
	var e Extension
	if err := json.Unmarshal(out, &e); err != nil || e.Secret == "" {
		p.t.Fatalf("create extension %s: bad answer %s", number, out)
	}
	return e
}

// LogBuffer collects the PBX's log, safe for concurrent use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends to the log.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns the log so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Attach drives a PBX running in another process (a built binary) at
// sipAddr (UDP and TCP) and httpURL, logged in as admin with
// adminPassword: its UAs and API helpers work as with Start, but App is
// nil (nothing in-process to inspect).
func Attach(t testing.TB, sipAddr, httpURL, adminPassword string) *PBX {
	t.Helper()
	p := &PBX{t: t, SIPAddr: sipAddr, URL: httpURL, Logs: &LogBuffer{}}
	p.Token = p.Login("admin", adminPassword)
	return p
}
