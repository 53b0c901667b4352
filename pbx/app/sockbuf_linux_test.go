package app

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// capNetAdmin reports whether this process may pass net.core.rmem_max
// (CAP_NET_ADMIN in its effective set).
func capNetAdmin(t *testing.T) bool {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return caps&(1<<12) != 0 // CAP_NET_ADMIN
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}

func rmemMax(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSIPReceiveBuffer: the SIP socket gets the buffer asked for where
// the process may pass net.core.rmem_max, else what the limit allows, and
// setReceiveBuffer reports what the kernel granted, which is what the
// start-up warning compares.
func TestSIPReceiveBuffer(t *testing.T) {
	limit, force := rmemMax(t), capNetAdmin(t)
	grant := func(asked int) int {
		if force {
			return asked
		}
		return min(asked, limit)
	}
	udp, tcp, got, err := listenSIP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	udp.Close()
	tcp.Close()
	if want := grant(sipReceiveBuffer); got != want {
		t.Errorf("listenSIP granted %d bytes, want %d (rmem_max %d, CAP_NET_ADMIN %v)", got, want, limit, force)
	}

	// Past the limit: granted only with CAP_NET_ADMIN.
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	asked := 2*limit + 4096
	if got, want := setReceiveBuffer(conn, asked), grant(asked); got != want {
		t.Errorf("asked %d past rmem_max %d: granted %d, want %d (CAP_NET_ADMIN %v)", asked, limit, got, want, force)
	}
}
