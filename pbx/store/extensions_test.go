package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestExtensionRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	e := newExt("201")
	e.Email = "ann@example.com"
	e.Forward = Forward{Always: "", Busy: "voicemail:201", NoAnswer: "extension:202"}
	e.DND = true
	e.PickupGroup = "sales"
	e.Outbound = "national"
	start := time.Now().Truncate(time.Second)
	mustCreateExt(t, s, e)
	if e.CreatedAt.Before(start) || !e.UpdatedAt.Equal(e.CreatedAt) {
		t.Errorf("CreatedAt %v UpdatedAt %v, want both from now", e.CreatedAt, e.UpdatedAt)
	}
	got, err := s.GetExtension(ctx, "201")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, *e) {
		t.Errorf("GetExtension =\n%+v\nwant\n%+v", got, *e)
	}
	e.Voicemail = Voicemail{}
	e.AuthAlgorithms = []string{"MD5"}
	e.RingSeconds = 300
	e.CallWaiting = true
	e.PickupGroup = ""
	if err := s.UpdateExtension(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetExtension(ctx, "201"); !reflect.DeepEqual(got, *e) {
		t.Errorf("after update =\n%+v\nwant\n%+v", got, *e)
	}
	if _, err := s.GetExtension(ctx, "299"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing extension: err %v, want ErrNotFound", err)
	}
}

func TestCreateExtensionRejects(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("100"))
	tests := []struct {
		name    string
		mutate  func(*Extension)
		wantErr error // nil: any error
	}{
		{"number taken", func(e *Extension) { e.Number = "100" }, ErrNumberTaken},
		{"letters in number", func(e *Extension) { e.Number = "10a" }, nil},
		{"empty number", func(e *Extension) { e.Number = "" }, nil},
		{"ring too short", func(e *Extension) { e.RingSeconds = 4 }, nil},
		{"unknown outbound class", func(e *Extension) { e.Outbound = "premium" }, nil},
		{"pickup group too long", func(e *Extension) { e.PickupGroup = strings.Repeat("g", 33) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExt("300")
			tt.mutate(e)
			err := s.CreateExtension(ctx, e)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			// Nothing of the failed create stays behind.
			if e.Number != "100" {
				if _, err := s.NumberKind(ctx, e.Number); !errors.Is(err, ErrNotFound) {
					t.Errorf("number %q claimed by a failed create: %v", e.Number, err)
				}
			}
			if n, _ := s.CountExtensions(ctx); n != 1 {
				t.Errorf("%d extensions, want 1", n)
			}
		})
	}
}

func TestNumbersAndDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	if kind, err := s.NumberKind(ctx, "101"); err != nil || kind != "extension" {
		t.Errorf("NumberKind(101) = %q, %v", kind, err)
	}
	if _, err := s.NumberKind(ctx, "102"); !errors.Is(err, ErrNotFound) {
		t.Errorf("NumberKind(102): err %v, want ErrNotFound", err)
	}
	err := s.CreateExtension(ctx, newExt("101"))
	if !errors.Is(err, ErrNumberTaken) || !errContains(err, "101", "extension") {
		t.Errorf("second create: err %v, want ErrNumberTaken naming 101 and its kind", err)
	}
	// A number owned by another kind is just as taken.
	if _, err := s.w.Exec(`INSERT INTO numbers(number, kind) VALUES ('600', 'conference')`); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateExtension(ctx, newExt("600")); !errors.Is(err, ErrNumberTaken) || !errContains(err, "conference") {
		t.Errorf("create over a conference number: err %v, want ErrNumberTaken naming conference", err)
	}

	now := time.Now()
	reg := Registration{Extension: "101", Contact: "sip:101@10.0.0.5", Source: "10.0.0.5:5060", Transport: "udp",
		ExpiresAt: now.Add(time.Hour), UpdatedAt: now}
	if err := s.SaveRegistrations(ctx, []Registration{reg}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, &User{Username: "ann", PasswordHash: "x", Role: "user", Extension: "101"}); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteExtension(ctx, "101"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NumberKind(ctx, "101"); !errors.Is(err, ErrNotFound) {
		t.Errorf("number kept after delete: %v", err)
	}
	if err := s.DeleteExtension(ctx, "101"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: err %v, want ErrNotFound", err)
	}
	// The user keeps their login but loses the extension.
	if u, err := s.GetUser(ctx, "ann"); err != nil || u.Extension != "" {
		t.Errorf("user after extension delete = %+v, %v; want no extension", u, err)
	}
	// The number is free again, and the new extension does not inherit the
	// old one's registrations: they were deleted, not hidden.
	mustCreateExt(t, s, newExt("101"))
	regs, err := s.LoadRegistrations(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 0 {
		t.Errorf("registrations survived their extension: %+v", regs)
	}
}

func TestDeleteReferencedExtension(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		forward Forward // of extension 102
		inUse   bool
	}{
		{"busy to extension", Forward{Busy: "extension:101"}, true},
		{"busy to voicemail", Forward{Busy: "voicemail:101"}, true},
		{"always", Forward{Always: "extension:101"}, true},
		{"no answer to voicemail", Forward{NoAnswer: "voicemail:101"}, true},
		{"another number with the same prefix", Forward{Busy: "extension:1010"}, false},
		{"an external number", Forward{Always: "external:101"}, false},
		{"no forward", Forward{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openStore(t)
			// 101 forwarding to its own voicemail does not hold it.
			own := newExt("101")
			own.Forward.NoAnswer = "voicemail:101"
			mustCreateExt(t, s, own)
			ref := newExt("102")
			ref.Forward = tt.forward
			mustCreateExt(t, s, ref)

			err := s.DeleteExtension(ctx, "101")
			if !tt.inUse {
				if err != nil {
					t.Fatalf("delete: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInUse) || !errContains(err, "102") {
				t.Fatalf("delete: err %v, want ErrInUse naming 102", err)
			}
			if _, err := s.GetExtension(ctx, "101"); err != nil {
				t.Fatalf("refused delete removed the extension: %v", err)
			}
			if kind, err := s.NumberKind(ctx, "101"); err != nil || kind != "extension" {
				t.Fatalf("refused delete freed the number: %q, %v", kind, err)
			}
			ref.Forward = Forward{}
			if err := s.UpdateExtension(ctx, ref); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteExtension(ctx, "101"); err != nil {
				t.Errorf("delete after clearing the forward: %v", err)
			}
		})
	}
}

func TestListExtensionsPaging(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const total = 120
	// Insert out of order so the ordering is the query's, not the insert's.
	for i := range total {
		num := fmt.Sprint(1000 + (i*7)%total)
		e := newExt(num)
		e.Name = fmt.Sprintf("Staff %c%c", 'a'+i/26, 'a'+i%26)
		mustCreateExt(t, s, e)
	}
	want := make([]string, total)
	for i := range want {
		want[i] = fmt.Sprint(1000 + i)
	}

	for _, limit := range []int{1, 7, 50, 119, 120, 500} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > total {
					t.Fatal("paging does not end")
				}
				items, next, err := s.ListExtensions(ctx, ListOptions{Limit: limit, After: after})
				if err != nil {
					t.Fatal(err)
				}
				if len(items) > limit {
					t.Fatalf("page of %d, limit %d", len(items), limit)
				}
				for _, e := range items {
					got = append(got, e.Number)
				}
				if next == "" {
					break
				}
				if next != items[len(items)-1].Number {
					t.Fatalf("next %q is not the last item %q", next, items[len(items)-1].Number)
				}
				after = next
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("paged %d numbers %v..., want %d in order", len(got), got[:min(len(got), 5)], len(want))
			}
		})
	}

	t.Run("default and maximum limit", func(t *testing.T) {
		items, next, err := s.ListExtensions(ctx, ListOptions{})
		if err != nil || len(items) != defaultLimit || next != items[defaultLimit-1].Number {
			t.Errorf("no limit: %d items, next %q, %v; want %d", len(items), next, err, defaultLimit)
		}
		items, next, err = s.ListExtensions(ctx, ListOptions{Limit: 100000})
		if err != nil || len(items) != total || next != "" {
			t.Errorf("huge limit: %d items, next %q, %v; want all %d", len(items), next, err, total)
		}
	})
}

