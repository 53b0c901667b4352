package admin

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestCreateRingGroup(t *testing.T) {
	env := newEnv(t)
	for _, n := range []string{"101", "102", "103"} {
		env.createExtension(n, nil)
	}
	r := env.must(http.StatusCreated, env.do("POST", "/api/v1/ringgroups", env.admin,
		map[string]any{"number": "600", "members": []string{"102", "101"}}))
	if r.header.Get("Location") != "/api/v1/ringgroups/600" {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	want := map[string]any{"number": "600", "name": "", "strategy": "ringall", "members": []any{"102", "101"},
		"ring_seconds": float64(30), "member_seconds": float64(15), "on_no_answer": ""}
	for k, v := range want {
		if !reflect.DeepEqual(r.body[k], v) {
			t.Errorf("%s = %#v, want %#v", k, r.body[k], v)
		}
	}
	full := map[string]any{"number": "601", "name": "Sales", "strategy": "hunt", "members": []string{"103", "101", "102"},
		"ring_seconds": 600, "member_seconds": 5, "on_no_answer": "ringgroup:600"}
	r = env.must(http.StatusCreated, env.do("POST", "/api/v1/ringgroups", env.admin, full))
	got := env.must(http.StatusOK, env.do("GET", "/api/v1/ringgroups/601", env.admin, nil))
	if !reflect.DeepEqual(got.body, r.body) || got.str("strategy") != "hunt" || got.body["member_seconds"] != float64(5) ||
		!reflect.DeepEqual(got.body["members"], []any{"103", "101", "102"}) || got.str("on_no_answer") != "ringgroup:600" {
		t.Errorf("GET %s\nPOST %s", got.raw, r.raw)
	}
	list := env.must(http.StatusOK, env.do("GET", "/api/v1/ringgroups?q=sal", env.admin, nil))
	if len(list.items()) != 1 || !reflect.DeepEqual(list.items()[0].(map[string]any)["members"], []any{"103", "101", "102"}) {
		t.Errorf("list %s", list.raw)
	}
	r = env.must(http.StatusConflict, env.do("POST", "/api/v1/ringgroups", env.admin,
		map[string]any{"number": "101", "members": []string{"102"}}))
	if r.fields()["number"] != "already in use" {
		t.Errorf("taken number: %s", r.raw)
	}
}

func TestCreateRingGroupInvalid(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin, map[string]any{"number": "500"}))
	r := env.must(http.StatusBadRequest, env.do("POST", "/api/v1/ringgroups", env.admin, map[string]any{
		"number": "6", "name": strings.Repeat("n", 101), "strategy": "random", "members": []string{},
		"ring_seconds": 4, "member_seconds": 301, "on_no_answer": "ivr:501",
	}))
	want := map[string]string{"number": "2 to 10 digits", "name": "at most 100", "strategy": "ringall or hunt",
		"members": "at least one", "ring_seconds": "from 5 to 600", "member_seconds": "from 5 to 300",
		"on_no_answer": "no ivr 501"}
	f := r.fields()
	for field, msg := range want {
		if s, _ := f[field].(string); !strings.Contains(s, msg) {
			t.Errorf("fields[%s] = %q, want it to say %q", field, s, msg)
		}
	}
	if len(f) != len(want) {
		t.Errorf("fields %v, want exactly %d", f, len(want))
	}
	for _, tc := range []struct {
		name    string
		members any
		onNo    string
		field   string
		msg     string
	}{
		{"members missing", nil, "", "members", "at least one"},
		{"member twice", []string{"101", "101"}, "", "members", "lists 101 twice"},
		{"unknown member", []string{"101", "109"}, "", "members", "no extension 109"},
		{"a menu as member", []string{"500"}, "", "members", "no extension 500"},
		{"not a number", []string{"abc"}, "", "members", `not "abc"`},
		{"members not a list", "101", "", "members", "an array"},
		{"failover to itself", []string{"101"}, "ringgroup:600", "on_no_answer", "itself"},
		{"failover to a trunk", []string{"101"}, "trunk:pstn:1", "on_no_answer", "no trunk pstn"},
	} {
		body := map[string]any{"number": "600", "on_no_answer": tc.onNo}
		if tc.members != nil {
			body["members"] = tc.members
		}
		r := env.do("POST", "/api/v1/ringgroups", env.admin, body)
		if s, _ := r.fields()[tc.field].(string); r.status != http.StatusBadRequest || !strings.Contains(s, tc.msg) {
			t.Errorf("%s: %d %s, want 400 with %s: %s", tc.name, r.status, r.raw, tc.field, tc.msg)
		}
	}
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/ringgroups/600", env.admin, nil))
}

