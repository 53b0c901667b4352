package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/pbxtest"
)

const crashAdminPassword = "crash-test-admin-password"

// pbxProcess is a PBX binary running in its own process.
type pbxProcess struct {
	cmd   *exec.Cmd
	lines chan string // its log, line by line (drained so it never blocks)
}

// startBinary runs bin on data with the given addresses and, when set,
// PBX_CRASHPOINT, and waits until it serves.
func startBinary(t *testing.T, bin, data, sipAddr, httpAddr, crashpoint string) *pbxProcess {
	t.Helper()
	// RTP ports of its own: go test runs packages side by side, and
	// pbx's TestSippOneBox gives sipp fixed media ports (31000-31099 and
	// 31600-31699) that sipp cannot move off when they are taken.
	cmd := exec.Command(bin, "serve", "--data", data, "--sip", sipAddr, "--http", httpAddr,
		"--rtp-ports", "30200-30400", "--external-ip", "127.0.0.1")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PBX_ADMIN_PASSWORD=" + crashAdminPassword}
	if crashpoint != "" {
		cmd.Env = append(cmd.Env, "PBX_CRASHPOINT="+crashpoint)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pbxProcess{cmd: cmd, lines: make(chan string, 10000)}
	t.Cleanup(func() { p.kill() })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody reads the log now: drop the line
			}
		}
	}()
	if !p.waitLine(t, "PBX started", 30*time.Second) {
		t.Fatal("the PBX did not start")
	}
	return p
}

// waitLine waits for a log line containing s.
func (p *pbxProcess) waitLine(t *testing.T, s string, d time.Duration) bool {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, s) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// kill ends the process with SIGKILL: no shutdown, no flush.
func (p *pbxProcess) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// A real PBX process killed with SIGKILL while a voicemail message is
// being recorded, or at each step of its commit (after the file is
// synced, after it is renamed to its final name, after its row is
// committed), restarts with a consistent store: every message it lists
// has its whole audio, which plays (the caller's tone), no audio is left
// without a row and no temporary file is left; the message committed
// before the crash is still there.
func TestVoicemailSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "pbx-crashpoints")
	buildPBX(t, bin, "-tags", "crashpoints")
	for _, tc := range []struct {
		name, crashpoint string
		want             int // messages after the restart
	}{
		{"during recording", "", 1},
		{"after the file is synced", "synced:2", 1},
		{"after the rename", "renamed:2", 1},
		{"after the row is committed", "inserted:2", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			sipAddr, httpAddr := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
			proc := startBinary(t, bin, data, sipAddr, httpAddr, tc.crashpoint)
			p := pbxtest.Attach(t, sipAddr, "http://"+httpAddr, crashAdminPassword)
			caller := p.Phone("101", pbxtest.WithTone(440))
			p.CreateExtension("102", map[string]any{"voicemail": map[string]any{"enabled": true}})

			// A first message, committed whole before the crash.
			call := recordFor(t, caller, 1500*time.Millisecond)
			if err := call.SendDTMF(ctxIn(t, 5*time.Second), "#"); err != nil {
				t.Fatal(err)
			}
			if err := call.WaitEnded(ctxIn(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			// The second: killed while recording, or at its commit step.
			call = recordFor(t, caller, 1500*time.Millisecond)
			if tc.crashpoint != "" {
				if err := call.SendDTMF(ctxIn(t, 5*time.Second), "#"); err != nil {
					t.Fatal(err)
				}
				step, _, _ := strings.Cut(tc.crashpoint, ":")
				if !proc.waitLine(t, "CRASHPOINT "+step, 15*time.Second) {
					t.Fatalf("the PBX never reached %s", step)
				}
			}
			proc.kill()
			call.Hangup(ctxIn(t, time.Second)) // nobody answers: the PBX is gone

			proc = startBinary(t, bin, data, sipAddr, httpAddr, "")
			p = pbxtest.Attach(t, sipAddr, "http://"+httpAddr, crashAdminPassword)
			msgs := listMessages(t, p)
			if len(msgs) != tc.want {
				t.Fatalf("%d messages after the restart, want %d", len(msgs), tc.want)
			}
			for _, id := range msgs {
				body := p.MustDo(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/v1/voicemail/102/messages/%d/audio", id), nil)
				a, err := media.ReadWAV(bytes.NewReader(body))
				if err != nil || len(a.Samples) < 8000 {
					t.Fatalf("message %d: %v, %d samples", id, err, len(a.Samples))
				}
				if pw := pbxtest.TonePower(a.Samples, 440); pw < 1e5 {
					t.Errorf("message %d does not hold the caller's tone (%.0f)", id, pw)
				}
			}
			entries, err := os.ReadDir(filepath.Join(data, "voicemail", "102"))
			if err != nil {
				t.Fatal(err)
			}
			files := 0
			for _, e := range entries {
				switch {
				case strings.HasPrefix(e.Name(), "msg-") && strings.HasSuffix(e.Name(), ".wav"):
					files++
				case e.Name() == "greeting.wav":
				default:
					t.Errorf("left over after the restart: %s", e.Name())
				}
			}
			if files != tc.want {
				t.Errorf("%d message files for %d messages", files, tc.want)
			}
		})
	}
}

// recordFor has ua leave a message in box 102 and talk for d after the
// beep; the call is still up.
func recordFor(t *testing.T, ua *pbxtest.UA, d time.Duration) *pbxtest.Call {
	t.Helper()
	call, err := ua.Dial(ctxIn(t, 10*time.Second), "102")
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("dial 102: %v", err)
	}
	if err := call.WaitTone(ctxIn(t, 15*time.Second), 1000); err != nil {
		t.Fatalf("no beep: %v", err)
	}
	time.Sleep(d) // the caller talks: the message's length, not a wait for an event
	return call
}

func listMessages(t *testing.T, p *pbxtest.PBX) []int64 {
	t.Helper()
	body := p.MustDo(http.StatusOK, http.MethodGet, "/api/v1/voicemail/102/messages", nil)
	var out struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("messages: %v: %s", err, body)
	}
	var ids []int64
	for _, m := range out.Items {
		ids = append(ids, m.ID)
	}
	return ids
}

func ctxIn(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}
