package admin

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// fakeRooms is a conference application with one live room, 800.
type fakeRooms struct{ muted map[string]bool }

func (f *fakeRooms) LiveRooms() map[string]LiveRoom {
	return map[string]LiveRoom{"800": {Participants: 1, Locked: true}}
}

func (f *fakeRooms) ConferenceParticipants(number string) []ConferenceParticipant {
	if number != "800" {
		return nil
	}
	return []ConferenceParticipant{{ID: "c1", Number: "101", Name: "Ann", JoinedAt: time.Unix(1700000000, 0), Muted: f.muted["c1"]}}
}

func (f *fakeRooms) SetParticipantMuted(number, id string, muted bool) (ConferenceParticipant, bool) {
	if number != "800" || id != "c1" {
		return ConferenceParticipant{}, false
	}
	f.muted[id] = muted
	return f.ConferenceParticipants(number)[0], true
}

func (f *fakeRooms) KickParticipant(number, id string) bool { return number == "800" && id == "c1" }

func (f *fakeRooms) WatchConferences() (<-chan struct{}, func()) {
	return make(chan struct{}), func() {}
}

func TestConferenceRooms(t *testing.T) {
	rooms := &fakeRooms{muted: map[string]bool{}}
	env := newEnv(t, func(c *Config) { c.Conferences = rooms })
	r := env.must(http.StatusCreated, env.do("POST", "/api/v1/conferences", env.admin, map[string]any{"number": "800", "pin": "42"}))
	if r.header.Get("Location") != "/api/v1/conferences/800" || r.str("pin") != "42" ||
		r.body["max_participants"] != float64(20) || r.body["announce"] != true || r.body["music_when_alone"] != false {
		t.Errorf("created %s", r.raw)
	}
	got := env.must(http.StatusOK, env.do("GET", "/api/v1/conferences/800", env.admin, nil))
	if got.body["participants"] != float64(1) || got.body["locked"] != true {
		t.Errorf("live state %s", got.raw)
	}
	// A GET body PUT back as is keeps the room.
	env.must(http.StatusOK, env.do("PUT", "/api/v1/conferences/800", env.admin, got.body))
	p := env.must(http.StatusOK, env.do("PATCH", "/api/v1/conferences/800", env.admin, map[string]any{"moderator_pin": "99", "max_participants": 500}))
	if p.str("moderator_pin") != "99" || p.str("pin") != "42" || p.body["max_participants"] != float64(500) {
		t.Errorf("patched %s", p.raw)
	}
	env.must(http.StatusConflict, env.do("POST", "/api/v1/conferences", env.admin, map[string]any{"number": "800"}))
	bad := env.must(http.StatusBadRequest, env.do("POST", "/api/v1/conferences", env.admin, map[string]any{
		"number": "8", "pin": "12a", "moderator_pin": "", "max_participants": 501}))
	for field, msg := range map[string]string{"number": "2 to 10 digits", "pin": "digits", "max_participants": "2 to 500"} {
		if s, _ := bad.fields()[field].(string); !strings.Contains(s, msg) {
			t.Errorf("fields[%s] = %q, want %q", field, s, msg)
		}
	}
	same := env.must(http.StatusBadRequest, env.do("PATCH", "/api/v1/conferences/800", env.admin, map[string]any{"moderator_pin": "42"}))
	if s, _ := same.fields()["moderator_pin"].(string); !strings.Contains(s, "differ") {
		t.Errorf("same PINs: %s", same.raw)
	}

	// Live participants: list, mute, kick; unknown ones are 404.
	ps := env.must(http.StatusOK, env.do("GET", "/api/v1/conferences/800/participants", env.admin, nil))
	if len(ps.items()) != 1 || ps.items()[0].(map[string]any)["caller"] != "101" {
		t.Errorf("participants %s", ps.raw)
	}
	m := env.must(http.StatusOK, env.do("PATCH", "/api/v1/conferences/800/participants/c1", env.admin, map[string]any{"muted": true}))
	if m.body["muted"] != true || !rooms.muted["c1"] {
		t.Errorf("mute %s", m.raw)
	}
	env.must(http.StatusBadRequest, env.do("PATCH", "/api/v1/conferences/800/participants/c1", env.admin, map[string]any{}))
	env.must(http.StatusNotFound, env.do("PATCH", "/api/v1/conferences/800/participants/zz", env.admin, map[string]any{"muted": true}))
	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/conferences/800/participants/c1", env.admin, nil))
	env.must(http.StatusNotFound, env.do("DELETE", "/api/v1/conferences/800/participants/zz", env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/conferences/801/participants", env.admin, nil))

	// Users may not see or change rooms.
	env.createExtension("104", nil)
	bea := env.createUser("bea", roleUser, "104")
	env.must(http.StatusForbidden, env.do("GET", "/api/v1/conferences", bea, nil))
	env.must(http.StatusForbidden, env.do("DELETE", "/api/v1/conferences/800/participants/c1", bea, nil))

	env.must(http.StatusNoContent, env.do("DELETE", "/api/v1/conferences/800", env.admin, nil))
	env.must(http.StatusNotFound, env.do("GET", "/api/v1/conferences/800", env.admin, nil))
}
