package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/officepbx/pbx/media"
)

// The crash test runs a child process (this test binary again, running
// TestVoicemailCrashChild) that stores a message and stops at one step of
// it: it prints a marker and sleeps, and the parent kills it with SIGKILL
// once it reads the marker. No timing is guessed.
const (
	crashStepEnv = "PBX_VOICEMAIL_CRASH_STEP"
	crashDBEnv   = "PBX_VOICEMAIL_CRASH_DB"
	crashMarker  = "VOICEMAIL-CRASH-POINT "
)

// setCommitHook makes CommitVoicemail call fn at each of its steps:
// "synced" (file synced and closed), "renamed" (at its final name, the
// directory synced), "inserted" (the row committed); and DeleteVoicemail
// at "delete-moved" (the file set aside, the row's delete not yet
// committed) and "delete-committed" (the file not yet removed).
func setCommitHook(s *Store, fn func(step string)) { s.commitHook = fn }

// stopHere tells the parent the child reached step and waits to be killed.
func stopHere(step string) {
	fmt.Fprintln(os.Stdout, crashMarker+step)
	time.Sleep(time.Hour)
	os.Exit(3) // never reached unless the parent is gone
}

// TestVoicemailCrashChild is the child of TestVoicemailCrash; run alone it
// does nothing.
func TestVoicemailCrashChild(t *testing.T) {
	step := os.Getenv(crashStepEnv)
	if step == "" {
		t.Skip("the child of TestVoicemailCrash")
	}
	s, err := Open(context.Background(), os.Getenv(crashDBEnv))
	if err != nil {
		t.Fatal(err)
	}
	setCommitHook(s, func(at string) {
		if at == step {
			stopHere(at)
		}
	})
	if strings.HasPrefix(step, "delete-") {
		// Delete the message the parent stored.
		msgs, _, err := s.ListVoicemail(context.Background(), "201", ListOptions{})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages %v, %v", msgs, err)
		}
		s.DeleteVoicemail(context.Background(), "201", msgs[0].ID)
		t.Fatalf("step %q never reached", step)
	}
	f, err := s.CreateVoicemailFile("201")
	if err != nil {
		t.Fatal(err)
	}
	w, err := media.NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	// More than WAVWriter buffers, so part of the audio is in the file
	// and its header still says 0 bytes: a half-written recording.
	w.WriteAudio(tone(40000))
	if step == "recording" {
		stopHere(step)
	}
	w.WriteAudio(tone(8000))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m := VoicemailMessage{Mailbox: "201", Caller: "202", Duration: w.Duration()}
	if err := s.CommitVoicemail(context.Background(), f, &m); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("step %q never reached", step)
}

// TestVoicemailCrash kills a process storing a message at each step and
// checks that, after recovery, files and rows agree, every message plays,
// and the message committed before is intact.
func TestVoicemailCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, c := range []struct {
		step      string
		committed bool // the killed message survives
		deleted   bool // the message from before is gone
		rep       VoicemailRecovery
	}{
		{"recording", false, false, VoicemailRecovery{TempFiles: 1}},
		{"synced", false, false, VoicemailRecovery{TempFiles: 1}},
		{"renamed", false, false, VoicemailRecovery{OrphanFiles: 1}},
		{"inserted", true, false, VoicemailRecovery{}},
		{"delete-moved", false, false, VoicemailRecovery{RestoredDels: 1}},
		{"delete-committed", false, true, VoicemailRecovery{}},
	} {
		t.Run(c.step, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "pbx.db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			mustCreateExt(t, s, newExt("201"))
			before := mustRecord(t, s, "201", "203", 8000, time.Now().Add(-time.Minute))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			killAt(t, c.step, path)

			s, err = Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// Before recovery the leftovers are there to be found.
			rep, err := s.RecoverVoicemailReport(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep != c.rep {
				t.Errorf("recovery %+v, want %+v", rep, c.rep)
			}
			checkVoicemailConsistent(t, s)
			if files := mailboxFiles(t, s, "201"); len(files) != 1+boolInt(c.committed)-boolInt(c.deleted) {
				t.Errorf("files after recovery: %v", files)
			}
			if c.deleted {
				if _, err := s.GetVoicemail(ctx, "201", before.ID); err == nil {
					t.Error("the deleted message is back")
				}
			} else if a := readAudio(t, s, "201", before.ID); len(a.Samples) != 8000 {
				t.Errorf("the message from before has %d samples, want 8000", len(a.Samples))
			}
			msgs, _, err := s.ListVoicemail(ctx, "201", ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := 1 + boolInt(c.committed) - boolInt(c.deleted)
			if len(msgs) != want {
				t.Fatalf("%d messages after the crash, want %d", len(msgs), want)
			}
			if c.committed {
				if a := readAudio(t, s, "201", msgs[0].ID); len(a.Samples) != 48000 || msgs[0].Caller != "202" {
					t.Errorf("the committed message: %d samples, caller %q", len(a.Samples), msgs[0].Caller)
				}
			}
			// The box works on.
			mustRecord(t, s, "201", "204", 800, time.Now())
			checkVoicemailConsistent(t, s)
		})
	}
}

// killAt runs the child until it reports step, then kills it with SIGKILL.
func killAt(t *testing.T, step, path string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestVoicemailCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashStepEnv+"="+step, crashDBEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var seen []string
	reached := false
	for sc.Scan() {
		if sc.Text() == crashMarker+step {
			reached = true
			break
		}
		seen = append(seen, sc.Text())
	}
	if !reached {
		// The child ended (the pipe closed) without reaching the step.
		cmd.Wait()
		t.Fatalf("child never reached %q:\n%s\n%s", step, strings.Join(seen, "\n"), stderr.String())
	}
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
