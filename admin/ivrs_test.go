package admin

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// uploadPrompt stores a short prompt straight in the store.
func (e *testEnv) uploadPrompt(name string) {
	e.t.Helper()
	var wav bytes.Buffer
	if err := media.WriteWAV(&wav, make([]int16, 800)); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreatePrompt(context.Background(), &store.Prompt{Name: name}, &wav); err != nil {
		e.t.Fatal(err)
	}
}

func TestCreateIVRDefaults(t *testing.T) {
	env := newEnv(t)
	r := env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{"number": "500"}))
	if r.header.Get("Location") != "/api/v1/ivrs/500" {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	want := map[string]any{
		"number": "500", "name": "", "greeting": "", "options": map[string]any{}, "timeout_s": float64(5),
		"retries": float64(3), "on_timeout": "hangup", "on_invalid": "hangup", "direct_dial": true,
		"invalid_prompt": "", "timeout_prompt": "",
	}
	for k, v := range want {
		if !reflect.DeepEqual(r.body[k], v) {
			t.Errorf("%s = %#v, want %#v", k, r.body[k], v)
		}
	}
	if r.str("created_at") == "" || r.str("updated_at") == "" {
		t.Errorf("timestamps missing: %s", r.raw)
	}
	got := env.must(http.StatusOK, env.do("GET", "/api/v1/ivrs/500", env.admin, nil))
	if !reflect.DeepEqual(got.body, r.body) {
		t.Errorf("GET %s\nwant %s", got.raw, r.raw)
	}
}

func TestCreateIVRFull(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	env.uploadPrompt("main-menu")
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{"number": "510"}))
	body := map[string]any{
		"number": "500", "name": "Main menu", "greeting": "main-menu",
		"options": map[string]string{"1": "extension:101", "2": "voicemail:101", "0": "ivr:510", "*": "ivr:500",
			"#": "number:+15551234", "9": "hangup"},
		"timeout_s": 10, "retries": 0, "on_timeout": "ivr:510", "on_invalid": "ivr:500", "direct_dial": false,
		"invalid_prompt": "welcome", "timeout_prompt": "music-on-hold",
	}
	r := env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, body))
	for k, v := range body {
		if k == "options" {
			if len(r.body[k].(map[string]any)) != 6 || r.body[k].(map[string]any)["*"] != "ivr:500" {
				t.Errorf("options %v", r.body[k])
			}
			continue
		}
		if n, ok := v.(int); ok {
			v = float64(n)
		}
		if r.body[k] != v {
			t.Errorf("%s = %v, want %v", k, r.body[k], v)
		}
	}
	// The new menu and the other are listed, in number order.
	list := env.must(http.StatusOK, env.do("GET", "/api/v1/ivrs?limit=1", env.admin, nil))
	if len(list.items()) != 1 || list.str("next_cursor") != "500" {
		t.Fatalf("first page %s", list.raw)
	}
	list = env.must(http.StatusOK, env.do("GET", "/api/v1/ivrs?limit=1&cursor=500", env.admin, nil))
	if len(list.items()) != 1 || list.items()[0].(map[string]any)["number"] != "510" || list.str("next_cursor") != "" {
		t.Fatalf("second page %s", list.raw)
	}
	list = env.must(http.StatusOK, env.do("GET", "/api/v1/ivrs?q=main", env.admin, nil))
	if len(list.items()) != 1 || len(list.items()[0].(map[string]any)["options"].(map[string]any)) != 6 {
		t.Fatalf("q=main %s", list.raw)
	}
}

