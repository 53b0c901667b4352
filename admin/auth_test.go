package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusOK, env.do("POST", "/api/v1/auth/login", "",
		map[string]any{"username": "admin", "password": adminPassword}))
	tok := r.str("token")
	if !strings.HasPrefix(tok, sessionPrefix) || len(tok) < 40 {
		t.Fatalf("token %q", tok)
	}
	if r.str("username") != "admin" || r.str("role") != "admin" || r.body["extension"] != "" {
		t.Errorf("login body %s", r.raw)
	}
	if exp, err := time.Parse(time.RFC3339, r.str("expires_at")); err != nil || exp.Sub(time.Now()) < 23*time.Hour {
		t.Errorf("expires_at %q (%v)", r.str("expires_at"), err)
	}
	cookie := r.header.Get("Set-Cookie")
	for _, attr := range []string{"pbx_session=" + tok, "Path=/", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("Set-Cookie %q lacks %q", cookie, attr)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("Set-Cookie %q is Secure over plain HTTP", cookie)
	}

	// The token works as a bearer token and as the cookie.
	me := env.must(http.StatusOK, env.do("GET", "/api/v1/auth/me", tok, nil))
	if me.str("username") != "admin" || me.str("role") != "admin" {
		t.Errorf("me %s", me.raw)
	}
	req, _ := http.NewRequest("GET", env.ts.URL+"/api/v1/auth/me", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
	env.must(http.StatusOK, env.send(req))
}

func TestLoginFailures(t *testing.T) {
	env := newEnv(t)
	tests := []struct {
		name string
		body any
		want int
	}{
		{"wrong password", map[string]any{"username": "admin", "password": "nope-nope"}, http.StatusUnauthorized},
		{"unknown user", map[string]any{"username": "ghost", "password": adminPassword}, http.StatusUnauthorized},
		{"too long password", map[string]any{"username": "admin", "password": strings.Repeat("x", 100)}, http.StatusUnauthorized},
		{"missing fields", map[string]any{}, http.StatusBadRequest},
		{"unknown field", map[string]any{"username": "admin", "password": "x", "otp": 1}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := env.as(t)
			r := env.must(tt.want, env.do("POST", "/api/v1/auth/login", "", tt.body))
			if tt.want == http.StatusUnauthorized && r.str("error") != "invalid username or password" {
				t.Errorf("error %q", r.str("error"))
			}
			if r.header.Get("Set-Cookie") != "" {
				t.Error("failed login set a cookie")
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	env := newEnv(t)
	bad := map[string]any{"username": "admin", "password": "wrong-password"}
	for i := 0; i < maxFailures; i++ {
		env.must(http.StatusUnauthorized, env.do("POST", "/api/v1/auth/login", "", bad))
	}
	// Blocked now, even with the right password.
	r := env.must(http.StatusTooManyRequests, env.do("POST", "/api/v1/auth/login", "",
		map[string]any{"username": "admin", "password": adminPassword}))
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs <= 0 || secs > int(failureWindow/time.Second) {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if want := "too many failed login attempts; try again in " + strconv.Itoa(secs) + " seconds"; r.str("error") != want {
		t.Errorf("error %q, want %q", r.str("error"), want)
	}
	// Other endpoints are not affected.
	env.must(http.StatusOK, env.do("GET", "/api/v1/auth/me", env.admin, nil))
}

func TestLoginLimiterWindow(t *testing.T) {
	l := newLoginLimiter()
	t0 := time.Unix(1_000_000, 0)
	for i := 0; i < maxFailures; i++ {
		if d := l.blocked("192.0.2.1", t0); d != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("192.0.2.1", t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(10 * time.Second)
	if d := l.blocked("192.0.2.1", now); d != failureWindow-10*time.Second {
		t.Errorf("wait %v", d)
	}
	if d := l.blocked("192.0.2.2", now); d != 0 {
		t.Errorf("other address blocked for %v", d)
	}
	// Once the oldest failure ages out, one more attempt is allowed.
	if d := l.blocked("192.0.2.1", t0.Add(failureWindow)); d != 0 {
		t.Errorf("still blocked after the window: %v", d)
	}
}

func TestLoginLimiterBounded(t *testing.T) {
	l := newLoginLimiter()
	now := time.Unix(1_000_000, 0)
	for i := 0; i < maxTrackedIPs+500; i++ {
		l.fail("10.0."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256), now)
	}
	if n := len(l.failures); n > maxTrackedIPs {
		t.Errorf("tracking %d addresses, bound %d", n, maxTrackedIPs)
	}
	// Aged-out entries are pruned when a full map meets a new address.
	for i := len(l.failures); i < maxTrackedIPs; i++ {
		l.fail("10.1."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256), now)
	}
	later := now.Add(failureWindow + time.Second)
	l.fail("192.0.2.9", later)
	if n := len(l.failures); n != 1 {
		t.Errorf("after the window %d addresses tracked, want 1", n)
	}
}

func TestLogout(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusOK, env.do("POST", "/api/v1/auth/login", "",
		map[string]any{"username": "admin", "password": adminPassword}))
	tok := r.str("token")
	out := env.must(http.StatusNoContent, env.do("POST", "/api/v1/auth/logout", tok, nil))
	if c := out.header.Get("Set-Cookie"); !strings.Contains(c, "pbx_session=;") || !strings.Contains(c, "Max-Age=0") {
		t.Errorf("logout Set-Cookie %q does not clear the cookie", c)
	}
	env.must(http.StatusUnauthorized, env.do("GET", "/api/v1/auth/me", tok, nil))
}

func TestAuthentication(t *testing.T) {
	env := newEnv(t)
	tok := env.must(http.StatusCreated, env.do("POST", "/api/v1/tokens", env.admin, map[string]any{"name": "backup script"}))
	apiTok := tok.str("token")
	if !strings.HasPrefix(apiTok, apiTokenPrefix) {
		t.Fatalf("API token %q", apiTok)
	}
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"none", "", http.StatusUnauthorized},
		{"session", "Bearer " + env.admin, http.StatusOK},
		{"api token", "Bearer " + apiTok, http.StatusOK},
		{"lower-case scheme", "bearer " + apiTok, http.StatusOK},
		{"unknown session", "Bearer " + sessionPrefix + "AAAA", http.StatusUnauthorized},
		{"unknown api token", "Bearer " + apiTokenPrefix + "AAAA", http.StatusUnauthorized},
		{"no prefix", "Bearer abc", http.StatusUnauthorized},
		{"basic", "Basic YWRtaW46YWRtaW4=", http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := env.as(t)
			req, _ := http.NewRequest("GET", env.ts.URL+"/api/v1/extensions", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			r := env.must(tt.want, env.send(req))
			if tt.want == http.StatusUnauthorized {
				if r.str("error") == "" || r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without error or WWW-Authenticate: %v %s", r.header, r.raw)
				}
			}
		})
	}
}

