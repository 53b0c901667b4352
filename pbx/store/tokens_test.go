package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateUser(t, s, "ann", "admin")
	mustCreateUser(t, s, "bob", "user")
	now := time.Now()
	sessions := []struct {
		hash    string
		user    string
		expires time.Time
		live    bool
	}{
		{"ann-live", "ann", now.Add(time.Hour), true},
		{"bob-1", "bob", now.Add(time.Hour), true},
		{"bob-2", "bob", now.Add(24 * time.Hour), true},
		// Last, so no later CreateSession sweeps it away before the check.
		{"ann-expired", "ann", now.Add(-time.Minute), false},
	}
	for _, c := range sessions {
		if err := s.CreateSession(ctx, c.hash, c.user, c.expires); err != nil {
			t.Fatalf("CreateSession(%s): %v", c.hash, err)
		}
	}
	for _, c := range sessions {
		u, err := s.SessionUser(ctx, c.hash)
		switch {
		case c.live && (err != nil || u.Username != c.user):
			t.Errorf("SessionUser(%s) = %q, %v; want %s", c.hash, u.Username, err, c.user)
		case !c.live && !errors.Is(err, ErrNotFound):
			t.Errorf("SessionUser(%s) of an expired session: %q, %v; want ErrNotFound", c.hash, u.Username, err)
		}
	}
	if _, err := s.SessionUser(ctx, "never-issued"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: err %v, want ErrNotFound", err)
	}
	if err := s.CreateSession(ctx, "ghost", "nobody", now.Add(time.Hour)); err == nil {
		t.Error("session for an unknown user accepted")
	}

	if err := s.DeleteUserSessions(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	for _, hash := range []string{"bob-1", "bob-2"} {
		if _, err := s.SessionUser(ctx, hash); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s after DeleteUserSessions: err %v, want ErrNotFound", hash, err)
		}
	}
	if _, err := s.SessionUser(ctx, "ann-live"); err != nil {
		t.Errorf("another user's session ended too: %v", err)
	}
	if err := s.DeleteSession(ctx, "ann-live"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, "ann-live"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after DeleteSession: err %v, want ErrNotFound", err)
	}
}

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateUser(t, s, "ann", "admin")
	mustCreateUser(t, s, "bob", "user")

	annTok := &APIToken{Name: "backup", Username: "ann"}
	bobTok := &APIToken{Name: "phonebook sync", Username: "bob"}
	bobTok2 := &APIToken{Name: "backup", Username: "bob"} // names need not be unique
	for _, c := range []struct {
		tok  *APIToken
		hash string
	}{{annTok, "h-ann"}, {bobTok, "h-bob"}, {bobTok2, "h-bob-2"}} {
		if err := s.CreateAPIToken(ctx, c.tok, c.hash); err != nil {
			t.Fatalf("CreateAPIToken(%s): %v", c.hash, err)
		}
		if c.tok.ID == 0 || c.tok.CreatedAt.IsZero() {
			t.Errorf("token %s: ID %d CreatedAt %v not filled in", c.hash, c.tok.ID, c.tok.CreatedAt)
		}
	}
	if err := s.CreateAPIToken(ctx, &APIToken{Name: "dup", Username: "ann"}, "h-ann"); err == nil {
		t.Error("duplicate token hash accepted")
	}
	if err := s.CreateAPIToken(ctx, &APIToken{Name: "x", Username: "nobody"}, "h-x"); err == nil {
		t.Error("token for an unknown user accepted")
	}

	ids := func(toks []APIToken) []int64 {
		var out []int64
		for _, tk := range toks {
			out = append(out, tk.ID)
		}
		return out
	}
	list := func(user string) []int64 {
		t.Helper()
		toks, err := s.ListAPITokens(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return ids(toks)
	}
	if got := list(""); !equalIDs(got, annTok.ID, bobTok.ID, bobTok2.ID) {
		t.Errorf("all tokens %v", got)
	}
	if got := list("bob"); !equalIDs(got, bobTok.ID, bobTok2.ID) {
		t.Errorf("bob's tokens %v", got)
	}

	if u, err := s.APITokenUser(ctx, "h-bob"); err != nil || u.Username != "bob" || u.Role != "user" {
		t.Errorf("APITokenUser(h-bob) = %+v, %v", u, err)
	}
	if _, err := s.APITokenUser(ctx, "h-none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: err %v, want ErrNotFound", err)
	}

	toks, _ := s.ListAPITokens(ctx, "ann")
	if len(toks) != 1 || !toks[0].LastUsedAt.IsZero() || toks[0].Name != "backup" {
		t.Fatalf("ann's tokens before use %+v", toks)
	}
	before := time.Now().Truncate(time.Second)
	if err := s.TouchAPIToken(ctx, "h-ann"); err != nil {
		t.Fatal(err)
	}
	toks, _ = s.ListAPITokens(ctx, "ann")
	if len(toks) != 1 || toks[0].LastUsedAt.Before(before) {
		t.Errorf("LastUsedAt after touch = %v, want >= %v", toks[0].LastUsedAt, before)
	}

	// Deleting checks the owner unless the caller is an admin (empty owner).
	tests := []struct {
		name    string
		id      int64
		owner   string
		wantErr error
	}{
		{"someone else's", bobTok.ID, "ann", ErrNotFound},
		{"own", bobTok.ID, "bob", nil},
		{"already gone", bobTok.ID, "bob", ErrNotFound},
		{"as admin", bobTok2.ID, "", nil},
		{"unknown id", 9999, "", ErrNotFound},
	}
	for _, tt := range tests {
		err := s.DeleteAPIToken(ctx, tt.id, tt.owner)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	if got := list(""); !equalIDs(got, annTok.ID) {
		t.Errorf("tokens left %v, want only ann's %d", got, annTok.ID)
	}
	if _, err := s.APITokenUser(ctx, "h-bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted token still authenticates: %v", err)
	}
}

func equalIDs(got []int64, want ...int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