func TestUpdateRingGroup(t *testing.T) {
	env := newEnv(t)
	for _, n := range []string{"101", "102", "103"} {
		env.createExtension(n, nil)
	}
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ringgroups", env.admin, map[string]any{
		"number": "600", "name": "Desk", "strategy": "hunt", "members": []string{"101", "102", "103"}, "ring_seconds": 60}))
	// Reorder by PATCH: the rest stays.
	r := env.must(http.StatusOK, env.do("PATCH", "/api/v1/ringgroups/600", env.admin,
		map[string]any{"members": []string{"103", "101", "102"}}))
	if !reflect.DeepEqual(r.body["members"], []any{"103", "101", "102"}) || r.str("strategy") != "hunt" ||
		r.body["ring_seconds"] != float64(60) || r.str("name") != "Desk" {
		t.Errorf("after PATCH %s", r.raw)
	}
	// PUT replaces: what it omits returns to the defaults.
	r = env.must(http.StatusOK, env.do("PUT", "/api/v1/ringgroups/600", env.admin, map[string]any{"members": []string{"102"}}))
	if r.str("strategy") != "ringall" || r.body["ring_seconds"] != float64(30) || r.str("name") != "" {
		t.Errorf("after PUT %s", r.raw)
	}
	env.must(http.StatusOK, env.do("PUT", "/api/v1/ringgroups/600", env.admin, string(r.raw)))
	r = env.must(http.StatusBadRequest, env.do("PUT", "/api/v1/ringgroups/600", env.admin, map[string]any{"number": "600"}))
	if r.fields()["members"] == nil {
		t.Errorf("PUT without members: %s", r.raw)
	}
	r = env.must(http.StatusBadRequest, env.do("PATCH", "/api/v1/ringgroups/600", env.admin, map[string]any{"number": "601"}))
	if r.fields()["number"] == nil {
		t.Errorf("PATCH of the number: %s", r.raw)
	}
	env.must(http.StatusNotFound, env.do("PATCH", "/api/v1/ringgroups/601", env.admin, map[string]any{"name": "x"}))
}

func TestDeleteRingGroup(t *testing.T) {
	env := newEnv(t)
	env.createExtension("101", nil)
	env.createExtension("102", nil)
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ringgroups", env.admin,
		map[string]any{"number": "600", "members": []string{"101", "102"}}))
	env.must(http.StatusCreated, env.do("POST", "/api/v1/ivrs", env.admin,
		map[string]any{"number": "500", "options": map[string]string{"1": "ringgroup:600"}}))

	r := env.must(http.StatusConflict, env.do("DELETE", "/api/v1/extensions/102", env.admin, nil))
	if r.str("error") != "cannot delete extension 102: still referenced: used by ringgroup 600 member" {
		t.Errorf("delete of a member: %s", r.raw)
	}
	r = env.must(http.StatusConflict, env.do("DELETE", "/api/v1/ringgroups/600", env.admin, nil))
	if !strings.Contains(r.str("error"), "ivr 500 option 1") {
		t.Errorf("delete of a group in a menu: %s", r.raw)
	}
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/ivrs/500", env.admin, nil))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/ringgroups/600", env.admin, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/ringgroups/600", env.admin, nil))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/extensions/102", env.admin, nil))
}
