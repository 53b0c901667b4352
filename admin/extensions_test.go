package admin

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestCreateExtensionDefaults(t *testing.T) {
	env := newEnv(t)
	r := env.createExtension("101", map[string]any{"name": "Anna Smith"})
	secret := r.str("secret")
	if len(secret) < 16 || checkSecret(secret) != "" {
		t.Errorf("generated secret %q is not strong", secret)
	}
	if r.header.Get("Location") != "/api/v1/extensions/101" {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	want := map[string]any{
		"number": "101", "name": "Anna Smith", "email": "", "ring_seconds": float64(20), "dnd": false, "outbound": "internal",
		"call_waiting": true, "pickup_group": "", "srtp": "optional",
	}
	for k, v := range want {
		if r.body[k] != v {
			t.Errorf("%s = %v, want %v", k, r.body[k], v)
		}
	}
	if fmt.Sprint(r.body["auth_algorithms"]) != "[MD5]" {
		t.Errorf("auth_algorithms %v", r.body["auth_algorithms"])
	}
	if vm := r.body["voicemail"].(map[string]any); vm["enabled"] != true || vm["pin"] != "" {
		t.Errorf("voicemail %v", vm)
	}
	if f := r.body["forward"].(map[string]any); f["always"] != "" || f["busy"] != "" || f["no_answer"] != "" {
		t.Errorf("forward %v", f)
	}
	if r.str("created_at") == "" || r.str("updated_at") == "" {
		t.Errorf("timestamps missing: %s", r.raw)
	}
	// Secrets differ between extensions.
	if other := env.createExtension("102", nil).str("secret"); other == secret {
		t.Error("two extensions got the same generated secret")
	}
	// GET of one extension shows the secret, a list does not.
	got := env.must(http.StatusOK, env.do("GET", "/api/v1/extensions/101", env.admin, nil))
	if got.str("secret") != secret {
		t.Errorf("GET secret %q, want %q", got.str("secret"), secret)
	}
	list := env.must(http.StatusOK, env.do("GET", "/api/v1/extensions", env.admin, nil))
	for _, it := range list.items() {
		if _, ok := it.(map[string]any)["secret"]; ok {
			t.Errorf("list item carries a secret: %v", it)
		}
	}
}

func TestCreateExtensionFull(t *testing.T) {
	env := newEnv(t)
	env.createExtension("102", nil)
	r := env.createExtension("101", map[string]any{
		"name": "Front desk", "email": "desk@example.com", "secret": "My-Secret_123",
		"auth_algorithms": []string{"MD5", "SHA-256"}, "ring_seconds": 30,
		"voicemail": map[string]any{"enabled": false, "pin": "1234"},
		"forward":   map[string]any{"always": "", "busy": "voicemail:102", "no_answer": "number:+15551234"},
		"dnd":       true, "outbound": "national", "call_waiting": false, "pickup_group": "sales-2", "max_calls": 2,
	})
	if r.str("secret") != "My-Secret_123" {
		t.Errorf("secret %q", r.str("secret"))
	}
	if fmt.Sprint(r.body["auth_algorithms"]) != "[SHA-256 MD5]" {
		t.Errorf("auth_algorithms not normalised: %v", r.body["auth_algorithms"])
	}
	if r.body["ring_seconds"] != float64(30) || r.body["dnd"] != true || r.str("outbound") != "national" ||
		r.body["call_waiting"] != false || r.str("pickup_group") != "sales-2" || r.body["max_calls"] != float64(2) {
		t.Errorf("body %s", r.raw)
	}
}

func TestCreateExtensionConflict(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	r := env.must(http.StatusConflict, env.do("POST", "/api/v1/extensions", env.admin, map[string]any{"number": "101"}))
	if r.str("error") != "number 101 is already in use" || r.fields()["number"] != "already in use" {
		t.Errorf("body %s", r.raw)
	}
}

func TestCreateExtensionValidation(t *testing.T) {
	env := newEnv(t)
	env.createExtension("300", nil)
	r := env.must(http.StatusBadRequest, env.do("POST", "/api/v1/extensions", env.admin, map[string]any{
		"number": "1", "name": strings.Repeat("n", 101), "email": "not-an-email", "secret": "short",
		"auth_algorithms": []string{"MD5", "MD5"}, "ring_seconds": 2,
		"voicemail": map[string]any{"pin": "12"},
		"forward":   map[string]any{"always": "bogus", "busy": "extension:999", "no_answer": "trunk:pstn:123"},
		"outbound":  "galactic", "pickup_group": "Sales Team",
	}))
	wantFields := []string{"number", "name", "email", "secret", "auth_algorithms", "ring_seconds", "voicemail.pin",
		"forward.always", "forward.busy", "forward.no_answer", "outbound", "pickup_group"}
	f := r.fields()
	for _, k := range wantFields {
		if f[k] == nil || f[k] == "" {
			t.Errorf("no error for field %s", k)
		}
	}
	if len(f) != len(wantFields) {
		t.Errorf("fields %v", f)
	}
	if f["forward.busy"] != "no extension 999" || f["forward.no_answer"] != "no trunk pstn" {
		t.Errorf("forward messages %v", f)
	}

	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"missing number", map[string]any{"name": "x"}, "number"},
		{"letters in number", map[string]any{"number": "10a"}, "number"},
		{"eleven digits", map[string]any{"number": "12345678901"}, "number"},
		{"control char in name", map[string]any{"number": "401", "name": "a\x07b"}, "name"},
		{"secret with space", map[string]any{"number": "401", "secret": "abc defgh"}, "secret"},
		{"secret with quote", map[string]any{"number": "401", "secret": `abc"defgh`}, "secret"},
		{"empty algorithms", map[string]any{"number": "401", "auth_algorithms": []string{}}, "auth_algorithms"},
		{"unknown algorithm", map[string]any{"number": "401", "auth_algorithms": []string{"SHA-512"}}, "auth_algorithms"},
		{"ring too long", map[string]any{"number": "401", "ring_seconds": 301}, "ring_seconds"},
		{"pin letters", map[string]any{"number": "401", "voicemail": map[string]any{"pin": "12ab"}}, "voicemail.pin"},
		{"forward to self", map[string]any{"number": "401", "forward": map[string]any{"always": "extension:401"}}, "forward.always"},
		{"ringgroup that is an extension", map[string]any{"number": "401", "forward": map[string]any{"busy": "ringgroup:300"}}, "forward.busy"},
		{"missing ivr", map[string]any{"number": "401", "forward": map[string]any{"busy": "ivr:500"}}, "forward.busy"},
		{"email with name", map[string]any{"number": "401", "email": "Anna <a@example.com>"}, "email"},
		{"pickup group too long", map[string]any{"number": "401", "pickup_group": strings.Repeat("g", 33)}, "pickup_group"},
		{"pickup group upper case", map[string]any{"number": "401", "pickup_group": "Sales"}, "pickup_group"},
		{"call waiting not a bool", map[string]any{"number": "401", "call_waiting": "no"}, "call_waiting"},
		{"negative call limit", map[string]any{"number": "401", "max_calls": -1}, "max_calls"},
		{"call limit too high", map[string]any{"number": "401", "max_calls": 1001}, "max_calls"},
		{"srtp unknown", map[string]any{"number": "401", "srtp": "always"}, "srtp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := env.as(t)
			r := env.must(http.StatusBadRequest, env.do("POST", "/api/v1/extensions", env.admin, tt.body))
			if _, ok := r.fields()[tt.field]; !ok || len(r.fields()) != 1 {
				t.Errorf("fields %v, want just %s", r.fields(), tt.field)
			}
		})
	}
	// Valid destinations of each kind that needs no other table.
	env.createExtension("301", nil)
	for _, dest := range []string{"hangup", "number:911", "extension:300", "voicemail:300", "voicemail:301"} {
		env.must(http.StatusOK, env.do("PATCH", "/api/v1/extensions/301", env.admin, map[string]any{"forward": map[string]any{"always": dest}}))
	}
}

