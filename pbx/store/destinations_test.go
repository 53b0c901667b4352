package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// destinationWorld builds extensions 101-103, a menu 500 and a group 600
// that refer to each other in every way there is.
func destinationWorld(t *testing.T) *Store {
	t.Helper()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	e102 := newExt("102")
	e102.Forward = Forward{Busy: "extension:101", NoAnswer: "voicemail:101"}
	mustCreateExt(t, s, e102)
	e103 := newExt("103")
	e103.Forward.Always = "voicemail:103" // its own box: holds nothing
	mustCreateExt(t, s, e103)
	mustCreateRingGroup(t, s, newRingGroup("600", "102", "101"))
	menu := newIVR("500", map[string]string{"1": "extension:101", "2": "ringgroup:600", "3": "voicemail:101", "9": "ivr:500"})
	menu.OnTimeout = "ringgroup:600"
	mustCreateIVR(t, s, menu)
	sub := newIVR("510", map[string]string{"0": "ivr:500"})
	sub.OnInvalid = "ivr:500"
	mustCreateIVR(t, s, sub)
	g := newRingGroup("601", "103")
	g.OnNoAnswer = "ivr:510"
	mustCreateRingGroup(t, s, g)
	return s
}

func TestDestinationUsers(t *testing.T) {
	ctx := context.Background()
	s := destinationWorld(t)
	tests := map[string][]string{
		"extension:101": {"extension 102 forward busy", "ivr 500 option 1", "ringgroup 600 member"},
		"voicemail:101": {"extension 102 forward no_answer", "ivr 500 option 3"},
		"ringgroup:600": {"ivr 500 on_timeout", "ivr 500 option 2"},
		"ivr:500":       {"ivr 500 option 9", "ivr 510 on_invalid", "ivr 510 option 0"},
		"ivr:510":       {"ringgroup 601 on_no_answer"},
		"extension:103": {"ringgroup 601 member"},
		"voicemail:103": {"extension 103 forward always"},
		"extension:10":  nil,
		"ringgroup:601": nil,
	}
	for dest, want := range tests {
		got, err := s.DestinationUsers(ctx, dest)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("DestinationUsers(%s) = %q, want %q", dest, got, want)
		}
	}
}

func TestDeleteInUse(t *testing.T) {
	ctx := context.Background()
	s := destinationWorld(t)
	tests := []struct {
		name  string
		del   func() error
		users []string // named in the error
	}{
		{"extension forwarded to, in a menu and a group", func() error { return s.DeleteExtension(ctx, "101") },
			[]string{"extension 102 forward busy", "extension 102 forward no_answer", "ivr 500 option 1", "ivr 500 option 3", "ringgroup 600 member"}},
		{"extension in a group", func() error { return s.DeleteExtension(ctx, "103") }, []string{"ringgroup 601 member"}},
		{"group in a menu", func() error { return s.DeleteRingGroup(ctx, "600") }, []string{"ivr 500 on_timeout", "ivr 500 option 2"}},
		{"menu in another menu", func() error { return s.DeleteIVR(ctx, "500") }, []string{"ivr 510 on_invalid", "ivr 510 option 0"}},
		{"menu a group fails over to", func() error { return s.DeleteIVR(ctx, "510") }, []string{"ringgroup 601 on_no_answer"}},
	}
	for _, tt := range tests {
		err := tt.del()
		if !errors.Is(err, ErrInUse) || !errContains(err, tt.users...) {
			t.Errorf("%s: err %v, want ErrInUse naming %q", tt.name, err, tt.users)
		}
		if errContains(err, "ivr 500 option 9") {
			t.Errorf("%s: a menu's own repeat option holds it: %v", tt.name, err)
		}
	}
	// Undo the references in order, and everything goes.
	steps := []func() error{
		func() error { return s.DeleteRingGroup(ctx, "601") },
		func() error { return s.DeleteExtension(ctx, "103") },
		func() error { return s.DeleteIVR(ctx, "510") },
		func() error { return s.DeleteIVR(ctx, "500") },
		func() error { return s.DeleteRingGroup(ctx, "600") },
		func() error { return s.DeleteExtension(ctx, "102") },
		func() error { return s.DeleteExtension(ctx, "101") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
}

func TestDestinationProblem(t *testing.T) {
	ctx := context.Background()
	s := destinationWorld(t)
	tests := []struct {
		dest, self, want string // want: "" or a substring of the problem
	}{
		{"extension:101", "", ""},
		{"voicemail:101", "", ""},
		{"ringgroup:600", "", ""},
		{"ivr:500", "", ""},
		{"hangup", "", ""},
		{"number:+4930123", "", ""},
		{"extension:109", "", "no extension 109"},
		{"voicemail:500", "", "no extension 500"},
		{"ivr:600", "", "no ivr 600"},
		{"ringgroup:500", "", "no ringgroup 500"},
		{"conference:800", "", "no conference 800"},
		{"trunk:pstn:123", "", "no trunk pstn"},
		{"ivr:520", "ivr:520", ""}, // a menu being created may repeat itself
		{"ivr:520", "ivr:521", "no ivr 520"},
		{"", "", "invalid destination"},
		{"extension:", "", "invalid destination"},
		{"Hangup", "", "invalid destination"},
	}
	for _, tt := range tests {
		got, err := s.DestinationProblem(ctx, tt.dest, tt.self)
		if err != nil {
			t.Fatal(err)
		}
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("DestinationProblem(%q, %q) = %q, want %q", tt.dest, tt.self, got, tt.want)
		}
	}
}
