package main

import (
	"bufio"
	"context"
	"debug/elf"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// buildPBX builds this command, as shipped (CGO_ENABLED=0), into bin with
// go build's extra flags, failing the test if it does not build.
func buildPBX(t *testing.T, bin string, flags ...string) {
	t.Helper()
	build := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, ".")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build %s: %v\n%s", strings.Join(flags, " "), err, out)
	}
}

// TestStaticBinaryRunsAndStopsGracefully builds the shipped binary with
// CGO_ENABLED=0, starts it on an empty data directory with no other set-up,
// checks it serves, and stops it with SIGTERM.
func TestStaticBinaryRunsAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pbx")
	buildPBX(t, bin)
	if runtime.GOOS == "linux" {
		// A dynamically linked ELF names its loader in a PT_INTERP header.
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Fatal("CGO_ENABLED=0 binary is dynamically linked")
			}
		}
		f.Close()
	}

	httpAddr := "127.0.0.1:" + freePort(t)
	cmd := exec.Command(bin, "--data", filepath.Join(dir, "data"), "--sip", "127.0.0.1:"+freePort(t),
		"--http", httpAddr, "--rtp-ports", "30000-30100")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no PBX_ADMIN_PASSWORD: a random one is printed
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var password string
	pwRe := regexp.MustCompile(`password=(\S+)`)
	deadline := time.After(30 * time.Second)
	for started := false; !started; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("pbx exited during start-up")
			}
			if m := pwRe.FindStringSubmatch(l); m != nil {
				password = m[1]
			}
			started = strings.Contains(l, "PBX started")
		case <-deadline:
			t.Fatal("pbx did not start")
		}
	}
	if password == "" {
		t.Fatal("first start did not print the admin password")
	}
	if runtime.GOOS == "linux" {
		// serve re-executed itself, in the same process, with sysmon kept
		// out of deep sleep (sysmon_linux.go).
		environ, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Split(string(environ), "\x00"), "GODEBUG="+sysmonSetting) {
			t.Fatalf("the running server's environment lacks GODEBUG=%s: %q", sysmonSetting, environ)
		}
	}
	res, err := http.Post("http://"+httpAddr+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"admin","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"token"`) {
		t.Fatalf("login with the printed password: %d %s", res.StatusCode, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range lines { // drain so the process never blocks on a full pipe
		}
		done <- cmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("pbx exited with %v after SIGTERM", err)
		}
	case <-ctx.Done():
		t.Fatal("pbx did not stop after SIGTERM")
	}
}

// TestOpenFileLimitTrimsRTPRange starts the shipped binary under an
// open-file limit of 1,024 with an RTP range of 500 pairs: the limit
// holds 384 of them beside the reserve (media.PortAllocator), and the PBX
// says so at start instead of running out of descriptors under load.
func TestOpenFileLimitTrimsRTPRange(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("prlimit(1) is Linux's")
	}
	prlimit, err := exec.LookPath("prlimit") // util-linux, on every Debian
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pbx")
	buildPBX(t, bin)
	// No call is made, so none of the range's ports is ever bound: it
	// cannot collide with the ports other tests bind.
	run := func(limit string) []string {
		cmd := exec.Command(prlimit, "--nofile="+limit+":"+limit, "--", bin, "serve", "--data", filepath.Join(dir, "data-"+limit),
			"--sip", "127.0.0.1:"+freePort(t), "--http", "127.0.0.1:"+freePort(t), "--rtp-ports", "30000-30999")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PBX_ADMIN_PASSWORD=limit-test-password"}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer (&pbxProcess{cmd: cmd}).kill() // prlimit execs the PBX: the same process
		var seen []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			seen = append(seen, sc.Text())
			if strings.Contains(sc.Text(), "PBX started") {
				return seen
			}
		}
		t.Fatalf("the PBX under a limit of %s did not start:\n%s", limit, strings.Join(seen, "\n"))
		return nil
	}
	warned := func(lines []string) string {
		for _, l := range lines {
			if strings.Contains(l, "open-file limit") {
				return l
			}
		}
		return ""
	}
	l := warned(run("1024"))
	for _, want := range []string{"level=WARN", "rtp_ports=30000-30999", "pairs_in_range=500", "pairs_usable=384", "relayed_calls=192"} {
		if !strings.Contains(l, want) {
			t.Fatalf("start-up under an open-file limit of 1024 logged %q, want a warning with %s", l, want)
		}
	}
	if l := warned(run("4096")); l != "" {
		t.Fatalf("a limit of 4096 holds the 500 pairs, yet: %s", l)
	}
}