func TestJSONDecoding(t *testing.T) {
	env := newEnv(t)
	tests := []struct {
		name        string
		contentType string
		body        string
		want        int
		errPrefix   string
		field       string
	}{
		{"unknown field", "application/json", `{"number":"101","foo":1}`, 400, `unknown field "foo"`, "foo"},
		{"wrong type", "application/json", `{"number":"101","ring_seconds":"20"}`, 400, `field "ring_seconds" must be an integer`, "ring_seconds"},
		{"wrong nested type", "application/json", `{"number":"101","voicemail":{"pin":1234}}`, 400, `field "voicemail.pin" must be a string`, "voicemail.pin"},
		{"number as JSON number", "application/json", `{"number":101}`, 400, `field "number" must be a string`, "number"},
		{"malformed", "application/json", `{"number":"101",}`, 400, "malformed JSON at byte", ""},
		{"truncated", "application/json", `{"number":"101"`, 400, "malformed JSON", ""},
		{"empty", "application/json", ``, 400, "request body is empty", ""},
		{"whitespace", "application/json", "  \n", 400, "request body is empty", ""},
		{"array", "application/json", `[{"number":"101"}]`, 400, "request body must be a JSON object", ""},
		{"trailing data", "application/json", `{"number":"101"} {"number":"102"}`, 400, "unexpected data after the JSON object", ""},
		{"trailing garbage", "application/json", `{"number":"101"}x`, 400, "unexpected data after the JSON object", ""},
		{"form", "application/x-www-form-urlencoded", `number=101`, 415, "Content-Type must be application/json", ""},
		{"no content type", "", `{"number":"101"}`, 415, "Content-Type must be application/json", ""},
		{"charset ok", "application/json; charset=utf-8", `{"number":"101"}`, 201, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := env.as(t)
			req, _ := http.NewRequest("POST", env.ts.URL+"/api/v1/extensions", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+env.admin)
			r := env.must(tt.want, env.send(req))
			if !strings.HasPrefix(r.str("error"), tt.errPrefix) {
				t.Errorf("error %q, want prefix %q", r.str("error"), tt.errPrefix)
			}
			if tt.field != "" && r.fields()[tt.field] == nil {
				t.Errorf("fields %v lack %s", r.fields(), tt.field)
			}
		})
	}
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	r := env.must(http.StatusRequestEntityTooLarge, env.do("POST", "/api/v1/extensions", env.admin, big))
	if r.str("error") == "" {
		t.Errorf("413 body %s", r.raw)
	}
}

