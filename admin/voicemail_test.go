package admin

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// leaveMessage stores a message of n samples in mailbox through the store,
// as the call application does.
func (e *testEnv) leaveMessage(mailbox, caller string, n int) store.VoicemailMessage {
	e.t.Helper()
	f, err := e.store.CreateVoicemailFile(mailbox)
	if err != nil {
		e.t.Fatal(err)
	}
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(i%50*500 - 12000)
	}
	if err := media.WriteWAV(f, pcm); err != nil {
		e.t.Fatal(err)
	}
	m := store.VoicemailMessage{Mailbox: mailbox, Caller: caller, CallerName: "Caller " + caller,
		Duration: time.Duration(n) * time.Second / 8000}
	if err := e.store.CommitVoicemail(context.Background(), f, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestVoicemailAPI(t *testing.T) {
	env := newEnv(t)
	env.createExtension("201", nil)
	env.createExtension("202", nil)
	first := env.leaveMessage("201", "202", 8000)
	second := env.leaveMessage("201", "203", 4000)
	env.leaveMessage("202", "201", 800)
	base := "/api/v1/voicemail/201/messages"

	r := env.must(http.StatusOK, env.do("GET", base, env.admin, nil))
	items := r.items()
	if len(items) != 2 {
		t.Fatalf("listed %d messages, want 2: %s", len(items), r.raw)
	}
	newest := items[0].(map[string]any)
	if newest["id"] != float64(second.ID) || newest["caller"] != "203" || newest["caller_name"] != "Caller 203" ||
		newest["duration_s"] != 0.5 || newest["read"] != false || newest["received_at"] == "" {
		t.Errorf("newest message %v", newest)
	}
	// Paging: one per page.
	r = env.must(http.StatusOK, env.do("GET", base+"?limit=1", env.admin, nil))
	if len(r.items()) != 1 || r.str("next_cursor") == "" {
		t.Fatalf("first page %s", r.raw)
	}
	r = env.must(http.StatusOK, env.do("GET", base+"?limit=1&cursor="+r.str("next_cursor"), env.admin, nil))
	if len(r.items()) != 1 || r.items()[0].(map[string]any)["id"] != float64(first.ID) || r.str("next_cursor") != "" {
		t.Errorf("second page %s", r.raw)
	}
	r = env.must(http.StatusBadRequest, env.do("GET", base+"?cursor=abc", env.admin, nil))
	if r.fields()["cursor"] == nil {
		t.Errorf("bad cursor answer %s", r.raw)
	}

	msg := fmt.Sprintf("%s/%d", base, first.ID)
	r = env.must(http.StatusOK, env.do("GET", msg, env.admin, nil))
	if r.body["id"] != float64(first.ID) || r.body["duration_s"] != 1.0 {
		t.Errorf("get %s", r.raw)
	}
	r = env.must(http.StatusOK, env.do("PATCH", msg, env.admin, map[string]any{"read": true}))
	if r.body["read"] != true {
		t.Errorf("patch answer %s", r.raw)
	}
	if c, _ := env.store.VoicemailCounts(context.Background(), "201"); c != (store.VoicemailCounts{New: 1, Old: 1}) {
		t.Errorf("counts after read %+v", c)
	}
	env.must(http.StatusBadRequest, env.do("PATCH", msg, env.admin, map[string]any{}))
	env.must(http.StatusBadRequest, env.do("PATCH", msg, env.admin, map[string]any{"read": "yes"}))

	// Audio: whole, ranged, and as a download.
	r = env.must(http.StatusOK, env.do("GET", msg+"/audio", env.admin, nil))
	if r.header.Get("Content-Type") != "audio/wav" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "inline;") {
		t.Errorf("audio headers %v", r.header)
	}
	if a, err := media.ReadWAV(bytes.NewReader(r.raw)); err != nil || len(a.Samples) != 8000 {
		t.Errorf("audio: %v", err)
	}
	req, _ := http.NewRequest("GET", env.ts.URL+msg+"/audio?download=1", nil)
	req.Header.Set("Authorization", "Bearer "+env.admin)
	req.Header.Set("Range", "bytes=0-43")
	r = env.must(http.StatusPartialContent, env.send(req))
	if len(r.raw) != 44 || r.header.Get("Content-Range") != "bytes 0-43/16044" ||
		r.header.Get("Content-Disposition") != fmt.Sprintf(`attachment; filename="voicemail-201-%d.wav"`, first.ID) {
		t.Errorf("ranged download: %d bytes, headers %v", len(r.raw), r.header)
	}

	// A message of another box is not found through this one.
	other := fmt.Sprintf("%s/%d", base, first.ID+2)
	env.must(http.StatusNotFound, env.do("GET", other, env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", base+"/x", env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/voicemail/299/messages", env.admin, nil))

	env.must(http.StatusNoContent, env.do("DELETE", msg, env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", msg, env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", msg+"/audio", env.admin, nil))
	env.must(http.StatusNotFound, env.do("DELETE", msg, env.admin, nil))
	env.must(http.StatusNotFound, env.do("PATCH", msg, env.admin, map[string]any{"read": false}))

	r = env.must(http.StatusOK, env.do("GET", "/metrics", "", nil))
	if !strings.Contains(string(r.raw), "\npbx_voicemail_messages 2\n") {
		t.Errorf("metrics lack pbx_voicemail_messages 2:\n%s", r.raw)
	}
}

