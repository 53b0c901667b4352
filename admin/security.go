package admin

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// SIPGuard is the SIP engine's live block list (sources dropped after auth
// failures or for a scanner's User-Agent).
type SIPGuard interface {
	BlockedSources() []store.BlockedSource
	Unblock(ip string) bool
}

// Limits of the SIP security settings.
const (
	maxAllowEntries  = 1000
	maxAllowNote     = 200
	maxScannerAgents = 200
	maxScannerAgent  = 100
	maxRatePerSecond = 100000
	maxRateBurst     = 1000000
)

type blockedJSON struct {
	Source string    `json:"source"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"`
}

type allowJSON struct {
	CIDR string `json:"cidr"`
	Note string `json:"note"`
}

type allowListInput struct {
	Items *[]allowJSON `json:"items"`
}

type securitySettingsJSON struct {
	ScannerUserAgents []string `json:"scanner_user_agents"`
	RatePerSecond     int      `json:"rate_per_second"`
	RateBurst         int      `json:"rate_burst"`
}

type securitySettingsInput struct {
	ScannerUserAgents *[]string `json:"scanner_user_agents"`
	RatePerSecond     *int      `json:"rate_per_second"`
	RateBurst         *int      `json:"rate_burst"`
}

// listBlocked answers the sources blocked now, the soonest to end first.
func (s *Server) listBlocked(c echo.Context) error {
	items := []blockedJSON{}
	if s.cfg.Guard != nil {
		for _, b := range s.cfg.Guard.BlockedSources() {
			items = append(items, blockedJSON{Source: b.Source, Reason: b.Reason, Until: b.Until.UTC().Truncate(time.Second)})
		}
	}
	return c.JSON(http.StatusOK, page[blockedJSON]{Items: items})
}

// unblock lifts a block at once.
func (s *Server) unblock(c echo.Context) error {
	src := pathParam(c, "source")
	a, err := netip.ParseAddr(src)
	if err != nil {
		return fieldError("source", "must be an IP address")
	}
	if s.cfg.Guard == nil || !s.cfg.Guard.Unblock(a.Unmap().String()) {
		return notFound("source %s is not blocked", src)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) getAllowList(c echo.Context) error {
	cfg, err := s.store.SIPSecurity(c.Request().Context())
	if err != nil {
		return err
	}
	items := make([]allowJSON, 0, len(cfg.Allow))
	for _, a := range cfg.Allow {
		items = append(items, allowJSON(a))
	}
	return c.JSON(http.StatusOK, page[allowJSON]{Items: items})
}

// putAllowList replaces the allow-list; entries are normalised to their
// network ("10.1.2.3/8" is stored as "10.0.0.0/8", one address as /32).
func (s *Server) putAllowList(c echo.Context) error {
	var in allowListInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Items == nil {
		return fieldError("items", "required: the whole list ([] for none)")
	}
	fe := fieldErrors{}
	if len(*in.Items) > maxAllowEntries {
		fe.add("items", fmt.Sprintf("at most %d entries", maxAllowEntries))
	}
	seen := map[netip.Prefix]bool{}
	allow := []store.AllowEntry{}
	for i, it := range *in.Items {
		name := fmt.Sprintf("items[%d]", i)
		p, err := store.ParseAllowCIDR(strings.TrimSpace(it.CIDR))
		switch {
		case err != nil:
			fe.add(name+".cidr", "must be an IP address or a network (10.0.0.0/8, 2001:db8::/32)")
		case seen[p]:
			fe.add(name+".cidr", "listed twice")
		}
		seen[p] = true
		if len(it.Note) > maxAllowNote || !utf8.ValidString(it.Note) {
			fe.add(name+".note", fmt.Sprintf("at most %d bytes of text", maxAllowNote))
		}
		allow = append(allow, store.AllowEntry{CIDR: p.String(), Note: strings.TrimSpace(it.Note)})
	}
	if err := fe.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cfg, err := s.store.SIPSecurity(ctx)
	if err != nil {
		return err
	}
	cfg.Allow = allow
	if err := s.store.SetSIPSecurity(ctx, cfg); err != nil {
		return err
	}
	return s.getAllowList(c)
}

func (s *Server) getSecuritySettings(c echo.Context) error {
	cfg, err := s.store.SIPSecurity(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, securitySettingsJSON{ScannerUserAgents: nonNil(cfg.ScannerUserAgents),
		RatePerSecond: cfg.RatePerSecond, RateBurst: cfg.RateBurst})
}

// putSecuritySettings replaces the scanner list and the rate limit;
// omitted fields take their defaults.
func (s *Server) putSecuritySettings(c echo.Context) error {
	var in securitySettingsInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	def := store.DefaultSIPSecurity()
	agents, rate, burst := def.ScannerUserAgents, def.RatePerSecond, def.RateBurst
	fe := fieldErrors{}
	if in.ScannerUserAgents != nil {
		agents = []string{}
		if len(*in.ScannerUserAgents) > maxScannerAgents {
			fe.add("scanner_user_agents", fmt.Sprintf("at most %d entries", maxScannerAgents))
		}
		for i, a := range *in.ScannerUserAgents {
			a = strings.TrimSpace(a)
			if a == "" || len(a) > maxScannerAgent || !printableASCII(a) {
				fe.add(fmt.Sprintf("scanner_user_agents[%d]", i), fmt.Sprintf("must be 1 to %d printable ASCII characters", maxScannerAgent))
			}
			agents = append(agents, a)
		}
	}
	if in.RatePerSecond != nil {
		rate = *in.RatePerSecond
		if rate < 0 || rate > maxRatePerSecond {
			fe.add("rate_per_second", fmt.Sprintf("must be 0 (no limit) to %d", maxRatePerSecond))
		}
		if in.RateBurst == nil {
			burst = max(rate, 10*rate)
		}
	}
	if in.RateBurst != nil {
		burst = *in.RateBurst
		if burst < rate || burst > maxRateBurst {
			fe.add("rate_burst", fmt.Sprintf("must be from rate_per_second to %d", maxRateBurst))
		}
	}
	burst = min(burst, maxRateBurst)
	if err := fe.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cfg, err := s.store.SIPSecurity(ctx)
	if err != nil {
		return err
	}
	cfg.ScannerUserAgents, cfg.RatePerSecond, cfg.RateBurst = agents, rate, burst
	if err := s.store.SetSIPSecurity(ctx, cfg); err != nil {
		return err
	}
	return s.getSecuritySettings(c)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