func TestCreateIVRInvalid(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	r := env.must(http.StatusBadRequest, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{
		"number": "5a", "name": "bad\x01", "greeting": "nope", "invalid_prompt": "Bad Name",
		"options":   map[string]string{"A": "hangup", "1": "extension:999", "2": "trunk:pstn:1", "3": "ext:101"},
		"timeout_s": 0, "retries": 11, "on_timeout": "", "on_invalid": "voicemail:500",
	}))
	want := map[string]string{
		"number": "2 to 10 digits", "name": "control characters", "greeting": "no prompt nope",
		"invalid_prompt": "not a prompt name", "options": `key "A"`, "options.1": "no extension 999",
		"options.2": "no trunk pstn", "options.3": "invalid destination", "timeout_s": "from 1 to 60",
		"retries": "from 0 to 10", "on_timeout": "invalid destination", "on_invalid": "no extension 500",
	}
	f := r.fields()
	for field, msg := range want {
		if s, _ := f[field].(string); !strings.Contains(s, msg) {
			t.Errorf("fields[%s] = %q, want it to say %q", field, s, msg)
		}
	}
	if len(f) != len(want) {
		t.Errorf("fields %v, want exactly %d", f, len(want))
	}
	// Nothing was stored, and the number is free.
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/ivrs/5a", env.admin, nil))

	for _, tc := range []struct{ name, body, field string }{
		{"number missing", `{}`, "number"},
		{"options not an object", `{"number":"500","options":["1"]}`, "options"},
		{"destination not a string", `{"number":"500","options":{"1":101}}`, "options"},
		{"unknown field", `{"number":"500","timeout":5}`, "timeout"},
		{"a self reference of another number", `{"number":"500","options":{"1":"ivr:501"}}`, "options.1"},
		{"a prompt that is neither uploaded nor built in", `{"number":"500","greeting":"no-such-prompt"}`, "greeting"},
	} {
		r := env.do("POST", "/api/v1/ivrs", env.admin, tc.body)
		if r.status != http.StatusBadRequest || r.fields()[tc.field] == nil {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.name, r.status, r.raw, tc.field)
		}
	}
	r = env.must(http.StatusConflict, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{"number": "101"}))
	if r.str("error") != "number 101 is already in use" || r.fields()["number"] != "already in use" {
		t.Errorf("taken number: %s", r.raw)
	}
}

func TestUpdateIVR(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	env.createExtension("102", nil)
	created := env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{
		"number": "500", "name": "Main", "options": map[string]string{"1": "extension:101", "2": "extension:102"},
		"retries": 1, "direct_dial": false,
	}))
	// PATCH changes what it names; options replace the old set.
	r := env.must(http.StatusOK, env.do("PATCH", "/api/v1/ivrs/500", env.admin,
		map[string]any{"options": map[string]string{"5": "extension:102"}, "timeout_s": 7}))
	if !reflect.DeepEqual(r.body["options"], map[string]any{"5": "extension:102"}) || r.body["timeout_s"] != float64(7) ||
		r.str("name") != "Main" || r.body["retries"] != float64(1) || r.body["direct_dial"] != false {
		t.Errorf("after PATCH %s", r.raw)
	}
	if r.str("created_at") != created.str("created_at") {
		t.Errorf("created_at changed: %s", r.raw)
	}
	// null is as good as omitted; {} clears.
	r = env.must(http.StatusOK, env.do("PATCH", "/api/v1/ivrs/500", env.admin, `{"options":null}`))
	if !reflect.DeepEqual(r.body["options"], map[string]any{"5": "extension:102"}) {
		t.Errorf("options null: %s", r.raw)
	}
	// PUT replaces: what it omits returns to the defaults. A GET body can
	// be PUT back as is.
	r = env.must(http.StatusOK, env.do("PUT", "/api/v1/ivrs/500", env.admin, map[string]any{"name": "Night"}))
	if len(r.body["options"].(map[string]any)) != 0 || r.body["retries"] != float64(3) || r.body["direct_dial"] != true ||
		r.str("created_at") != created.str("created_at") {
		t.Errorf("after PUT %s", r.raw)
	}
	env.must(http.StatusOK, env.do("PUT", "/api/v1/ivrs/500", env.admin, string(r.raw)))
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/ivrs/500", env.admin, `{"options":{"1":"hangup"}}`))
	r = env.must(http.StatusOK, env.do("PATCH", "/api/v1/ivrs/500", env.admin, `{"options":{}}`))
	if len(r.body["options"].(map[string]any)) != 0 {
		t.Errorf("options {}: %s", r.raw)
	}

	r = env.must(http.StatusBadRequest, env.do("PATCH", "/api/v1/ivrs/500", env.admin,
		map[string]any{"number": "501", "on_timeout": "extension:103"}))
	if r.fields()["number"] == nil || r.fields()["on_timeout"] == nil {
		t.Errorf("bad PATCH %s", r.raw)
	}
	env.must(http.StatusNotFound, env.do("PATCH", "/api/v1/ivrs/501", env.admin, map[string]any{"name": "x"}))
	env.must(http.StatusNotFound, env.do("PUT", "/api/v1/ivrs/501", env.admin, map[string]any{"name": "x"}))
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/ivrs/501", env.admin, nil))
}

