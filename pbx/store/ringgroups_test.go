package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// newRingGroup returns a ring group that passes every column check.
func newRingGroup(number string, members ...string) *RingGroup {
	return &RingGroup{Number: number, Name: "Group " + number, Strategy: StrategyRingAll, Members: members,
		RingSeconds: 30, MemberSeconds: 15}
}

func mustCreateRingGroup(t *testing.T, s *Store, g *RingGroup) {
	t.Helper()
	if err := s.CreateRingGroup(context.Background(), g); err != nil {
		t.Fatalf("CreateRingGroup(%s): %v", g.Number, err)
	}
}

func TestRingGroupRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, n := range []string{"101", "102", "103"} {
		mustCreateExt(t, s, newExt(n))
	}
	var changes []Change
	s.Subscribe(func(c Change) { changes = append(changes, c) })

	g := newRingGroup("600", "103", "101")
	g.Strategy, g.OnNoAnswer = StrategyHunt, "voicemail:101"
	mustCreateRingGroup(t, s, g)
	got, err := s.GetRingGroup(ctx, "600")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, *g) {
		t.Errorf("GetRingGroup =\n%+v\nwant\n%+v", got, *g)
	}
	g.Members = []string{"101", "102", "103"} // reordered and grown
	g.RingSeconds, g.MemberSeconds, g.OnNoAnswer = 600, 300, ""
	if err := s.UpdateRingGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetRingGroup(ctx, "600"); !reflect.DeepEqual(got, *g) {
		t.Errorf("after update =\n%+v\nwant\n%+v", got, *g)
	}
	if err := s.UpdateRingGroup(ctx, newRingGroup("699", "101")); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a missing group: %v, want ErrNotFound", err)
	}
	// A failed update leaves the stored group as it was.
	bad := *g
	bad.Members = []string{"102", "109"}
	if err := s.UpdateRingGroup(ctx, &bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("update with a missing member: %v, want ErrInvalid", err)
	}
	if got, _ = s.GetRingGroup(ctx, "600"); !reflect.DeepEqual(got.Members, g.Members) {
		t.Errorf("failed update changed members to %v", got.Members)
	}
	if err := s.DeleteRingGroup(ctx, "600"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRingGroup(ctx, "600"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	// The members are free to go now.
	if err := s.DeleteExtension(ctx, "101"); err != nil {
		t.Errorf("delete a former member: %v", err)
	}
	want := []Change{{Kind: "ringgroup", Key: "600"}, {Kind: "ringgroup", Key: "600"},
		{Kind: "ringgroup", Key: "600", Deleted: true}, {Kind: "extension", Key: "101", Deleted: true}}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %+v, want %+v", changes, want)
	}
}

func TestCreateRingGroupRejects(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	mustCreateExt(t, s, newExt("102"))
	mustCreateIVR(t, s, newIVR("500", nil))
	tests := []struct {
		name      string
		mutate    func(*RingGroup)
		wantErr   error
		wantField string
	}{
		{"number of a menu", func(g *RingGroup) { g.Number = "500" }, ErrNumberTaken, ""},
		{"unknown strategy", func(g *RingGroup) { g.Strategy = "random" }, nil, ""},
		{"ring too long", func(g *RingGroup) { g.RingSeconds = 601 }, nil, ""},
		{"member turn too short", func(g *RingGroup) { g.MemberSeconds = 4 }, nil, ""},
		{"no members", func(g *RingGroup) { g.Members = nil }, ErrInvalid, "members"},
		{"missing member", func(g *RingGroup) { g.Members = []string{"101", "109"} }, ErrInvalid, "members"},
		{"member is a menu", func(g *RingGroup) { g.Members = []string{"500"} }, ErrInvalid, "members"},
		{"member twice", func(g *RingGroup) { g.Members = []string{"101", "102", "101"} }, ErrInvalid, "members"},
		{"failover to itself", func(g *RingGroup) { g.OnNoAnswer = "ringgroup:600" }, ErrInvalid, "on_no_answer"},
		{"dangling failover", func(g *RingGroup) { g.OnNoAnswer = "ivr:501" }, ErrInvalid, "on_no_answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newRingGroup("600", "101", "102")
			tt.mutate(g)
			err := s.CreateRingGroup(ctx, g)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			var inv *InvalidError
			if tt.wantField != "" && (!errors.As(err, &inv) || inv.Fields[tt.wantField] == "") {
				t.Errorf("err %v does not name field %s", err, tt.wantField)
			}
			if g.Number != "500" {
				if _, err := s.NumberKind(ctx, g.Number); !errors.Is(err, ErrNotFound) {
					t.Errorf("number %q claimed by a failed create: %v", g.Number, err)
				}
			}
		})
	}
	mustCreateRingGroup(t, s, newRingGroup("600", "101"))
}

func TestListRingGroups(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	mustCreateExt(t, s, newExt("102"))
	mustCreateRingGroup(t, s, newRingGroup("602", "102", "101"))
	mustCreateRingGroup(t, s, newRingGroup("601", "101"))
	sales := newRingGroup("700", "101", "102")
	sales.Name = "Sales"
	mustCreateRingGroup(t, s, sales)

	items, next, err := s.ListRingGroups(ctx, ListOptions{Limit: 2})
	if err != nil || next != "602" || len(items) != 2 {
		t.Fatalf("first page %+v, next %q, %v", items, next, err)
	}
	if !reflect.DeepEqual(items[1].Members, []string{"102", "101"}) || !reflect.DeepEqual(items[0].Members, []string{"101"}) {
		t.Errorf("members %v, %v", items[0].Members, items[1].Members)
	}
	items, next, err = s.ListRingGroups(ctx, ListOptions{Limit: 2, After: next})
	if err != nil || next != "" || len(items) != 1 || items[0].Number != "700" || len(items[0].Members) != 2 {
		t.Fatalf("second page %+v, next %q, %v", items, next, err)
	}
	items, _, err = s.ListRingGroups(ctx, ListOptions{Query: "ale"})
	if err != nil || len(items) != 1 || items[0].Number != "700" || len(items[0].Members) != 2 {
		t.Fatalf("q=ale: %+v, %v", items, err)
	}
}
