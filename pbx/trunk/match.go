package trunk

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ErrBadMatch is wrapped by ParseMatch's errors.
var ErrBadMatch = errors.New("bad match entry")

// Source is one address a trunk's requests may come from: an address
// prefix (a single address is a /32 or /128) and, optionally, a port.
type Source struct {
	Prefix netip.Prefix
	Port   uint16 // 0: any port
}

// ParseMatch parses a match entry: an IP address ("203.0.113.5"), an
// address and port ("203.0.113.5:5060", "[2001:db8::1]:5060") or a CIDR
// block ("203.0.113.0/24").
func ParseMatch(s string) (Source, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Source{}, fmt.Errorf("%w: empty", ErrBadMatch)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Source{}, fmt.Errorf("%w %q: want an IP address, IP:PORT or a CIDR block such as 203.0.113.0/24", ErrBadMatch, s)
		}
		return Source{Prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Source{}, fmt.Errorf("%w %q: no zone", ErrBadMatch, s)
		}
		a = a.Unmap()
		return Source{Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
		return Source{}, fmt.Errorf("%w %q: want an IP address, IP:PORT or a CIDR block such as 203.0.113.0/24", ErrBadMatch, s)
	}
	a := ap.Addr().Unmap()
	return Source{Prefix: netip.PrefixFrom(a, a.BitLen()), Port: ap.Port()}, nil
}

// String is the entry as ParseMatch reads it.
func (s Source) String() string {
	a := s.Prefix.Addr()
	single := s.Prefix.Bits() == a.BitLen()
	switch {
	case single && s.Port != 0:
		return netip.AddrPortFrom(a, s.Port).String()
	case single:
		return a.String()
	}
	return s.Prefix.String()
}

// Contains reports whether a request from src comes from this source.
func (s Source) Contains(src netip.AddrPort) bool {
	return s.Prefix.Contains(src.Addr().Unmap()) && (s.Port == 0 || s.Port == src.Port())
}

// more reports whether s is more specific than o: a longer prefix, or the
// same prefix with a port.
func (s Source) more(o Source) bool {
	if s.Prefix.Bits() != o.Prefix.Bits() {
		return s.Prefix.Bits() > o.Prefix.Bits()
	}
	return s.Port != 0 && o.Port == 0
}

// Matcher finds the trunk a request's source address belongs to. It is
// immutable once built; the engine builds a new one when trunks change.
type Matcher struct {
	entries []matchEntry
}

type matchEntry struct {
	src   Source
	trunk string
}

// Add lists src as an address of trunk.
func (m *Matcher) Add(trunk string, src Source) {
	m.entries = append(m.entries, matchEntry{src: src, trunk: trunk})
}

// Match returns the trunk src belongs to: the most specific entry that
// contains it wins (a longer prefix, then one with a port); among equals,
// the trunk whose name sorts first, so the answer never depends on
// the order trunks were added.
func (m *Matcher) Match(src netip.AddrPort) (string, bool) {
	if m == nil || !src.IsValid() {
		return "", false
	}
	var best *matchEntry
	for i := range m.entries {
		e := &m.entries[i]
		if !e.src.Contains(src) {
			continue
		}
		if best == nil || e.src.more(best.src) || (!best.src.more(e.src) && e.trunk < best.trunk) {
			best = e
		}
	}
	if best == nil {
		return "", false
	}
	return best.trunk, true
}

// Len is how many entries the matcher has.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return len(m.entries)
}

// Trunks lists the trunk names with at least one entry, sorted.
func (m *Matcher) Trunks() []string {
	var out []string
	for _, e := range m.entries {
		if !slices.Contains(out, e.trunk) {
			out = append(out, e.trunk)
		}
	}
	slices.Sort(out)
	return out
}

// ParseSource parses a request's source ("ip:port" as sipgo gives it).
func ParseSource(s string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// DID picks the number an inbound trunk call dialled: the Request-URI's
// user, unless that is the user the PBX registered as its contact (a
// provider that sends calls to the registered contact), in which case the
// To header's user. An empty Request-URI user also falls back to To.
func DID(requestUser, toUser, contactUser string) string {
	if requestUser == "" || (contactUser != "" && requestUser == contactUser) {
		return toUser
	}
	return requestUser
}
