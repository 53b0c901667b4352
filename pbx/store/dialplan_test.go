package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/officepbx/pbx/dialplan"
)

func TestDialplanVersions(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Dialplan(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty dial plan: err %v, want ErrNotFound", err)
	}
	var changes []Change
	s.Subscribe(func(c Change) { changes = append(changes, c) })
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	saves := []struct{ text, by, comment string }{
		{"", "", ""},
		{"one line", "admin", ""},
		{"a\nb\n", "bea", "two lines"},
		{"a\nb\n\nlast", "admin", "restored from version 2"},
	}
	for i, sv := range saves {
		var id int64
		var err error
		if sv.comment == "" {
			id, err = s.SetDialplan(ctx, sv.text, sv.by)
		} else {
			id, err = s.AddDialplanVersion(ctx, sv.text, sv.by, sv.comment)
		}
		if err != nil || id != int64(i+1) {
			t.Fatalf("save %d: id %d, %v", i, id, err)
		}
		cur, err := s.Dialplan(ctx)
		if err != nil || cur.ID != id || cur.Text != sv.text || cur.CreatedBy != sv.by || cur.Comment != sv.comment ||
			cur.CreatedAt.Before(before) {
			t.Errorf("Dialplan after save %d = %+v, %v", i, cur, err)
		}
	}
	if len(changes) != len(saves) {
		t.Errorf("%d changes published for %d saves: %v", len(changes), len(saves), changes)
	}
	for _, c := range changes {
		if c != (Change{Kind: "dialplan"}) {
			t.Errorf("change %+v", c)
		}
	}

	// Old versions keep their text.
	v, err := s.GetDialplanVersion(ctx, 2)
	if err != nil || v.Text != "one line" || v.CreatedBy != "admin" || v.Lines != 1 {
		t.Errorf("version 2 = %+v, %v", v, err)
	}
	if _, err := s.GetDialplanVersion(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("version 99: %v", err)
	}

	// Lists are newest first, without text, with line counts, in pages.
	wantLines := map[int64]int{1: 0, 2: 1, 3: 2, 4: 4}
	var got []int64
	var after int64
	for range 10 {
		items, next, err := s.ListDialplanVersions(ctx, DialplanVersionFilter{Limit: 3, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.ID)
			if it.Text != "" || it.Lines != wantLines[it.ID] {
				t.Errorf("listed version %d: text %q lines %d, want no text, %d lines", it.ID, it.Text, it.Lines, wantLines[it.ID])
			}
		}
		if next == "" {
			break
		}
		after, _ = strconv.ParseInt(next, 10, 64)
	}
	if fmt.Sprint(got) != "[4 3 2 1]" {
		t.Errorf("listed %v, want [4 3 2 1]", got)
	}
}

// TestDialplanMigration opens a database written before version history
// (schema 5, one dial plan row): its plan becomes version 1.
func TestDialplanMigration(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/pbx.db"
	old := fstest.MapFS{}
	for _, m := range embedded(t) {
		if m.version <= 5 {
			old[m.name] = &fstest.MapFile{Data: []byte(m.sql)}
		}
	}
	raw := &Store{w: rawDB(t, path)}
	if err := raw.migrateFS(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.w.Exec(`INSERT INTO dialplan(id, text, updated_at) VALUES (1, 'old plan', 1700000000)`); err != nil {
		t.Fatal(err)
	}
	raw.w.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.Dialplan(ctx)
	if err != nil || v.ID != 1 || v.Text != "old plan" || v.CreatedBy != "" || !v.CreatedAt.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("migrated plan = %+v, %v", v, err)
	}
	if id, err := s.SetDialplan(ctx, "new plan", "admin"); err != nil || id != 2 {
		t.Errorf("next save: %d, %v", id, err)
	}
}