func TestVoicemailOwnBoxOnly(t *testing.T) {
	env := newEnv(t)
	env.createExtension("201", nil)
	env.createExtension("202", nil)
	own := env.leaveMessage("201", "202", 800)
	theirs := env.leaveMessage("202", "201", 800)
	ann := env.createUser("ann", "user", "201")
	nobody := env.createUser("bob", "user", "")

	env.must(http.StatusOK, env.do("GET", "/api/v1/voicemail/201/messages", ann, nil))
	mine := fmt.Sprintf("/api/v1/voicemail/201/messages/%d", own.ID)
	env.must(http.StatusOK, env.do("GET", mine+"/audio", ann, nil))
	env.must(http.StatusOK, env.do("PATCH", mine, ann, map[string]any{"read": true}))
	other := fmt.Sprintf("/api/v1/voicemail/202/messages/%d", theirs.ID)
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/api/v1/voicemail/202/messages", ann},
		{"GET", other, ann},
		{"PATCH", other, ann},
		{"DELETE", other, ann},
		{"GET", other + "/audio", ann},
		{"GET", "/api/v1/voicemail/201/messages", nobody},
		{"GET", "/api/v1/voicemail/299/messages", ann},
	} {
		var body any
		if c.method == "PATCH" {
			body = map[string]any{"read": true}
		}
		if r := env.do(c.method, c.path, c.token, body); r.status != http.StatusForbidden {
			t.Errorf("%s %s: status %d, want 403", c.method, c.path, r.status)
		}
	}
	env.must(http.StatusUnauthorized, env.do("GET", "/api/v1/voicemail/201/messages", "", nil))
	env.must(http.StatusNoContent, env.do("DELETE", mine, ann, nil))
	if _, err := env.store.GetVoicemail(context.Background(), "202", theirs.ID); err != nil {
		t.Errorf("the other box's message: %v", err)
	}
}

func TestExtensionVoicemailSettings(t *testing.T) {
	env := newEnv(t)
	r := env.createExtension("201", nil)
	vm := r.body["voicemail"].(map[string]any)
	want := map[string]any{"enabled": true, "pin": "", "max_seconds": 120.0, "max_messages": 100.0,
		"delete_after_days": 0.0, "skip_pin_own": true, "operator": "", "email": false}
	if fmt.Sprint(vm) != fmt.Sprint(want) {
		t.Errorf("default voicemail %v, want %v", vm, want)
	}
	env.createExtension("202", nil)
	set := map[string]any{"enabled": true, "pin": "1234567890", "max_seconds": 600, "max_messages": 1,
		"delete_after_days": 3650, "skip_pin_own": false, "operator": "extension:202", "email": true}
	r = env.must(http.StatusOK, env.do("PATCH", "/api/v1/extensions/201", env.admin, map[string]any{"voicemail": set}))
	got := r.body["voicemail"].(map[string]any)
	for k, v := range set {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("voicemail.%s = %v, want %v", k, got[k], v)
		}
	}
	e, _ := env.store.GetExtension(context.Background(), "201")
	if e.Voicemail.Operator != "extension:202" || e.Voicemail.SkipPINOwn || !e.Voicemail.Email || e.Voicemail.MaxMessages != 1 {
		t.Errorf("stored %+v", e.Voicemail)
	}
	r = env.must(http.StatusBadRequest, env.do("PATCH", "/api/v1/extensions/201", env.admin, map[string]any{"voicemail": map[string]any{
		"pin": "12345678901", "max_seconds": 9, "max_messages": 1001, "delete_after_days": -1, "operator": "extension:299"}}))
	f := r.fields()
	for field, msg := range map[string]string{
		"voicemail.pin":               "4 to 10 digits",
		"voicemail.max_seconds":       "from 10 to 600",
		"voicemail.max_messages":      "from 1 to 1000",
		"voicemail.delete_after_days": "from 0 (never) to 3650",
		"voicemail.operator":          "299",
	} {
		if s, _ := f[field].(string); !strings.Contains(s, msg) {
			t.Errorf("field %s: %q, want it to say %q", field, s, msg)
		}
	}
	env.must(http.StatusBadRequest, env.do("PATCH", "/api/v1/extensions/201", env.admin,
		map[string]any{"voicemail": map[string]any{"pin": "12ab"}}))
	// A user changes their PIN, not the box's settings.
	ann := env.createUser("ann", "user", "201")
	env.must(http.StatusOK, env.do("PATCH", "/api/v1/extensions/201", ann, map[string]any{"voicemail": map[string]any{"pin": "4321"}}))
	r = env.must(http.StatusForbidden, env.do("PATCH", "/api/v1/extensions/201", ann,
		map[string]any{"voicemail": map[string]any{"max_messages": 5}}))
	if !strings.Contains(string(r.raw), "voicemail.max_messages") {
		t.Errorf("self-service refusal %s", r.raw)
	}
}