func TestPutExtension(t *testing.T) {
	env := newEnv(t)
	created := env.createExtension("101", map[string]any{"name": "Old", "dnd": true, "ring_seconds": 45,
		"call_waiting": false, "pickup_group": "old"})
	secret := created.str("secret")

	r := env.must(http.StatusOK, env.do("PUT", "/api/v1/extensions/101", env.admin, map[string]any{"name": "New"}))
	if r.str("secret") != secret {
		t.Errorf("PUT without secret changed it: %q -> %q", secret, r.str("secret"))
	}
	// PUT replaces: omitted fields go back to defaults.
	if r.str("name") != "New" || r.body["dnd"] != false || r.body["ring_seconds"] != float64(20) ||
		r.body["call_waiting"] != true || r.str("pickup_group") != "" {
		t.Errorf("PUT body %s", r.raw)
	}
	if r.str("created_at") != created.str("created_at") {
		t.Errorf("created_at changed: %s -> %s", created.str("created_at"), r.str("created_at"))
	}
	// A GET body can be PUT back verbatim.
	got := env.must(http.StatusOK, env.do("GET", "/api/v1/extensions/101", env.admin, nil))
	env.must(http.StatusOK, env.do("PUT", "/api/v1/extensions/101", env.admin, string(got.raw)))

	r = env.must(http.StatusOK, env.do("PUT", "/api/v1/extensions/101", env.admin, map[string]any{"secret": "Brand-New-1"}))
	if r.str("secret") != "Brand-New-1" {
		t.Errorf("secret %q", r.str("secret"))
	}
	r = env.must(http.StatusBadRequest, env.do("PUT", "/api/v1/extensions/101", env.admin, map[string]any{"number": "102"}))
	if r.fields()["number"] == nil {
		t.Errorf("number mismatch: %s", r.raw)
	}
	env.must(http.StatusNotFound, env.do("PUT", "/api/v1/extensions/999", env.admin, map[string]any{"name": "x"}))
}

