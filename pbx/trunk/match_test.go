package trunk

import (
	"net/netip"
	"testing"
	"time"
)

func TestParseMatch(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"203.0.113.5", "203.0.113.5", true},
		{" 203.0.113.5:5060 ", "203.0.113.5:5060", true},
		{"203.0.113.77/24", "203.0.113.0/24", true},
		{"[2001:db8::1]:5060", "[2001:db8::1]:5060", true},
		{"2001:db8::/32", "2001:db8::/32", true},
		{"::ffff:10.0.0.1", "10.0.0.1", true},
		{"", "", false},
		{"host.example", "", false},
		{"10.0.0.1:0", "", false},
		{"10.0.0.1/33", "", false},
		{"fe80::1%eth0", "", false},
	} {
		s, err := ParseMatch(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseMatch(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && s.String() != tc.want {
			t.Errorf("ParseMatch(%q) = %s, want %s", tc.in, s, tc.want)
		}
	}
}

func TestMatcherMostSpecificWins(t *testing.T) {
	var m Matcher
	add := func(trunk, s string) {
		src, err := ParseMatch(s)
		if err != nil {
			t.Fatal(err)
		}
		m.Add(trunk, src)
	}
	add("wide", "10.0.0.0/8")
	add("narrow", "10.1.0.0/16")
	add("host", "10.1.2.3")
	add("port", "10.1.2.3:5080")
	for _, tc := range []struct {
		src, want string
	}{
		{"10.9.9.9:5060", "wide"},
		{"10.1.9.9:5060", "narrow"},
		{"10.1.2.3:5060", "host"},
		{"10.1.2.3:5080", "port"},
		{"[::ffff:10.1.2.3]:5080", "port"},
		{"192.0.2.1:5060", ""},
	} {
		ap, ok := ParseSource(tc.src)
		if !ok {
			t.Fatalf("ParseSource(%q) failed", tc.src)
		}
		got, _ := m.Match(ap)
		if got != tc.want {
			t.Errorf("Match(%s) = %q, want %q", tc.src, got, tc.want)
		}
	}
	if (*Matcher)(nil).Len() != 0 {
		t.Error("nil matcher has entries")
	}
	if _, ok := (*Matcher)(nil).Match(netip.MustParseAddrPort("10.0.0.1:1")); ok {
		t.Error("nil matcher matched")
	}
}

func TestMatcherTieIsByName(t *testing.T) {
	src, _ := ParseMatch("10.0.0.1")
	var a, b Matcher
	a.Add("zeta", src)
	a.Add("alpha", src)
	b.Add("alpha", src)
	b.Add("zeta", src)
	ap := netip.MustParseAddrPort("10.0.0.1:5060")
	x, _ := a.Match(ap)
	y, _ := b.Match(ap)
	if x != "alpha" || y != "alpha" {
		t.Errorf("tie: %q and %q, want alpha both times", x, y)
	}
}

func TestDID(t *testing.T) {
	for _, tc := range []struct{ ruri, to, contact, want string }{
		{"4930123456", "4930123456", "acme", "4930123456"},
		{"acme", "4930123456", "acme", "4930123456"},
		{"", "4930123456", "acme", "4930123456"},
		{"4930123456", "other", "", "4930123456"},
	} {
		if got := DID(tc.ruri, tc.to, tc.contact); got != tc.want {
			t.Errorf("DID(%q, %q, %q) = %q, want %q", tc.ruri, tc.to, tc.contact, got, tc.want)
		}
	}
}

func TestBackoffAndRefresh(t *testing.T) {
	b := Backoff{Min: 2 * time.Second, Max: 30 * time.Second}
	want := []time.Duration{2, 4, 8, 16, 30, 30}
	for i, w := range want {
		if got := b.Wait(i + 1); got != w*time.Second {
			t.Errorf("Wait(%d) = %v, want %v", i+1, got, w*time.Second)
		}
	}
	for _, tc := range []struct{ exp, want time.Duration }{
		{5 * time.Second, 3 * time.Second},
		{300 * time.Second, 270 * time.Second},
		{3600 * time.Second, 3540 * time.Second},
	} {
		if got := refreshAfter(tc.exp); got != tc.want || got >= tc.exp {
			t.Errorf("refreshAfter(%v) = %v, want %v (before expiry)", tc.exp, got, tc.want)
		}
	}
}

// FuzzMatch: parsing and matching never panic, and an entry parsed from
// text matches the address (and port) it names.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"203.0.113.5", "203.0.113.5:5060", "10.0.0.0/8", "[2001:db8::1]:5060", "::/0", "x", ":"} {
		f.Add(s, "203.0.113.5:5060")
	}
	f.Fuzz(func(t *testing.T, entry, source string) {
		src, err := ParseMatch(entry)
		ap, okSrc := ParseSource(source)
		var m Matcher
		if err == nil {
			m.Add("t", src)
			again, err := ParseMatch(src.String())
			if err != nil || again != src {
				t.Fatalf("%q -> %s does not parse back (%v, %v)", entry, src, again, err)
			}
			if src.Prefix.Bits() == src.Prefix.Addr().BitLen() {
				port := src.Port
				if port == 0 {
					port = 5060
				}
				if name, ok := m.Match(netip.AddrPortFrom(src.Prefix.Addr(), port)); !ok || name != "t" {
					t.Fatalf("%s does not match its own address", src)
				}
			}
		}
		if okSrc {
			_, matched := m.Match(ap)
			if matched && !src.Contains(ap) {
				t.Fatalf("matched %s outside %s", ap, src)
			}
		}
	})
}
