package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func mustCreateUser(t *testing.T, s *Store, name, role string) *User {
	t.Helper()
	u := &User{Username: name, PasswordHash: "hash-of-" + name, Role: role}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("101"))
	ann := mustCreateUser(t, s, "ann", "admin")

	tests := []struct {
		name    string
		user    User
		wantErr error
	}{
		{"ok with extension", User{Username: "bob", PasswordHash: "h", Role: "user", Extension: "101"}, nil},
		{"duplicate", User{Username: "ann", PasswordHash: "h", Role: "user"}, ErrExists},
		{"unknown extension", User{Username: "cid", PasswordHash: "h", Role: "user", Extension: "999"}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.user
			err := s.CreateUser(ctx, &u)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			got, gerr := s.GetUser(ctx, u.Username)
			switch {
			case tt.wantErr == nil && (gerr != nil || !reflect.DeepEqual(got, u)):
				t.Errorf("GetUser = %+v, %v; want %+v", got, gerr, u)
			case errors.Is(tt.wantErr, ErrExists) && (gerr != nil || got.PasswordHash != ann.PasswordHash):
				t.Errorf("duplicate create changed the user: %+v, %v", got, gerr)
			case errors.Is(tt.wantErr, ErrNotFound) && !errors.Is(gerr, ErrNotFound):
				t.Errorf("failed create stored the user: %+v, %v", got, gerr)
			}
		})
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
	if err := s.UpdateUser(ctx, &User{Username: "nobody", Role: "user"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a missing user: err %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete of a missing user: err %v, want ErrNotFound", err)
	}
	bob, _ := s.GetUser(ctx, "bob")
	bob.Extension = "555"
	if err := s.UpdateUser(ctx, &bob); !errors.Is(err, ErrNotFound) {
		t.Errorf("update to an unknown extension: err %v, want ErrNotFound", err)
	}
}

func TestLastAdmin(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	root := mustCreateUser(t, s, "root", "admin")
	mustCreateUser(t, s, "bob", "user")

	demote := func(u User) error {
		u.Role = "user"
		return s.UpdateUser(ctx, &u)
	}
	if err := s.DeleteUser(ctx, "root"); !errors.Is(err, ErrInUse) || !errContains(err, "root") {
		t.Errorf("delete last admin: err %v, want ErrInUse naming root", err)
	}
	if err := demote(*root); !errors.Is(err, ErrInUse) {
		t.Errorf("demote last admin: err %v, want ErrInUse", err)
	}
	if u, _ := s.GetUser(ctx, "root"); u.Role != "admin" {
		t.Fatalf("refused demotion stored role %q", u.Role)
	}
	// Other users come and go freely; an admin may keep being an admin.
	root.PasswordHash = "new"
	if err := s.UpdateUser(ctx, root); err != nil {
		t.Errorf("update of the last admin keeping the role: %v", err)
	}
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Errorf("delete a plain user: %v", err)
	}

	ops := mustCreateUser(t, s, "ops", "admin")
	if err := demote(*root); err != nil {
		t.Fatalf("demote with a second admin: %v", err)
	}
	// Now ops is the last one.
	if err := s.DeleteUser(ctx, "ops"); !errors.Is(err, ErrInUse) {
		t.Errorf("delete new last admin: err %v, want ErrInUse", err)
	}
	if err := demote(*ops); !errors.Is(err, ErrInUse) {
		t.Errorf("demote new last admin: err %v, want ErrInUse", err)
	}
	if err := s.DeleteUser(ctx, "root"); err != nil {
		t.Errorf("delete the demoted former admin: %v", err)
	}
}

func TestDeleteUserCascades(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateUser(t, s, "admin", "admin")
	mustCreateUser(t, s, "bob", "user")
	later := time.Now().Add(time.Hour)
	for _, c := range []struct{ hash, user string }{{"s-admin", "admin"}, {"s-bob-1", "bob"}, {"s-bob-2", "bob"}} {
		if err := s.CreateSession(ctx, c.hash, c.user, later); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ hash, user string }{{"t-admin", "admin"}, {"t-bob", "bob"}} {
		if err := s.CreateAPIToken(ctx, &APIToken{Name: c.hash, Username: c.user}, c.hash); err != nil {
			t.Fatal(err)
		}
	}
	var changes []Change
	s.Subscribe(func(c Change) { changes = append(changes, c) })
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if want := []Change{{Kind: "user", Key: "bob", Deleted: true}}; !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %v, want %v", changes, want)
	}
	// A new bob must not inherit the old one's sessions or tokens: they are
	// deleted, not merely orphaned.
	mustCreateUser(t, s, "bob", "user")
	for _, hash := range []string{"s-bob-1", "s-bob-2"} {
		if _, err := s.SessionUser(ctx, hash); !errors.Is(err, ErrNotFound) {
			t.Errorf("session %s after user delete: err %v, want ErrNotFound", hash, err)
		}
	}
	if _, err := s.APITokenUser(ctx, "t-bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("token after user delete: err %v, want ErrNotFound", err)
	}
	if toks, err := s.ListAPITokens(ctx, "bob"); err != nil || len(toks) != 0 {
		t.Errorf("tokens of the new bob = %v, %v; want none", toks, err)
	}
	// The admin's are untouched.
	if u, err := s.SessionUser(ctx, "s-admin"); err != nil || u.Username != "admin" {
		t.Errorf("admin session = %q, %v", u.Username, err)
	}
	if u, err := s.APITokenUser(ctx, "t-admin"); err != nil || u.Username != "admin" {
		t.Errorf("admin token = %q, %v", u.Username, err)
	}
}

func TestListUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("150"))
	var want []string
	for i := range 12 {
		name := fmt.Sprintf("user%02d", i)
		want = append(want, name)
		mustCreateUser(t, s, name, "admin")
	}
	ext := &User{Username: "z_desk", PasswordHash: "h", Role: "user", Extension: "150"}
	if err := s.CreateUser(ctx, ext); err != nil {
		t.Fatal(err)
	}
	want = append(want, "z_desk")
	var got []string
	after := ""
	for {
		items, next, err := s.ListUsers(ctx, ListOptions{Limit: 5, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range items {
			got = append(got, u.Username)
		}
		if next == "" {
			break
		}
		after = next
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paged %v, want %v", got, want)
	}
	for _, tt := range []struct {
		query string
		want  int
	}{{"user1", 2}, {"150", 1}, {"_", 1}, {"%", 0}} {
		items, _, err := s.ListUsers(ctx, ListOptions{Query: tt.query})
		if err != nil || len(items) != tt.want {
			t.Errorf("Query %q: %d users, %v; want %d", tt.query, len(items), err, tt.want)
		}
	}
}
