package admin

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true, "trace": true}

// TestOpenAPIMatchesRoutes fails when the spec and the router drift apart:
// every route must be documented with its method, and every documented
// operation must be served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	spec := map[string]bool{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !httpMethods[method] {
				continue // "parameters", "summary", ...
			}
			key := strings.ToUpper(method) + " " + path
			spec[key] = true
			var op struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil || len(op.Responses) == 0 {
				t.Errorf("%s has no responses (%v)", key, err)
			}
		}
	}

	env := newEnv(t, withUI(testUI))
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	served := map[string]bool{}
	for _, r := range env.srv.e.Routes() {
		if r.Path == "/*" { // the SPA catch-all is the UI, not the API
			continue
		}
		key := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		served[key] = true
		if !spec[key] {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	for key := range spec {
		if !served[key] {
			t.Errorf("openapi.json documents %s, which no route serves", key)
		}
	}
	if len(served) < 20 {
		t.Errorf("only %d routes: is the router wired?", len(served))
	}
}

// TestOpenAPIRefs checks every $ref in the document points at something.
func TestOpenAPIRefs(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatal(err)
	}
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	sort.Strings(refs)
	for _, ref := range refs {
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[part]
		}
		if cur == nil {
			t.Errorf("dangling $ref %s", ref)
		}
	}
	if len(refs) == 0 {
		t.Error("no $ref at all")
	}
}

func TestOpenAPIServed(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusOK, env.do("GET", "/api/openapi.json", "", nil))
	if r.body["openapi"] == nil || r.body["paths"] == nil {
		t.Errorf("served document %.200s", r.raw)
	}
}