func TestDeleteIVR(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{
		"number": "500", "options": map[string]string{"1": "extension:101", "9": "ivr:500"}}))
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{
		"number": "510", "options": map[string]string{"0": "ivr:500"}, "on_timeout": "ivr:500"}))
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/extensions/101", env.admin,
		map[string]any{"forward": map[string]string{"no_answer": "ivr:510"}}))

	r := env.must(http.StatusConflict, env.do("DELETE", "/api/v1/ivrs/500", env.admin, nil))
	if msg := r.str("error"); !strings.Contains(msg, "ivr 510 option 0") || !strings.Contains(msg, "ivr 510 on_timeout") ||
		strings.Contains(msg, "ivr 500") {
		t.Errorf("delete in use: %s", r.raw)
	}
	r = env.must(http.StatusConflict, env.do("DELETE", "/api/v1/extensions/101", env.admin, nil))
	if !strings.Contains(r.str("error"), "ivr 500 option 1") {
		t.Errorf("delete of an extension in a menu: %s", r.raw)
	}
	r = env.must(http.StatusConflict, env.do("DELETE", "/api/v1/ivrs/510", env.admin, nil))
	if !strings.Contains(r.str("error"), "extension 101 forward no_answer") {
		t.Errorf("delete of a menu an extension forwards to: %s", r.raw)
	}
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/extensions/101", env.admin,
		map[string]any{"forward": map[string]string{"no_answer": ""}}))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/ivrs/510", env.admin, nil))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/ivrs/500", env.admin, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/ivrs/500", env.admin, nil))
	// The number is free for anything again.
	env.createExtension("500", nil)
}

func TestIVRsNeedAdmin(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	user := env.createUser("ann", "user", "101")
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{"number": "500"}))
	for _, rq := range []struct{ method, path string }{
		{"GET", "/api/v1/ivrs"}, {"POST", "/api/v1/ivrs"}, {"GET", "/api/v1/ivrs/500"}, {"PUT", "/api/v1/ivrs/500"},
		{"PATCH", "/api/v1/ivrs/500"}, {"DELETE", "/api/v1/ivrs/500"},
		{"GET", "/api/v1/ringgroups"}, {"POST", "/api/v1/ringgroups"}, {"GET", "/api/v1/ringgroups/600"},
		{"PUT", "/api/v1/ringgroups/600"}, {"PATCH", "/api/v1/ringgroups/600"}, {"DELETE", "/api/v1/ringgroups/600"},
	} {
		if r := env.do(rq.method, rq.path, user, `{}`); r.status != http.StatusForbidden {
			t.Errorf("user %s %s: %d", rq.method, rq.path, r.status)
		}
		if r := env.do(rq.method, rq.path, "", `{}`); r.status != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s: %d", rq.method, rq.path, r.status)
		}
	}
}

func TestDeletePromptUsedByIVR(t *testing.T) {
	env := newEnv(t)
	env.uploadPrompt("front-desk")
	env.uploadPrompt(store.PromptMusicOnHold) // an upload of a built-in name
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{
		"number": "500", "greeting": "front-desk", "timeout_prompt": store.PromptMusicOnHold}))
	r := env.must(http.StatusConflict, env.do("DELETE", "/api/v1/prompts/front-desk", env.admin, nil))
	if r.str("error") != "cannot delete prompt front-desk: used by ivr 500 greeting" {
		t.Errorf("delete of a greeting in use: %s", r.raw)
	}
	// The built-in prompt takes over from a deleted upload of its name.
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/prompts/"+store.PromptMusicOnHold, env.admin, nil))
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/ivrs/500", env.admin, map[string]any{"greeting": ""}))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/prompts/front-desk", env.admin, nil))
}