func TestAPITokens(t *testing.T) {
	env := newEnv(t)
	created := env.must(http.StatusCreated, env.do("POST", "/api/v1/tokens", env.admin, map[string]any{"name": "ci"}))
	tok := created.str("token")
	id := int64(created.body["id"].(float64))

	// Using the token records last_used_at.
	env.must(http.StatusOK, env.do("GET", "/api/v1/auth/me", tok, nil))
	list := env.must(http.StatusOK, env.do("GET", "/api/v1/tokens", env.admin, nil))
	items := list.items()
	if len(items) != 1 {
		t.Fatalf("tokens %s", list.raw)
	}
	item := items[0].(map[string]any)
	if item["name"] != "ci" || item["username"] != "admin" || item["last_used_at"] == nil || item["token"] != nil {
		t.Errorf("token item %v", item)
	}
	if _, ok := list.body["next_cursor"]; !ok {
		t.Error("no next_cursor")
	}

	// A second use within the minute does not write again.
	if env.srv.touches.due(hashToken(tok), time.Now()) {
		t.Error("touch due again within a minute")
	}

	// A user sees only their own tokens and cannot revoke others'.
	env.createExtension("201", nil)
	anna := env.createUser("anna", roleUser, "201")
	annaTok := env.must(http.StatusCreated, env.do("POST", "/api/v1/tokens", anna, map[string]any{"name": "phone app"}))
	own := env.must(http.StatusOK, env.do("GET", "/api/v1/tokens", anna, nil))
	if len(own.items()) != 1 || own.items()[0].(map[string]any)["username"] != "anna" {
		t.Errorf("anna's tokens %s", own.raw)
	}
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/tokens/"+strconv.FormatInt(id, 10), anna, nil))
	all := env.must(http.StatusOK, env.do("GET", "/api/v1/tokens", env.admin, nil))
	if len(all.items()) != 2 {
		t.Errorf("admin sees %d tokens, want 2", len(all.items()))
	}
	annaID := strconv.FormatInt(int64(annaTok.body["id"].(float64)), 10)
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/tokens/"+annaID, anna, nil))

	// Revoked: 401.
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/tokens/"+strconv.FormatInt(id, 10), env.admin, nil))
	env.must(http.StatusUnauthorized, env.do("GET", "/api/v1/auth/me", tok, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/tokens/"+strconv.FormatInt(id, 10), env.admin, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/tokens/abc", env.admin, nil))
	env.must(http.StatusBadRequest, env.do("POST", "/api/v1/tokens", env.admin, map[string]any{"name": ""}))

	// The store keeps only a hash.
	if _, err := env.store.APITokenUser(context.Background(), tok); err == nil {
		t.Error("token stored in clear")
	}
}