func TestPatchExtension(t *testing.T) {
	env := newEnv(t)
	env.createExtension("102", nil)
	created := env.createExtension("101", map[string]any{
		"name": "Anna", "voicemail": map[string]any{"enabled": true, "pin": "1111"},
		"forward": map[string]any{"busy": "voicemail:102"},
	})
	r := env.must(http.StatusOK, env.do("PATCH", "/api/v1/extensions/101", env.admin, map[string]any{
		"voicemail": map[string]any{"pin": "2222"},
		"forward":   map[string]any{"no_answer": "extension:102"},
	}))
	vm := r.body["voicemail"].(map[string]any)
	fwd := r.body["forward"].(map[string]any)
	if vm["pin"] != "2222" || vm["enabled"] != true {
		t.Errorf("voicemail %v", vm)
	}
	if fwd["busy"] != "voicemail:102" || fwd["no_answer"] != "extension:102" || fwd["always"] != "" {
		t.Errorf("forward %v", fwd)
	}
	if r.str("name") != "Anna" || r.str("secret") != created.str("secret") {
		t.Errorf("PATCH touched other fields: %s", r.raw)
	}
	r = env.must(http.StatusBadRequest, env.do("PATCH", "/api/v1/extensions/101", env.admin, map[string]any{
		"forward": map[string]any{"busy": "extension:555"},
	}))
	if r.fields()["forward.busy"] != "no extension 555" {
		t.Errorf("fields %v", r.fields())
	}
	env.must(http.StatusNotFound, env.do("PATCH", "/api/v1/extensions/999", env.admin, map[string]any{"dnd": true}))
}

func TestDeleteExtension(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	env.createExtension("102", map[string]any{"forward": map[string]any{"busy": "extension:101"}})
	r := env.must(http.StatusConflict, env.do("DELETE", "/api/v1/extensions/101", env.admin, nil))
	if !strings.Contains(r.str("error"), "102") {
		t.Errorf("error %q does not say who refers to it", r.str("error"))
	}
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/extensions/102", env.admin, nil))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/extensions/101", env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/extensions/101", env.admin, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/extensions/101", env.admin, nil))
	// The number is free again.
	env.createExtension("101", nil)
}

func TestListExtensions(t *testing.T) {
	env := newEnv(t)
	for i := 0; i < 120; i++ {
		n := fmt.Sprintf("%d", 1000+i)
		env.createExtension(n, map[string]any{"name": fmt.Sprintf("Person %03d", i), "email": fmt.Sprintf("p%d@example.com", i)})
	}
	var all []string
	cursor := ""
	pages := 0
	for {
		r := env.must(http.StatusOK, env.do("GET", "/api/v1/extensions?limit=50&cursor="+cursor, env.admin, nil))
		for _, it := range r.items() {
			all = append(all, it.(map[string]any)["number"].(string))
		}
		pages++
		next, ok := r.body["next_cursor"].(string)
		if !ok {
			t.Fatalf("next_cursor missing: %s", r.raw)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 || len(all) != 120 || all[0] != "1000" || all[119] != "1119" {
		t.Fatalf("%d pages, %d items, first %v", pages, len(all), all[:3])
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("not ordered at %d: %s after %s", i, all[i], all[i-1])
		}
	}
	tests := []struct {
		q    string
		want int
	}{
		{"110", 11},       // number prefix 1100-1109, and name "Person 110"
		{"Person 01", 10}, // name substring 010-019
		{"p7@example", 1}, // email substring
		{"%", 0},          // LIKE wildcards are literal
		{"nobody", 0},
	}
	for _, tt := range tests {
		r := env.must(http.StatusOK, env.do("GET", "/api/v1/extensions?q="+urlQuery(tt.q), env.admin, nil))
		if got := len(r.items()); got != tt.want {
			t.Errorf("q=%q: %d items, want %d", tt.q, got, tt.want)
		}
	}
	// Default page size and bad limits.
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/extensions", env.admin, nil))
	if len(r.items()) != 50 || r.str("next_cursor") != "1049" {
		t.Errorf("default page: %d items, next %q", len(r.items()), r.str("next_cursor"))
	}
	for _, l := range []string{"0", "-1", "501", "abc"} {
		r := env.must(http.StatusBadRequest, env.do("GET", "/api/v1/extensions?limit="+l, env.admin, nil))
		if r.fields()["limit"] == nil {
			t.Errorf("limit=%s: %s", l, r.raw)
		}
	}
	// An empty result is an empty array, not null.
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/extensions?q=zzz", env.admin, nil))
	if !strings.Contains(string(r.raw), `"items":[]`) {
		t.Errorf("empty list %s", r.raw)
	}
}