func TestListExtensionsQuery(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for i := range 30 {
		e := newExt(fmt.Sprint(1000 + i))
		e.Name = "Staff"
		mustCreateExt(t, s, e)
	}
	named := map[string]string{
		"2000": "Sales 50% off",
		"2001": "Sales 500 rooms",
		"2002": "front_desk",
		"2003": "frontXdesk",
		"2004": `back\office`,
		"2005": "Anna",
	}
	for num, name := range named {
		e := newExt(num)
		e.Name = name
		mustCreateExt(t, s, e)
	}
	e := newExt("2006")
	e.Name = "Bob"
	e.Email = "bob@sales.example"
	mustCreateExt(t, s, e)

	tests := []struct {
		query string
		want  []string
	}{
		{"101", []string{"1010", "1011", "1012", "1013", "1014", "1015", "1016", "1017", "1018", "1019"}},
		{"1029", []string{"1029"}},
		{"02", nil}, // a substring of numbers, but not a prefix
		{"Sales", []string{"2000", "2001", "2006"}}, // name or email
		{"50%", []string{"2000"}},                   // % is literal
		{"%", []string{"2000"}},
		{"front_desk", []string{"2002"}}, // _ is literal
		{"_", []string{"2002"}},
		{`back\office`, []string{"2004"}}, // so is the escape character
		{`\`, []string{"2004"}},
		{"nna", []string{"2005"}},
		{"nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			items, next, err := s.ListExtensions(ctx, ListOptions{Query: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range items {
				got = append(got, e.Number)
			}
			if !reflect.DeepEqual(got, tt.want) || next != "" {
				t.Errorf("Query %q = %v (next %q), want %v", tt.query, got, next, tt.want)
			}
		})
	}

	t.Run("query with paging", func(t *testing.T) {
		var got []string
		after := ""
		for {
			items, next, err := s.ListExtensions(ctx, ListOptions{Query: "102", Limit: 3, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range items {
				got = append(got, e.Number)
			}
			if next == "" {
				break
			}
			after = next
		}
		want := []string{"1020", "1021", "1022", "1023", "1024", "1025", "1026", "1027", "1028", "1029"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

// An extension stored before call waiting and pickup groups existed gets
// call waiting on and the default pickup group, as the API's defaults.
func TestExtensionFeaturesMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pbx.db")
	db := rawDB(t, path)
	old := fstest.MapFS{}
	for _, m := range embedded(t) {
		if m.version < 5 {
			old[m.name] = &fstest.MapFile{Data: []byte(m.sql)}
		}
	}
	s := &Store{w: db, r: db}
	if err := s.migrateFS(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO numbers(number, kind) VALUES ('100', 'extension');
		INSERT INTO extensions(number, secret, created_at, updated_at) VALUES ('100', 'secret-100', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := s.GetExtension(ctx, "100")
	if err != nil {
		t.Fatal(err)
	}
	if !e.CallWaiting || e.PickupGroup != "" {
		t.Errorf("migrated extension: call waiting %v, pickup group %q; want true, \"\"", e.CallWaiting, e.PickupGroup)
	}
	db.Close()
}
