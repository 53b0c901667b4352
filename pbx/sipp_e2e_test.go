package pbx_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// need returns the path of a command the end-to-end tests drive, failing
// (not skipping) when it is missing: CI installs it (.ci/run).
func need(t *testing.T, cmd, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(cmd)
	if err != nil {
		t.Fatalf("%s is needed for this test: apt-get install -y %s", cmd, pkg)
	}
	return path
}

// runSipp runs one sipp scenario call against the PBX with the injection
// line given, and returns its exit status and output.
func runSipp(t *testing.T, p *pbxtest.PBX, scenario, inject string, extra ...string) (int, string) {
	t.Helper()
	return startSipp(t, p, scenario, inject, nil, append([]string{"-timeout", "10s"}, extra...)...).wait(t)
}

// sippRun is a sipp process running one scenario call.
type sippRun struct {
	cmd  *exec.Cmd
	dir  string
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// startSipp starts one sipp scenario call against the PBX with the
// injection line given, in a working directory holding files (name:
// content, e.g. the raw audio an rtp_stream action plays). sipp's messages
// go to a trace that wait shows when the call fails. sipp is killed when
// the test ends, if it still runs.
func startSipp(t *testing.T, p *pbxtest.PBX, scenario, inject string, files map[string][]byte, extra ...string) *sippRun {
	t.Helper()
	return startSippLines(t, p, scenario, []string{inject}, files, append([]string{"-m", "1", "-p", "0"}, extra...)...)
}

// startSippLines is startSipp with any number of injection lines and
// nothing but the scenario, the injection file and the trace set: extra
// gives the calls (-m), the port (-p) and the rest.
func startSippLines(t *testing.T, p *pbxtest.PBX, scenario string, inject []string, files map[string][]byte, extra ...string) *sippRun {
	t.Helper()
	sipp := need(t, "sipp", "sip-tester")
	dir := t.TempDir()
	files = maps.Clone(files)
	if files == nil {
		files = map[string][]byte{}
	}
	files["users.csv"] = []byte("SEQUENTIAL\n" + strings.Join(inject, "\n") + "\n")
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{p.SIPAddr, "-sf", mustAbs(t, filepath.Join("..", "bench", "sipp", scenario)),
		"-inf", filepath.Join(dir, "users.csv"), "-i", "127.0.0.1", "-nostdin",
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log")}, extra...)
	r := &sippRun{cmd: exec.Command(sipp, args...), dir: dir, done: make(chan struct{})}
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("sipp: %v", err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait waits for sipp to exit (killing it after a minute: sipp 3.6's
// own -timeout does not always end a call that waits) and returns its
// exit status and output, with the message trace when it failed.
func (r *sippRun) wait(t *testing.T) (int, string) {
	t.Helper()
	return r.waitUpTo(t, time.Minute)
}

// waitUpTo is wait with the time after which sipp is killed.
func (r *sippRun) waitUpTo(t *testing.T, d time.Duration) (int, string) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		r.cmd.Process.Kill()
		<-r.done
	}
	code := 0
	if ee, ok := r.err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if r.err != nil {
		t.Fatalf("sipp: %v", r.err)
	}
	out := r.out.String()
	if code != 0 {
		trace, _ := os.ReadFile(filepath.Join(r.dir, "messages.log"))
		out += "\n--- sipp's messages ---\n" + string(trace)
	}
	return code, out
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestSippRegistersExtensionCreatedWithCurl is the quick start, as an
// administrator would do it: curl creates the extension, a SIP client
// (sipp) registers with digest auth, the API lists the registration.
func TestSippRegistersExtensionCreatedWithCurl(t *testing.T) {
	p := pbxtest.Start(t)
	curl := need(t, "curl", "curl")
	out, err := exec.Command(curl, "-sS", "-f", "-X", "POST", "-H", "Authorization: Bearer "+p.Token,
		"-H", "Content-Type: application/json", "-d", `{"number":"101","name":"Reception"}`,
		p.URL+"/api/v1/extensions").Output()
	if err != nil {
		t.Fatalf("curl: %v %s", err, out)
	}
	var ext struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(out, &ext); err != nil || len(ext.Secret) < 16 {
		t.Fatalf("create answered %s", out)
	}

	// A wrong password is refused and leaves no binding.
	if code, log := runSipp(t, p, "register_wrong_password.xml", "101;[authentication username=101 password=wrong-one]"); code != 0 {
		t.Fatalf("sipp wrong-password scenario failed (exit %d):\n%s", code, log)
	}
	if regs := registrations(t, p); len(regs) != 0 {
		t.Fatalf("wrong password left bindings: %+v", regs)
	}

	if code, log := runSipp(t, p, "register_auth.xml", "101;[authentication username=101 password="+ext.Secret+"]"); code != 0 {
		t.Fatalf("sipp registration failed (exit %d):\n%s", code, log)
	}
	regs := registrations(t, p)
	if len(regs) != 1 || regs[0].Extension != "101" || regs[0].UserAgent != "sipp" || !strings.HasSuffix(regs[0].Source, "/udp") {
		t.Fatalf("registrations after sipp: %+v", regs)
	}
}

// TestSippCallsThroughTheB2BUA: sipp places a call (INVITE, 407, INVITE
// with digest, 200, ACK, BYE) to a registered test phone, which answers and
// is hung up by the PBX's BYE; the call leaves an answered CDR and no port.
func TestSippCallsThroughTheB2BUA(t *testing.T) {
	p := pbxtest.Start(t)
	caller := p.CreateExtension("101", nil)
	callee := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(1000))
	inject := "101;102;[authentication username=101 password=" + caller.Secret + "]"
	if code, log := runSipp(t, p, "call_uac.xml", inject, "-d", "500"); code != 0 {
		t.Fatalf("sipp call failed (exit %d):\n%s", code, log)
	}
	in, err := callee.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := in.WaitEnded(ctx(t)); err != nil {
		t.Fatalf("callee not hung up after sipp's BYE: %v", err)
	}
	c := p.LastCDR(ctx(t))
	if c.Caller != "101" || c.Callee != "102" || c.Disposition != store.DispositionAnswered || c.HangupCause != "caller hung up" {
		t.Fatalf("CDR %+v", c)
	}
}