func TestDirectory(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	// Ring groups, IVR menus and rooms have no store methods yet: claim
	// their numbers directly.
	if _, err := s.w.Exec(`INSERT INTO numbers(number, kind) VALUES ('600', 'ringgroup'), ('500', 'ivr'), ('800', 'conference')`); err != nil {
		t.Fatal(err)
	}
	dir, err := s.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for dest, want := range map[string]bool{
		"extension:101": true, "extension:102": false, "extension:600": false,
		"voicemail:101": true, "voicemail:600": false,
		"ringgroup:600": true, "ringgroup:101": false,
		"ivr:500": true, "ivr:501": false,
		"conference:800": true, "conference:500": false,
		"number:0123": true, "hangup": true,
		"trunk:pstn:123": false,
	} {
		d := mustDest(t, dest)
		if got := dir.Exists(d); got != want {
			t.Errorf("Exists(%s) = %v, want %v", dest, got, want)
		}
	}
	// A snapshot: later changes are not seen.
	mustCreateExt(t, s, newExt("102"))
	if dir.Exists(mustDest(t, "extension:102")) {
		t.Error("the snapshot sees an extension created after it")
	}
}

func mustDest(t *testing.T, s string) dialplan.Destination {
	t.Helper()
	d, err := dialplan.ParseDestination(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDialplanUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if users, err := s.DialplanUsers(ctx, mustDest(t, "extension:101")); err != nil || users != nil {
		t.Errorf("no plan: %v, %v", users, err)
	}
	plan := `context internal {
    rule 0 {
        dial extension:101
    }
    rule 1 {
        dial voicemail:101
    }
    rule 2 {
        dial extension:1010 ring 20
        dial ringgroup:101
    }
    rule _9X. {
        strip 1
        dial trunk:pstn:${number}
    }
    rule 3 {
        dial trunk:pstn:555
    }
}
`
	if _, err := s.SetDialplan(ctx, plan, "admin"); err != nil {
		t.Fatal(err)
	}
	for dest, want := range map[string]string{
		"extension:101":  "[dial plan line 3 dial plan line 6]", // its voicemail box goes with it
		"voicemail:101":  "[dial plan line 6]",
		"extension:1010": "[dial plan line 9]",
		"ringgroup:101":  "[dial plan line 10]",
		"extension:102":  "[]",
		"ivr:101":        "[]",
		"trunk:pstn:555": "[dial plan line 17]",
		"trunk:other:1":  "[]",
	} {
		users, err := s.DialplanUsers(ctx, mustDest(t, dest))
		if err != nil || fmt.Sprint(users) != want {
			t.Errorf("DialplanUsers(%s) = %v, %v; want %s", dest, users, err, want)
		}
	}
	// A trunk without a number: every use of the trunk.
	users, err := s.DialplanUsers(ctx, dialplan.Destination{Kind: dialplan.KindTrunk, Trunk: "pstn"})
	if err != nil || fmt.Sprint(users) != "[dial plan line 14 dial plan line 17]" {
		t.Errorf("DialplanUsers(trunk pstn) = %v, %v", users, err)
	}

	// A stored plan that no longer parses uses nothing (it routes nothing).
	if _, err := s.SetDialplan(ctx, "# comments only, from before the language\n", ""); err != nil {
		t.Fatal(err)
	}
	if users, err := s.DialplanUsers(ctx, mustDest(t, "extension:101")); err != nil || users != nil {
		t.Errorf("unparsable plan: %v, %v", users, err)
	}
}

// A destination the dial plan in force routes to cannot be deleted; once
// the plan no longer names it, it can.
func TestDeleteRefusedWhileThePlanUsesIt(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if err := s.CreateExtension(ctx, newExt("101")); err != nil {
		t.Fatal(err)
	}
	plan := "context internal {\n    rule 700 {\n        dial extension:101\n    }\n}\n"
	if _, err := s.SetDialplan(ctx, plan, "admin"); err != nil {
		t.Fatal(err)
	}
	err := s.DeleteExtension(ctx, "101")
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "dial plan line 3") {
		t.Fatalf("delete extension used by the plan: %v, want ErrInUse naming dial plan line 3", err)
	}
	if _, err := s.SetDialplan(ctx, dialplan.Default, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExtension(ctx, "101"); err != nil {
		t.Fatalf("delete extension after the plan dropped it: %v", err)
	}
}
