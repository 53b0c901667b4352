package app

import (
	"fmt"
	"net"
	"testing"
)

func TestRTPBindIP(t *testing.T) {
	if got := rtpBindIP(net.IPv4(127, 0, 0, 1)); got != "127.0.0.1" {
		t.Errorf("a local external IP: bind %q, want 127.0.0.1", got)
	}
	// 203.0.113.0/24 is documentation space: no interface has it, as
	// with a router's public address in front of a PBX behind NAT.
	if got := rtpBindIP(net.IPv4(203, 0, 113, 77)); got != "0.0.0.0" {
		t.Errorf("a NAT router's address: bind %q, want 0.0.0.0", got)
	}
}

func TestParsePortRange(t *testing.T) {
	for in, ok := range map[string]bool{"10000-20000": true, " 10000 - 10003 ": true, "10000": false,
		"a-b": false, "80-100": false, "60000-70000": false, "10000-10002": false} {
		if _, err := ParsePortRange(in); (err == nil) != ok {
			t.Errorf("ParsePortRange(%q) error %v, want ok=%v", in, err, ok)
		}
	}
}

func TestParseEmergencyNumbers(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "[]", false},
		{"112", "[112]", false},
		{" 112, 911 ,999", "[112 911 999]", false},
		{"112,", "", true},
		{"11a", "", true},
		{"+112", "", true},
	} {
		got, err := ParseEmergencyNumbers(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && fmt.Sprint(got) != tc.want) {
			t.Errorf("ParseEmergencyNumbers(%q) = %v, %v", tc.in, got, err)
		}
	}
}
