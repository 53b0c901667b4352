package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/officepbx/pbx/pbx/store"
)

// fakeMail records test mails and answers with err.
type fakeMail struct {
	mu   sync.Mutex
	err  error
	sent []string
	cfgs []store.SMTPSettings
}

func (f *fakeMail) SendTest(_ context.Context, cfg store.SMTPSettings, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, to)
	f.cfgs = append(f.cfgs, cfg)
	return f.err
}

func withMail(m MailTester) envOption { return func(c *Config) { c.Mail = m } }

func TestSMTPSettingsAPI(t *testing.T) {
	env := newEnv(t)
	const path = "/api/v1/settings/smtp"

	r := env.must(http.StatusOK, env.do("GET", path, env.admin, nil))
	if r.body["enabled"] != false || r.body["port"] != float64(587) || r.str("security") != "starttls" || r.body["password_set"] != false {
		t.Errorf("defaults %s", r.raw)
	}

	// Every problem at once.
	r = env.must(http.StatusBadRequest, env.do("PUT", path, env.admin, map[string]any{
		"enabled": true, "port": 70000, "security": "ssl", "username": "pbx", "from": "not an address",
	}))
	for _, f := range []string{"host", "port", "security", "password", "from"} {
		if _, ok := r.fields()[f]; !ok {
			t.Errorf("no field error for %s: %s", f, r.raw)
		}
	}
	env.must(http.StatusBadRequest, env.do("PUT", path, env.admin, map[string]any{"host": "mail example.com"}))
	env.must(http.StatusBadRequest, env.do("PUT", path, env.admin, map[string]any{"bogus": 1}))
	env.must(http.StatusBadRequest, env.do("PUT", path, env.admin, map[string]any{"password": "a\r\nb"}))

	// Saved; the password is write-only.
	in := map[string]any{"enabled": true, "host": "mail.example.com", "port": 465, "security": "tls",
		"username": "pbx", "password": "s3cret-pass", "from": "pbx@example.com"}
	r = env.must(http.StatusOK, env.do("PUT", path, env.admin, in))
	if strings.Contains(string(r.raw), "s3cret") || r.body["password_set"] != true || r.body["port"] != float64(465) {
		t.Errorf("put answered %s", r.raw)
	}
	r = env.must(http.StatusOK, env.do("GET", path, env.admin, nil))
	if strings.Contains(string(r.raw), "s3cret") || r.body["password"] != nil || r.str("host") != "mail.example.com" {
		t.Errorf("get %s", r.raw)
	}

	// A PUT without password keeps it; omitted fields take defaults.
	delete(in, "password")
	delete(in, "port")
	delete(in, "security")
	in["password_set"] = false // read-only, ignored
	env.must(http.StatusOK, env.do("PUT", path, env.admin, in))
	got, err := env.store.SMTPSettings(context.Background())
	if err != nil || got.Password != "s3cret-pass" || got.Port != 587 || got.Security != "starttls" {
		t.Errorf("stored %+v, %v", got, err)
	}
	// "" clears it, which a username then forbids.
	in["password"] = ""
	r = env.must(http.StatusBadRequest, env.do("PUT", path, env.admin, in))
	if r.fields()["password"] == nil {
		t.Errorf("clearing the password with a username: %s", r.raw)
	}

	// Admin only.
	h, _ := hashPassword("user-password", 4)
	if err := env.store.CreateUser(context.Background(), &store.User{Username: "u", PasswordHash: h, Role: roleUser}); err != nil {
		t.Fatal(err)
	}
	user := env.sessionFor(t, "u")
	env.must(http.StatusForbidden, env.do("GET", path, user, nil))
	env.must(http.StatusForbidden, env.do("PUT", path, user, in))
	env.must(http.StatusForbidden, env.do("POST", path+"/test", user, map[string]any{"to": "a@example.com"}))
	env.must(http.StatusUnauthorized, env.do("GET", path, "", nil))
}

func TestSMTPTestMail(t *testing.T) {
	mail := &fakeMail{}
	env := newEnv(t, withMail(mail))
	const path = "/api/v1/settings/smtp/test"

	r := env.must(http.StatusBadRequest, env.do("POST", path, env.admin, map[string]any{}))
	if r.fields()["to"] == nil {
		t.Errorf("no to: %s", r.raw)
	}
	env.must(http.StatusBadRequest, env.do("POST", path, env.admin, map[string]any{"to": "nobody"}))
	// Nothing saved yet.
	env.must(http.StatusConflict, env.do("POST", path, env.admin, map[string]any{"to": "anna@example.com"}))

	// Saved but not enabled: the test still goes out, with the stored password.
	env.must(http.StatusOK, env.do("PUT", "/api/v1/settings/smtp", env.admin, map[string]any{
		"host": "mail.example.com", "username": "pbx", "password": "pw-123456", "from": "pbx@example.com"}))
	r = env.must(http.StatusOK, env.do("POST", path, env.admin, map[string]any{"to": "anna@example.com"}))
	if r.body["sent"] != true || len(mail.sent) != 1 || mail.sent[0] != "anna@example.com" || mail.cfgs[0].Password != "pw-123456" {
		t.Errorf("answer %s, sent %v %+v", r.raw, mail.sent, mail.cfgs)
	}

	// The server's refusal is reported.
	mail.err = errors.New("AUTH: 535 5.7.8 authentication failed")
	r = env.must(http.StatusBadGateway, env.do("POST", path, env.admin, map[string]any{"to": "anna@example.com"}))
	if !strings.Contains(r.str("error"), "535 5.7.8 authentication failed") {
		t.Errorf("error %s", r.raw)
	}

	// Without a mailer: 503.
	env2 := newEnv(t)
	env2.must(http.StatusOK, env2.do("PUT", "/api/v1/settings/smtp", env2.admin, map[string]any{"host": "h", "from": "pbx@example.com"}))
	env2.must(http.StatusServiceUnavailable, env2.do("POST", path, env2.admin, map[string]any{"to": "anna@example.com"}))
}
