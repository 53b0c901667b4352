package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// sipSecurityKey is the settings row holding SIPSecurity as JSON.
const sipSecurityKey = "sip_security"

// AllowEntry is one allow-listed network: its sources are never blocked
// or rate limited.
type AllowEntry struct {
	CIDR string `json:"cidr"` // "203.0.113.0/24", or one address "192.0.2.7"
	Note string `json:"note"` // what it is, for the administrator
}

// SIPSecurity is the SIP guard's configuration: which sources are trusted,
// which user agents are scanners, and how fast one source may send.
type SIPSecurity struct {
	Allow []AllowEntry `json:"allow"`
	// ScannerUserAgents are matched, case-insensitively, as substrings of
	// a request's User-Agent; a match is dropped and its source blocked.
	ScannerUserAgents []string `json:"scanner_user_agents"`
	// RatePerSecond and RateBurst are the token bucket every source that
	// is not allow-listed gets: RateBurst packets at once, refilled at
	// RatePerSecond. 0 for RatePerSecond turns rate limiting off.
	RatePerSecond int `json:"rate_per_second"`
	RateBurst     int `json:"rate_burst"`
}

// DefaultScannerUserAgents are the user agents of the SIP scanning and
// password-guessing tools seen on the internet (SIPVicious and its
// "friendly-scanner" disguise, sipcli, VaxSIPUserAgent, pplsip,
// sundayddr, iWar, SIPScan, sip-scan). Diagnostic tools an administrator
// runs (sipsak, sipp) are not on it.
func DefaultScannerUserAgents() []string {
	return []string{"friendly-scanner", "sipvicious", "sipcli", "VaxSIPUserAgent", "pplsip",
		"sundayddr", "iWar", "SIPScan", "sip-scan"}
}

// DefaultSIPSecurity is what an unconfigured PBX has: loopback trusted (the
// machine itself: local tools, a proxy in front, benchmarks), the scanner
// list above, and 100 requests a second with bursts of 1,000 per source
// (an office of 200 phones behind one NAT rebooting at once stays under it).
func DefaultSIPSecurity() SIPSecurity {
	return SIPSecurity{
		Allow: []AllowEntry{
			{CIDR: "127.0.0.0/8", Note: "loopback (this machine)"},
			{CIDR: "::1/128", Note: "loopback (this machine)"},
		},
		ScannerUserAgents: DefaultScannerUserAgents(),
		RatePerSecond:     100,
		RateBurst:         1000,
	}
}

// SIPSecurity returns the stored SIP guard settings, or the defaults when
// none were ever saved.
func (s *Store) SIPSecurity(ctx context.Context) (SIPSecurity, error) {
	v, err := s.Setting(ctx, sipSecurityKey)
	if errors.Is(err, ErrNotFound) {
		return DefaultSIPSecurity(), nil
	}
	if err != nil {
		return DefaultSIPSecurity(), err
	}
	var cfg SIPSecurity
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		return DefaultSIPSecurity(), fmt.Errorf("sip security settings: %w", err)
	}
	return cfg, nil
}

// SetSIPSecurity stores the SIP guard settings and announces
// Change{Kind: "settings", Key: "sip_security"}. The caller validates them.
func (s *Store) SetSIPSecurity(ctx context.Context, cfg SIPSecurity) error {
	if cfg.Allow == nil {
		cfg.Allow = []AllowEntry{}
	}
	if cfg.ScannerUserAgents == nil {
		cfg.ScannerUserAgents = []string{}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := s.SetSetting(ctx, sipSecurityKey, string(b)); err != nil {
		return fmt.Errorf("sip security settings: %w", err)
	}
	s.publish(Change{Kind: "settings", Key: sipSecurityKey})
	return nil
}

// SIPSecurityChange is the Change SetSIPSecurity announces.
var SIPSecurityChange = Change{Kind: "settings", Key: sipSecurityKey}

// BlockedSource is a source address the SIP engine is dropping (live, in
// memory: blocks end with a restart).
type BlockedSource struct {
	Source string    // IP address
	Reason string    // "auth_failures" or "scanner"
	Until  time.Time // when the block ends
}

// ParseAllowCIDR parses an allow-list entry: a prefix ("10.0.0.0/8") or
// one address ("192.0.2.7", as /32 or /128), normalised to its network.
func ParseAllowCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}
