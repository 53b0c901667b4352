package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestTrunksCRUD(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusBadRequest, env.do("POST", "/api/v1/trunks", env.admin, map[string]any{
		"name": "9bad", "port": 70000, "transport": "sctp", "register": true, "match": []string{"nope"}}))
	f := r.fields()
	for _, k := range []string{"name", "host", "port", "transport", "username", "match"} {
		if f[k] == nil {
			t.Errorf("no field error for %s: %v", k, f)
		}
	}
	r = env.must(http.StatusCreated, env.do("POST", "/api/v1/trunks", env.admin, map[string]any{
		"name": "pstn", "host": "sip.example.net", "username": "acme", "secret": "s3cret", "register": true,
		"context": "from-pstn", "match": []string{"203.0.113.0/24"}}))
	if r.str("transport") != "udp" || r.body["port"] != float64(5060) || r.body["has_secret"] != true || r.body["secret"] != nil {
		t.Fatalf("created %v", r.body)
	}
	if st, _ := r.body["status"].(map[string]any); st["state"] != "unregistered" {
		t.Errorf("status %v", r.body["status"])
	}
	env.must(http.StatusConflict, env.do("POST", "/api/v1/trunks", env.admin, map[string]any{"name": "pstn", "host": "x"}))
	r = env.must(http.StatusOK, env.do("PATCH", "/api/v1/trunks/pstn", env.admin, map[string]any{"from_user": "4930123456"}))
	if r.str("from_user") != "4930123456" || r.str("host") != "sip.example.net" {
		t.Fatalf("patched %v", r.body)
	}
	r = env.must(http.StatusOK, env.do("PUT", "/api/v1/trunks/pstn", env.admin, map[string]any{"host": "10.0.0.1"}))
	if r.body["has_secret"] != true || r.body["register"] != false {
		t.Fatalf("put kept the secret? %v", r.body)
	}
	env.must(http.StatusOK, env.do("GET", "/api/v1/trunks/pstn", env.admin, nil))
	if items := env.must(http.StatusOK, env.do("GET", "/api/v1/trunks", env.admin, nil)).items(); len(items) != 1 {
		t.Fatalf("list %v", items)
	}
	// The dial plan may now dial it; while it does, delete is 409 naming the line.
	if _, err := env.store.SetDialplan(context.Background(), "context internal {\n    rule _9X. {\n        strip 1\n        dial trunk:pstn:${number}\n    }\n}\n", "test"); err != nil {
		t.Fatal(err)
	}
	r = env.must(http.StatusConflict, env.do("DELETE", "/api/v1/trunks/pstn", env.admin, nil))
	if !strings.Contains(r.str("error"), "dial plan line 4") {
		t.Fatalf("409 without the user: %v", r.body)
	}
	if _, err := env.store.SetDialplan(context.Background(), "context internal { }\n", "test"); err != nil {
		t.Fatal(err)
	}
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/trunks/pstn", env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/trunks/pstn", env.admin, nil))
}
