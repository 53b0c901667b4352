// Package app assembles the whole PBX (store, SIP engine, HTTP admin API and
// web UI) from one Config. cmd/pbx and the test kit both start it here, so
// tests run exactly what ships.
package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx"
	"github.com/officepbx/pbx/pbx/voicemail"
)

// Config is everything the PBX needs to start. Each field has a flag and an
// environment variable in cmd/pbx.
type Config struct {
	DataDir    string // database, recordings, prompts, TLS material
	SIPAddr    string // UDP and TCP listen address
	SIPTLSAddr string // TLS listen address; off when empty
	HTTPAddr   string // REST API and web UI
	// HTTPTLS serves HTTPAddr over HTTPS with the certificate in DATA/tls
	// (the one SIP TLS uses; self-signed when there is none).
	HTTPTLS    bool
	RTPPorts   string // "LO-HI"
	ExternalIP string // address put in Contact/Via/SDP; detected when empty

	// EmergencyNumbers are the numbers every extension may call through a
	// trunk whatever its outbound class, comma-separated; empty: 112, 911
	// and 999.
	EmergencyNumbers string

	AdminPassword string // password of the first admin; random when empty
	MetricsToken  string // bearer token /metrics asks for; open when empty

	// AuthFailLimit SIP auth failures from one IP within 5 minutes block it
	// for AuthBlock. A negative limit disables blocking.
	AuthFailLimit int
	AuthBlock     time.Duration

	Log     *slog.Logger
	Version string

	// BcryptCost, when non-zero, overrides the password hashing cost
	// (tests use the minimum to stay fast).
	BcryptCost int
	// RegistrationFlush overrides how often registrations are written behind.
	RegistrationFlush time.Duration
	// TuneSIP, when set, adjusts engine settings that have no flag (tests
	// use it for short expiry bounds).
	TuneSIP func(*pbx.Config)
	// Now, when set, is the clock of the dial plan's time conditions
	// (tests route by business hours with it).
	Now func() time.Time
	// TuneVoicemail, when set, adjusts the voicemail application (tests
	// use a short silence time).
	TuneVoicemail func(*voicemail.App)
}

// ParseEmergencyNumbers parses a comma-separated list of emergency
// numbers (1-15 digits each); "" is nil, which means the defaults.
func ParseEmergencyNumbers(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if !dialplan.IsNumber(n) {
			return nil, fmt.Errorf("emergency number %q: want 1 to 15 digits, e.g. 112,911", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// PortRange is an inclusive range of UDP ports for RTP.
type PortRange struct{ Lo, Hi int }

// ParsePortRange parses "LO-HI": even LO, LO < HI, both in 1024-65535.
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return PortRange{}, fmt.Errorf("rtp ports %q: want LO-HI, e.g. 10000-20000", s)
	}
	l, err1 := strconv.Atoi(strings.TrimSpace(lo))
	h, err2 := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case err1 != nil || err2 != nil:
		return PortRange{}, fmt.Errorf("rtp ports %q: LO and HI must be numbers", s)
	case l < 1024 || h > 65535:
		return PortRange{}, fmt.Errorf("rtp ports %q: must lie within 1024-65535", s)
	case h-l < 3:
		return PortRange{}, fmt.Errorf("rtp ports %q: need at least 4 ports (RTP and RTCP for one leg pair)", s)
	}
	return PortRange{Lo: l, Hi: h}, nil
}

// DetectExternalIP returns the first non-loopback IPv4 address of an
// interface that is up, or 127.0.0.1 when there is none.
func DetectExternalIP() (net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLinkLocalUnicast() {
				return ipn.IP, nil
			}
		}
	}
	return net.IPv4(127, 0, 0, 1), nil
}

func (c *Config) validate() (PortRange, net.IP, error) {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data directory must be set"))
	}
	addrs := map[string]string{"sip": c.SIPAddr, "http": c.HTTPAddr}
	if c.SIPTLSAddr != "" {
		addrs["sip-tls"] = c.SIPTLSAddr
	}
	for name, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s address %q: want HOST:PORT, e.g. 0.0.0.0:5060", name, addr))
		}
	}
	ports, err := ParsePortRange(c.RTPPorts)
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseEmergencyNumbers(c.EmergencyNumbers); err != nil {
		errs = append(errs, err)
	}
	var ip net.IP
	if c.ExternalIP != "" {
		if ip = net.ParseIP(c.ExternalIP); ip == nil {
			errs = append(errs, fmt.Errorf("external IP %q is not an IP address", c.ExternalIP))
		}
	} else if ip, err = DetectExternalIP(); err != nil {
		errs = append(errs, fmt.Errorf("detect external IP: %w (set --external-ip)", err))
	}
	return ports, ip, errors.Join(errs...)
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// rtpBindIP is where media sockets listen: the external IP when it belongs
// to this machine, else every address. Behind NAT the external IP is the
// router's, which no local socket can bind; the SDP still advertises it.
func rtpBindIP(external net.IP) string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.Equal(external) {
				return external.String()
			}
		}
	}
	if external.To4() != nil {
		return "0.0.0.0"
	}
	return "::"
}

// Validate reports what is wrong with c, as Start would, without touching
// the data directory.
func (c *Config) Validate() error {
	_, _, err := c.validate()
	return err
}
