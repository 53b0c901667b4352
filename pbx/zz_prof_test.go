package pbx_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
)

func TestZZProfileSipp(t *testing.T) {
	if os.Getenv("ZZPROF") == "" {
		t.Skip()
	}
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) { c.RegistrationFlush = 200 * time.Millisecond }))
	f, _ := os.Create("/tmp/users.csv")
	fmt.Fprintln(f, "SEQUENTIAL")
	for i := 0; i < 2000; i++ {
		n := strconv.Itoa(300000 + i)
		e := p.CreateExtension(n, nil)
		fmt.Fprintf(f, "%s;[authentication username=%s password=%s]\n", n, n, e.Secret)
	}
	f.Close()
	cmd := exec.Command("sipp", p.SIPAddr, "-sf", "../bench/sipp/register_auth.xml", "-inf", "/tmp/users.csv",
		"-r", os.Getenv("ZZPROF"), "-m", "50000", "-i", "127.0.0.1", "-p", "0", "-nostdin", "-timeout", "60s", "-l", "20000")
	_, err := cmd.CombinedOutput()
	t.Logf("sipp: %v", err)
	logs := p.Logs.String()
	t.Logf("log tail: %s", logs[max(0, len(logs)-3000):])
}
