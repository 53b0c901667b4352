package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func newConference(number string) *Conference {
	return &Conference{Number: number, Name: "Room " + number, MaxParticipants: DefaultConferenceParticipants, Announce: true}
}

func TestConferenceRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	c := newConference("800")
	c.PIN, c.ModeratorPIN, c.MusicWhenAlone = "1234", "9876", true
	if err := s.CreateConference(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetConference(ctx, "800")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, *c) {
		t.Errorf("GetConference =\n%+v\nwant\n%+v", got, *c)
	}
	c.PIN, c.MaxParticipants, c.Announce = "", 500, false
	if err := s.UpdateConference(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetConference(ctx, "800"); !reflect.DeepEqual(got, *c) {
		t.Errorf("after update =\n%+v\nwant\n%+v", got, *c)
	}
	// Numbers are unique across kinds.
	if err := s.CreateConference(ctx, newConference("101")); !errors.Is(err, ErrNumberTaken) {
		t.Errorf("conference on an extension's number: %v, want ErrNumberTaken", err)
	}
	for name, bad := range map[string]func(*Conference){
		"pin":              func(c *Conference) { c.PIN = "12a" },
		"moderator_pin":    func(c *Conference) { c.PIN, c.ModeratorPIN = "11", "11" },
		"max_participants": func(c *Conference) { c.MaxParticipants = 1 },
	} {
		b := newConference("801")
		bad(b)
		var inv *InvalidError
		if err := s.CreateConference(ctx, b); !errors.As(err, &inv) || inv.Fields[name] == "" {
			t.Errorf("bad %s: %v, want a field error", name, err)
		}
	}
	if _, err := s.GetConference(ctx, "801"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused room was stored: %v", err)
	}
	// A room an IVR option sends calls to cannot be deleted.
	ivr := &IVR{Number: "500", Name: "Main", TimeoutSeconds: 5, Retries: 1, OnTimeout: "hangup", OnInvalid: "hangup",
		Options: map[string]string{"8": "conference:800"}}
	if err := s.CreateIVR(ctx, ivr); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConference(ctx, "800"); !errors.Is(err, ErrInUse) {
		t.Errorf("delete of a room in use: %v, want ErrInUse", err)
	}
	if err := s.DeleteIVR(ctx, "500"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConference(ctx, "800"); err != nil {
		t.Fatal(err)
	}
	list, _, err := s.ListConferences(ctx, ListOptions{})
	if err != nil || len(list) != 0 {
		t.Errorf("list after delete = %v, %v", list, err)
	}
	// The number is free again.
	if err := s.CreateConference(ctx, newConference("800")); err != nil {
		t.Errorf("re-create: %v", err)
	}
}
