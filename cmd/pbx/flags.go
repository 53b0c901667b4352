package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/officepbx/pbx/pbx/app"
)

// settings are the flags every command shares, each with an environment
// variable; a flag on the command line wins over the environment.
type settings struct {
	cfg      app.Config
	logLevel string
	sipTLS   string
	// envErrs are environment values that did not parse, by flag; they are
	// errors unless that flag is given on the command line.
	envErrs []envErr
}

type envErr struct {
	flag string
	err  error
}

// newFlagSet declares the flags with defaults taken from the environment.
func newFlagSet(name string, stderr io.Writer, getenv func(string) string) (*flag.FlagSet, *settings) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := &settings{}
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&s.cfg.DataDir, "data", env("PBX_DATA", "./pbx-data"), "data directory: database, recordings, prompts (env PBX_DATA)")
	fs.StringVar(&s.cfg.SIPAddr, "sip", env("PBX_SIP", "0.0.0.0:5060"), "SIP listen address, UDP and TCP (env PBX_SIP)")
	fs.StringVar(&s.cfg.SIPTLSAddr, "sip-tls", env("PBX_SIP_TLS", ""), "SIP over TLS listen address, e.g. 0.0.0.0:5061; off when empty; a self-signed certificate is made in DATA/tls if none is there (env PBX_SIP_TLS)")
	fs.StringVar(&s.cfg.HTTPAddr, "http", env("PBX_HTTP", "0.0.0.0:8080"), "HTTP listen address for the REST API and web UI (env PBX_HTTP)")
	httpTLS, err := strconv.ParseBool(env("PBX_HTTP_TLS", "false"))
	if err != nil {
		s.envErrs = append(s.envErrs, envErr{"http-tls",
			fmt.Errorf("PBX_HTTP_TLS %q: want true or false", getenv("PBX_HTTP_TLS"))})
	}
	fs.BoolVar(&s.cfg.HTTPTLS, "http-tls", httpTLS, "serve the REST API and web UI over HTTPS on --http, with DATA/tls/cert.pem and key.pem (the SIP TLS certificate; self-signed if none) (env PBX_HTTP_TLS)")
	fs.StringVar(&s.cfg.RTPPorts, "rtp-ports", env("PBX_RTP_PORTS", "10000-20000"), "UDP port range for RTP media (env PBX_RTP_PORTS)")
	fs.StringVar(&s.cfg.ExternalIP, "external-ip", env("PBX_EXTERNAL_IP", ""), "address used in Contact/Via/SDP; default: the primary interface's (env PBX_EXTERNAL_IP)")
	fs.StringVar(&s.logLevel, "log-level", env("PBX_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env PBX_LOG_LEVEL)")
	fs.StringVar(&s.cfg.MetricsToken, "metrics-token", env("PBX_METRICS_TOKEN", ""), "bearer token required by /metrics; open when empty (env PBX_METRICS_TOKEN)")
	fs.StringVar(&s.cfg.EmergencyNumbers, "emergency-numbers", env("PBX_EMERGENCY_NUMBERS", "112,911,999"), "numbers every extension may call through a trunk whatever its outbound class, comma-separated (env PBX_EMERGENCY_NUMBERS)")
	// An unparsable value must not silently become 0, which means "off".
	failLimit, err := strconv.Atoi(env("PBX_AUTH_FAIL_LIMIT", "10"))
	if err != nil {
		s.envErrs = append(s.envErrs, envErr{"auth-fail-limit",
			fmt.Errorf("PBX_AUTH_FAIL_LIMIT %q: want a whole number", getenv("PBX_AUTH_FAIL_LIMIT"))})
	}
	fs.IntVar(&s.cfg.AuthFailLimit, "auth-fail-limit", failLimit, "SIP auth failures from one IP within 5 minutes that block it; 0 disables (env PBX_AUTH_FAIL_LIMIT)")
	block, err := time.ParseDuration(env("PBX_AUTH_BLOCK", "10m"))
	if err != nil {
		s.envErrs = append(s.envErrs, envErr{"auth-block",
			fmt.Errorf("PBX_AUTH_BLOCK %q: want a duration such as 10m", getenv("PBX_AUTH_BLOCK"))})
	}
	fs.DurationVar(&s.cfg.AuthBlock, "auth-block", block, "how long a source stays blocked after too many auth failures (env PBX_AUTH_BLOCK)")
	return fs, s
}

// checkEnv reports environment values that did not parse and that no flag
// on the command line overrides.
func (s *settings) checkEnv(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	for _, e := range s.envErrs {
		if !set[e.flag] {
			errs = append(errs, e.err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", errUsage, errors.Join(errs...))
	}
	return nil
}

// logger builds the process logger for the chosen level.
func (s *settings) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToLower(s.logLevel))); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, s.logLevel)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

// parse parses args, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
