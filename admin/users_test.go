package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestUsersCRUD(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)

	r := env.must(http.StatusCreated, env.do("POST", "/api/v1/users", env.admin,
		map[string]any{"username": "anna.smith@example", "password": "anna-password", "role": "user", "extension": "101"}))
	if r.str("username") != "anna.smith@example" || r.str("role") != "user" || r.str("extension") != "101" {
		t.Errorf("create %s", r.raw)
	}
	noPassword(t, r)

	r = env.must(http.StatusConflict, env.do("POST", "/api/v1/users", env.admin,
		map[string]any{"username": "anna.smith@example", "password": "anna-password", "role": "user"}))
	if r.fields()["username"] != "already exists" {
		t.Errorf("duplicate: %s", r.raw)
	}

	r = env.must(http.StatusBadRequest, env.do("POST", "/api/v1/users", env.admin,
		map[string]any{"username": "bad name!", "password": "short", "role": "root", "extension": "999"}))
	for _, f := range []string{"username", "password", "role", "extension"} {
		if r.fields()[f] == nil {
			t.Errorf("no error for %s: %s", f, r.raw)
		}
	}
	r = env.must(http.StatusBadRequest, env.do("POST", "/api/v1/users", env.admin, map[string]any{}))
	for _, f := range []string{"username", "password", "role"} {
		if r.fields()[f] == nil {
			t.Errorf("no error for missing %s: %s", f, r.raw)
		}
	}
	env.must(http.StatusBadRequest, env.do("POST", "/api/v1/users", env.admin,
		map[string]any{"username": "x", "password": strings.Repeat("p", 73), "role": "user"}))

	noPassword(t, env.must(http.StatusOK, env.do("GET", "/api/v1/users/anna.smith@example", env.admin, nil)))
	noPassword(t, env.must(http.StatusOK, env.do("GET", "/api/v1/users/anna.smith%40example", env.admin, nil)))
	list := env.must(http.StatusOK, env.do("GET", "/api/v1/users", env.admin, nil))
	noPassword(t, list)
	if len(list.items()) != 2 || list.str("next_cursor") != "" {
		t.Errorf("list %s", list.raw)
	}
	if q := env.must(http.StatusOK, env.do("GET", "/api/v1/users?q=anna", env.admin, nil)); len(q.items()) != 1 {
		t.Errorf("q=anna %s", q.raw)
	}

	// PUT without password keeps it; role is required.
	env.must(http.StatusBadRequest, env.do("PUT", "/api/v1/users/anna.smith@example", env.admin, map[string]any{"extension": ""}))
	r = env.must(http.StatusOK, env.do("PUT", "/api/v1/users/anna.smith@example", env.admin, map[string]any{"role": "admin"}))
	if r.str("role") != "admin" || r.str("extension") != "" {
		t.Errorf("put %s", r.raw)
	}
	env.must(http.StatusOK, env.do("POST", "/api/v1/auth/login", "", map[string]any{"username": "anna.smith@example", "password": "anna-password"}))
	env.must(http.StatusBadRequest, env.do("PUT", "/api/v1/users/anna.smith@example", env.admin, map[string]any{"username": "other", "role": "user"}))

	// PATCH changes what is given; a password change ends the user's sessions.
	sess := env.sessionFor(t, "anna.smith@example")
	r = env.must(http.StatusOK, env.do("PATCH", "/api/v1/users/anna.smith@example", env.admin, map[string]any{"extension": "101"}))
	if r.str("role") != "admin" || r.str("extension") != "101" {
		t.Errorf("patch %s", r.raw)
	}
	env.must(http.StatusOK, env.do("GET", "/api/v1/auth/me", sess, nil))
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/users/anna.smith@example", env.admin, map[string]any{"password": "new-password-1"}))
	env.must(http.StatusUnauthorized, env.do("GET", "/api/v1/auth/me", sess, nil))
	u, err := env.store.GetUser(context.Background(), "anna.smith@example")
	if err != nil || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("new-password-1")) != nil {
		t.Errorf("password not changed (%v)", err)
	}

	env.must(http.StatusNotFound, env.do("GET", "/api/v1/users/nobody", env.admin, nil))
	env.must(http.StatusNotFound, env.do("PATCH", "/api/v1/users/nobody", env.admin, map[string]any{"role": "user"}))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/users/anna.smith@example", env.admin, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/users/anna.smith@example", env.admin, nil))
}

func TestLastAdmin(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusConflict, env.do("DELETE", "/api/v1/users/admin", env.admin, nil))
	if !strings.Contains(r.str("error"), "last admin") {
		t.Errorf("delete: %s", r.raw)
	}
	r = env.must(http.StatusConflict, env.do("PATCH", "/api/v1/users/admin", env.admin, map[string]any{"role": "user"}))
	if !strings.Contains(r.str("error"), "last admin") {
		t.Errorf("demote: %s", r.raw)
	}
	env.must(http.StatusConflict, env.do("PUT", "/api/v1/users/admin", env.admin, map[string]any{"role": "user"}))

	// With a second admin, the first may go.
	env.createUser("boss", roleAdmin, "")
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/users/admin", env.admin, map[string]any{"role": "user"}))
	boss := env.sessionFor(t, "boss")
	env.must(http.StatusConflict, env.do("DELETE", "/api/v1/users/boss", boss, nil))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/users/admin", boss, nil))
}

// noPassword fails if a response mentions a password or its hash.
func noPassword(t *testing.T, r response) {
	t.Helper()
	if s := string(r.raw); strings.Contains(s, "password") || strings.Contains(s, "$2a$") {
		t.Errorf("response leaks a password: %s", s)
	}
}