func TestUserRole(t *testing.T) {
	env := newEnv(t)
	env.createExtension("201", nil)
	env.createExtension("202", nil)
	anna := env.createUser("anna", roleUser, "201")

	tests := []struct {
		name         string
		method, path string
		body         any
		want         int
	}{
		{"list users", "GET", "/api/v1/users", nil, http.StatusForbidden},
		{"create user", "POST", "/api/v1/users", map[string]any{"username": "x", "password": "12345678", "role": "admin"}, http.StatusForbidden},
		{"other user", "GET", "/api/v1/users/admin", nil, http.StatusForbidden},
		{"own user", "GET", "/api/v1/users/anna", nil, http.StatusOK},
		{"promote self", "PATCH", "/api/v1/users/anna", map[string]any{"role": "admin"}, http.StatusForbidden},
		{"delete self", "DELETE", "/api/v1/users/anna", nil, http.StatusForbidden},
		{"list extensions", "GET", "/api/v1/extensions", nil, http.StatusForbidden},
		{"create extension", "POST", "/api/v1/extensions", map[string]any{"number": "300"}, http.StatusForbidden},
		{"other extension", "GET", "/api/v1/extensions/202", nil, http.StatusForbidden},
		{"patch other extension", "PATCH", "/api/v1/extensions/202", map[string]any{"dnd": true}, http.StatusForbidden},
		{"own extension", "GET", "/api/v1/extensions/201", nil, http.StatusOK},
		{"put own extension", "PUT", "/api/v1/extensions/201", map[string]any{"dnd": true}, http.StatusForbidden},
		{"delete own extension", "DELETE", "/api/v1/extensions/201", nil, http.StatusForbidden},
		{"patch forward and dnd", "PATCH", "/api/v1/extensions/201",
			map[string]any{"dnd": true, "forward": map[string]any{"busy": "voicemail:202", "no_answer": "extension:202"}}, http.StatusOK},
		{"patch call waiting", "PATCH", "/api/v1/extensions/201", map[string]any{"call_waiting": false}, http.StatusOK},
		{"patch pickup group", "PATCH", "/api/v1/extensions/201", map[string]any{"pickup_group": "boss"}, http.StatusForbidden},
		{"patch pin", "PATCH", "/api/v1/extensions/201", map[string]any{"voicemail": map[string]any{"pin": "4321"}}, http.StatusOK},
		{"patch secret", "PATCH", "/api/v1/extensions/201", map[string]any{"secret": "s3cretpassw0rd"}, http.StatusForbidden},
		{"patch voicemail enabled", "PATCH", "/api/v1/extensions/201", map[string]any{"voicemail": map[string]any{"enabled": false}}, http.StatusForbidden},
		{"other registrations", "GET", "/api/v1/registrations?extension=202", nil, http.StatusForbidden},
		{"own registrations", "GET", "/api/v1/registrations", nil, http.StatusOK},
		{"me", "GET", "/api/v1/auth/me", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := env.as(t)
			r := env.must(tt.want, env.do(tt.method, tt.path, anna, tt.body))
			if tt.want == http.StatusForbidden && !strings.HasPrefix(r.str("error"), "forbidden: ") {
				t.Errorf("error %q", r.str("error"))
			}
		})
	}
	r := env.must(http.StatusForbidden, env.do("GET", "/api/v1/users", anna, nil))
	if r.str("error") != "forbidden: admin role required" {
		t.Errorf("error %q", r.str("error"))
	}
	r = env.must(http.StatusForbidden, env.do("PATCH", "/api/v1/extensions/201", anna, map[string]any{"secret": "s3cretpassw0rd"}))
	if !strings.Contains(r.str("error"), "secret") {
		t.Errorf("error %q does not name the field", r.str("error"))
	}
	ext := env.must(http.StatusOK, env.do("GET", "/api/v1/extensions/201", anna, nil))
	fwd := ext.body["forward"].(map[string]any)
	if ext.body["dnd"] != true || fwd["busy"] != "voicemail:202" || ext.body["voicemail"].(map[string]any)["pin"] != "4321" ||
		ext.body["call_waiting"] != false || ext.body["pickup_group"] != "" {
		t.Errorf("after self-service PATCH: %s", ext.raw)
	}
	me := env.must(http.StatusOK, env.do("GET", "/api/v1/auth/me", anna, nil))
	if me.str("role") != "user" || me.str("extension") != "201" {
		t.Errorf("me %s", me.raw)
	}
	// A user changes their own password; their sessions end.
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/users/anna", anna, map[string]any{"password": "a new password"}))
	env.must(http.StatusUnauthorized, env.do("GET", "/api/v1/auth/me", anna, nil))
	env.must(http.StatusOK, env.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "anna", "password": "a new password"}))
}

func TestLoginCookieSecureOverTLS(t *testing.T) {
	env := newEnv(t)
	ts := httptest.NewTLSServer(env.srv.Handler())
	defer ts.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/auth/login",
		strings.NewReader(`{"username":"admin","password":"`+adminPassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Set-Cookie"), "; Secure") {
		t.Errorf("status %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
}
