package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/store"
)

// seedData makes a data directory holding an admin and a plain user, each
// with live sessions, and returns it with their password hashes.
func seedData(t *testing.T) (dir string, hashes map[string]string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, app.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hashes = map[string]string{}
	for _, u := range []struct{ name, role string }{{"admin", "admin"}, {"bob", "user"}} {
		h, err := bcrypt.GenerateFromPassword([]byte("old-password-"+u.name), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		hashes[u.name] = string(h)
		if err := st.CreateUser(ctx, &store.User{Username: u.name, PasswordHash: string(h), Role: u.role}); err != nil {
			t.Fatal(err)
		}
		for _, sess := range []string{"-1", "-2"} {
			if err := st.CreateSession(ctx, u.name+sess, u.name, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, hashes
}

func TestAdminPassword(t *testing.T) {
	tests := []struct {
		name      string
		args      []string // after "admin password"; DIR is replaced by the data directory
		env       map[string]string
		stdin     string
		wantErr   []string // substrings of the error; none: success
		wantUsage bool
	}{
		// One success case only: bcrypt at the default cost takes seconds
		// under -race. It covers CRLF, reading just the first line, and the
		// flag winning over PBX_DATA.
		{name: "reset", args: []string{"--data", "DIR", "admin"}, env: map[string]string{"PBX_DATA": "DIR/elsewhere"},
			stdin: "new-password-123\r\nsecond line is not read\n"},
		{name: "data directory from env", args: []string{"ghost"}, env: map[string]string{"PBX_DATA": "DIR"},
			stdin: "new-password-123\n", wantErr: []string{`"ghost"`, "DIR"}},
		{name: "too short", args: []string{"--data", "DIR", "admin"}, stdin: "short\n",
			wantErr: []string{"at least 8"}},
		{name: "empty stdin", args: []string{"--data", "DIR", "admin"}, stdin: "",
			wantErr: []string{"at least 8"}},
		{name: "unknown user", args: []string{"--data", "DIR", "ghost"}, stdin: "new-password-123\n",
			wantErr: []string{`"ghost"`}},
		{name: "missing user", args: []string{"--data", "DIR"}, stdin: "new-password-123\n",
			wantErr: []string{"USER"}, wantUsage: true},
		{name: "two users", args: []string{"--data", "DIR", "admin", "bob"}, stdin: "new-password-123\n",
			wantErr: []string{"USER"}, wantUsage: true},
		{name: "bad flag", args: []string{"--nope", "admin"}, stdin: "new-password-123\n",
			wantErr: []string{"nope"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir, hashes := seedData(t)
			args := []string{"admin", "password"}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "DIR", dir))
			}
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, "DIR", dir)
			}
			var stdout, stderr bytes.Buffer
			err := run(ctx, args, strings.NewReader(tt.stdin), &stdout, &stderr, envOf(env))

			// The user the command was about, if it was about one of ours.
			target := ""
			if n := len(tt.args); n > 0 && hashes[tt.args[n-1]] != "" {
				target = tt.args[n-1]
			}
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("succeeded; stdout %q", stdout.String())
				}
				for _, s := range tt.wantErr {
					if s = strings.ReplaceAll(s, "DIR", dir); !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if errors.Is(err, errUsage) != tt.wantUsage {
					t.Errorf("errors.Is(%v, errUsage) = %v, want %v", err, !tt.wantUsage, tt.wantUsage)
				}
				target = "" // nothing may change
			} else if err != nil {
				t.Fatalf("admin password: %v", err)
			}

			st, err := store.Open(ctx, filepath.Join(dir, app.DatabaseFile))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for name, old := range hashes {
				u, err := st.GetUser(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				_, sessErr := st.SessionUser(ctx, name+"-1")
				if name != target {
					if u.PasswordHash != old {
						t.Errorf("password of %s changed", name)
					}
					if sessErr != nil {
						t.Errorf("session of %s ended: %v", name, sessErr)
					}
					continue
				}
				if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("new-password-123")); err != nil {
					t.Errorf("new password of %s rejected: %v", name, err)
				}
				if u.Role != map[string]string{"admin": "admin", "bob": "user"}[name] {
					t.Errorf("role of %s became %q", name, u.Role)
				}
				for _, sess := range []string{"-1", "-2"} {
					if _, err := st.SessionUser(ctx, name+sess); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("session %s%s survived the reset: %v", name, sess, err)
					}
				}
				if !strings.Contains(stdout.String(), "password of "+name+" changed") {
					t.Errorf("stdout %q", stdout.String())
				}
			}
		})
	}
}
