package pbx_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	sipp := need(t, "sipp", "sip-tester")
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csv, []byte("SEQUENTIAL\n"+inject+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{p.SIPAddr, "-sf", mustAbs(t, filepath.Join("..", "bench", "sipp", scenario)), "-inf", csv,
		"-m", "1", "-i", "127.0.0.1", "-p", "0", "-nostdin", "-timeout", "10s"}, extra...)
	cmd := exec.Command(sipp, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	} else if err != nil {
		t.Fatalf("sipp: %v", err)
	}
	return 0, out.String()
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
