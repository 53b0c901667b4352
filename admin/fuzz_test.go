package admin

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/officepbx/pbx/pbx/store"
)

// FuzzAPIRequests drives the whole handler with an admin's token: whatever
// the method, path and body, the server must answer, never panic, never
// fail with a 5xx, and every error must be the JSON error body.
func FuzzAPIRequests(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"GET", "/api/v1/extensions", ""},
		{"GET", "/api/v1/extensions?limit=2&cursor=101&q=10", ""},
		{"GET", "/api/v1/extensions?limit=-1", ""},
		{"POST", "/api/v1/extensions", `{"number":"103","name":"Bob","forward":{"busy":"voicemail:101"}}`},
		{"POST", "/api/v1/extensions", `{"number":"104","auth_algorithms":["SHA-256","MD5"],"ring_seconds":300}`},
		{"POST", "/api/v1/extensions", `{"number":"1","ring_seconds":1e100}`},
		{"POST", "/api/v1/extensions", `{"number":"105","voicemail":null,"forward":{"always":"trunk:x:1"}}`},
		{"POST", "/api/v1/extensions", `{"number":"10\u0000"}`},
		{"POST", "/api/v1/extensions", `{"number":"106","email":"a@b","secret":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`},
		{"PUT", "/api/v1/extensions/101", `{"number":"101","name":"x","created_at":"2020-01-01T00:00:00Z"}`},
		{"PATCH", "/api/v1/extensions/101", `{"voicemail":{"pin":"1234"},"forward":{"no_answer":"extension:102"}}`},
		{"PATCH", "/api/v1/extensions/101", `{"forward":{"always":"ringgroup:600"}}`},
		{"PATCH", "/api/v1/extensions/999", `{"dnd":true}`},
		{"DELETE", "/api/v1/extensions/102", ""},
		{"GET", "/api/v1/extensions/%2e%2e", ""},
		{"GET", "/api/v1/ivrs", ""},
		{"POST", "/api/v1/ivrs", `{"number":"500","options":{"1":"extension:101","*":"ivr:500","#":"hangup"},"on_timeout":"ivr:500"}`},
		{"POST", "/api/v1/ivrs", `{"number":"501","options":{"A":"x","1":"trunk:a:1"},"timeout_s":-1,"greeting":"../x"}`},
		{"POST", "/api/v1/ivrs", `{"number":"502","options":null,"direct_dial":"yes"}`},
		{"PUT", "/api/v1/ivrs/500", `{"name":"Main","options":{"0":"ringgroup:600"},"created_at":"x"}`},
		{"PATCH", "/api/v1/ivrs/500", `{"options":{"9":"voicemail:102"},"retries":10}`},
		{"DELETE", "/api/v1/ivrs/500", ""},
		{"GET", "/api/v1/ringgroups?limit=1&q=6", ""},
		{"POST", "/api/v1/ringgroups", `{"number":"600","strategy":"hunt","members":["102","101"],"on_no_answer":"ivr:500"}`},
		{"POST", "/api/v1/ringgroups", `{"number":"601","members":["101","101",""],"ring_seconds":1e9}`},
		{"POST", "/api/v1/ringgroups", `{"number":"602","members":null,"on_no_answer":"ringgroup:602"}`},
		{"PATCH", "/api/v1/ringgroups/600", `{"members":["101"]}`},
		{"PUT", "/api/v1/ringgroups/600", `{"members":["102"],"member_seconds":300}`},
		{"DELETE", "/api/v1/ringgroups/600", ""},
		{"DELETE", "/api/v1/extensions/101", ""},
		{"GET", "/api/v1/users", ""},
		{"POST", "/api/v1/users", `{"username":"bob","password":"password1","role":"user","extension":"101"}`},
		{"POST", "/api/v1/users", `{"username":"bob","password":"password1","role":"admin","extension":"nope"}`},
		{"PATCH", "/api/v1/users/admin", `{"role":"user"}`},
		{"PUT", "/api/v1/users/admin", `{"role":"admin","password":"another-pass"}`},
		{"DELETE", "/api/v1/users/admin", ""},
		{"GET", "/api/v1/users/%zz", ""},
		{"POST", "/api/v1/tokens", `{"name":"script"}`},
		{"DELETE", "/api/v1/tokens/1", ""},
		{"DELETE", "/api/v1/tokens/99999999999999999999", ""},
		{"GET", "/api/v1/registrations?extension=101&cursor=AA", ""},
		{"POST", "/api/v1/auth/login", `{"username":"admin","password":"wrong"}`},
		{"GET", "/api/v1/auth/me", ""},
		{"POST", "/api/v1/auth/logout", ""},
		{"GET", "/healthz", ""},
		{"GET", "/metrics", ""},
		{"GET", "/api/openapi.json", ""},
		{"GET", "/api/v1/nope", ""},
		{"OPTIONS", "/api/v1/users", ""},
		{"HEAD", "/api/v1/extensions", ""},
		{"BREW", "/api/v1/extensions", "{}"},
		{"POST", "/api/v1/extensions", `{"number":"101",}`},
		{"POST", "/api/v1/extensions", `[1,2,3]`},
		{"POST", "/api/v1/extensions", `{"number":"107"} trailing`},
		{"POST", "/api/v1/extensions", `{"voicemail":{"pin":{"a":[1]}}}`},
		{"POST", "/api/v1/extensions", "\xff\xfe{"},
		{"GET", "/../../etc/passwd", ""},
		{"GET", "//api//v1//extensions", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}

	env := newEnv(f)
	ctx := context.Background()
	for _, n := range []string{"101", "102"} {
		e := defaultExtension(n)
		e.Secret = GenerateSecret()
		if err := env.store.CreateExtension(ctx, &e); err != nil {
			f.Fatal(err)
		}
	}
	if err := env.store.CreateUser(ctx, &store.User{Username: "root2", PasswordHash: "x", Role: roleAdmin}); err != nil {
		f.Fatal(err)
	}
	// An API token survives the fuzzer logging a session out or deleting
	// users other than root2's.
	token := newToken(apiTokenPrefix)
	if err := env.store.CreateAPIToken(ctx, &store.APIToken{Name: "fuzz", Username: "root2"}, hashToken(token)); err != nil {
		f.Fatal(err)
	}
	h := env.srv.Handler()
	// The token must work, or the fuzzer would only ever see 401s.
	probe := httptest.NewRequest("GET", "/api/v1/extensions/101", nil)
	probe.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, probe)
	if rec.Code != http.StatusOK {
		f.Fatalf("probe: %d %s", rec.Code, rec.Body.Bytes())
	}

	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://pbx.test"+path, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q %q: status %d: %s", method, path, body, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 && method != http.MethodHead && rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s %q: error %d is not JSON: %q %q", method, path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
		}
	})
}
