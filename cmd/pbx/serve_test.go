package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/store"
)

// logBuffer collects what serve writes to stderr; it is safe for the
// server's goroutines and lets a test wait for a line without polling.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed at the next write
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return n, err
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor returns once the log contains s. It fails the test if exited
// yields first (the command returned) or after a generous deadline.
func (b *logBuffer) waitFor(t *testing.T, s string, exited <-chan error) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		found := strings.Contains(b.buf.String(), s)
		if !found && b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case err := <-exited:
			t.Fatalf("serve returned %v before logging %q; log:\n%s", err, s, b.String())
		case <-deadline.C:
			t.Fatalf("no %q in the log after 30s; log:\n%s", s, b.String())
		}
	}
}

// server is one run of `pbx serve` on loopback ports.
type server struct {
	dir    string
	log    *logBuffer
	cancel context.CancelFunc
	exited chan error
}

// startServe runs `pbx serve` in the background and waits until it has
// started.
func startServe(t *testing.T, dir string, env map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{dir: dir, log: &logBuffer{}, cancel: cancel, exited: make(chan error, 1)}
	args := []string{"serve", "--data", dir, "--sip", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--external-ip", "127.0.0.1", "--rtp-ports", "30000-30100"}
	go func() {
		s.exited <- run(ctx, args, strings.NewReader(""), &bytes.Buffer{}, s.log, envOf(env))
	}()
	t.Cleanup(func() {
		// Stop a server the test left running; wait so its files are
		// closed before TempDir's cleanup removes them.
		cancel()
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	s.log.waitFor(t, "PBX started", s.exited)
	return s
}

// stop cancels the context and returns what serve returned.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.exited:
		s.exited <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return within 30s of cancellation")
		return nil
	}
}

// adminHash reads the admin user's password hash from a stopped server's
// database.
func adminHash(t *testing.T, dir string) string {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dir, app.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.GetUser(context.Background(), "admin")
	if err != nil {
		t.Fatalf("admin user: %v", err)
	}
	if u.Role != "admin" {
		t.Errorf("admin user has role %q", u.Role)
	}
	return u.PasswordHash
}

var passwordLine = regexp.MustCompile(`password=(\S+)`)

func TestServeFirstStart(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		password string // from the environment; empty: a random one is printed
		restart  bool   // start a second time on the same data
	}{
		{"password from env", map[string]string{"PBX_ADMIN_PASSWORD": "env-admin-pass-1"}, "env-admin-pass-1", false},
		// bcrypt under -race costs seconds, so only one case restarts.
		{"random password", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data") // serve creates it
			srv := startServe(t, dir, tt.env)
			if _, err := os.Stat(filepath.Join(dir, app.DatabaseFile)); err != nil {
				t.Errorf("database not created: %v", err)
			}
			if err := srv.stop(t); err != nil {
				t.Fatalf("graceful shutdown returned %v", err)
			}
			logs := srv.log.String()
			for _, s := range []string{"shutting down", "PBX stopped"} {
				if !strings.Contains(logs, s) {
					t.Errorf("log lacks %q:\n%s", s, logs)
				}
			}

			pw := tt.password
			m := passwordLine.FindStringSubmatch(logs)
			switch {
			case pw != "" && m != nil:
				t.Errorf("printed a password although PBX_ADMIN_PASSWORD was set: %q", m[0])
			case pw != "" && strings.Contains(logs, pw):
				t.Error("the log contains the password from the environment")
			case pw == "" && m == nil:
				t.Fatalf("no password= line in the log:\n%s", logs)
			case pw == "":
				pw = m[1]
			}
			hash := adminHash(t, dir)
			if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)); err != nil {
				t.Fatalf("admin password %q does not match the stored hash: %v", pw, err)
			}
			if !tt.restart {
				return
			}

			// A second start keeps the admin as is and prints no password,
			// whatever the environment says now.
			srv = startServe(t, dir, map[string]string{"PBX_ADMIN_PASSWORD": "another-password-2"})
			if err := srv.stop(t); err != nil {
				t.Fatalf("second shutdown: %v", err)
			}
			if m := passwordLine.FindString(srv.log.String()); m != "" {
				t.Errorf("second start printed %q", m)
			}
			if h := adminHash(t, dir); h != hash {
				t.Error("second start changed the admin password")
			}
		})
	}
}

// The profiling hooks the load scripts use write readable profiles at a
// graceful shutdown.
func TestServeWritesProfiles(t *testing.T) {
	tmp := t.TempDir()
	cpu, mem, cont := filepath.Join(tmp, "cpu.prof"), filepath.Join(tmp, "mem.prof"), filepath.Join(tmp, "cont")
	srv := startServe(t, filepath.Join(tmp, "data"), map[string]string{"PBX_ADMIN_PASSWORD": "profile-admin-pass",
		"PBX_CPUPROFILE": cpu, "PBX_MEMPROFILE": mem, "PBX_CONTENTION": cont})
	if err := srv.stop(t); err != nil {
		t.Fatalf("graceful shutdown returned %v", err)
	}
	for _, f := range []string{cpu, mem, cont + ".mutex", cont + ".block"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("profile not written: %v", err)
		}
		// pprof profiles are gzipped protocol buffers.
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is not a gzipped profile (%d bytes)", f, len(b))
		}
	}
}
