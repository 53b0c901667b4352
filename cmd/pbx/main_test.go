package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// envOf returns a getenv over a fixed map, so tests never see the real
// environment.
func envOf(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantUsage  bool     // the error wraps errUsage
		wantErr    []string // substrings of the error
		wantStdout []string // substrings of stdout
	}{
		{name: "version", args: []string{"version"},
			wantStdout: []string{"pbx ", runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}},
		{name: "help", args: []string{"help"},
			wantStdout: []string{"Commands:", "pbx [serve] [flags]", "pbx version", "pbx admin password USER", "pbx dialplan check FILE"}},
		{name: "-h gives the overview", args: []string{"-h"}, wantStdout: []string{"Commands:", "pbx admin password USER"}},
		{name: "--help gives the overview", args: []string{"--help"}, wantStdout: []string{"Commands:"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantUsage: true,
			wantErr: []string{`unknown command "frobnicate"`, "Commands:"}},
		{name: "empty command", args: []string{""}, wantUsage: true, wantErr: []string{`unknown command ""`}},
		{name: "admin without subcommand", args: []string{"admin"}, wantUsage: true,
			wantErr: []string{"pbx admin password USER"}},
		{name: "admin unknown subcommand", args: []string{"admin", "reset", "bob"}, wantUsage: true,
			wantErr: []string{"pbx admin password USER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr, envOf(nil))
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("run: %v", err)
			}
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("run succeeded")
				}
				if errors.Is(err, errUsage) != tt.wantUsage {
					t.Errorf("errors.Is(%v, errUsage) = %v, want %v", err, !tt.wantUsage, tt.wantUsage)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
			}
			for _, s := range tt.wantStdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout %q lacks %q", stdout.String(), s)
				}
			}
			if tt.name == "version" && !strings.HasPrefix(stdout.String(), "pbx ") {
				t.Errorf("version output %q does not start with \"pbx \"", stdout.String())
			}
		})
	}
}

// TestServeRefusesBadConfig runs serve with configurations that must fail
// before anything starts. The context is already cancelled, so a case that
// wrongly got as far as starting fails with a context error instead of
// hanging.
func TestServeRefusesBadConfig(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	loopback := []string{"--sip", "127.0.0.1:0", "--http", "127.0.0.1:0", "--external-ip", "127.0.0.1"}
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantUsage bool
		want      []string // substrings of the error
		notWant   []string
	}{
		{name: "bad log level from env",
			env:  map[string]string{"PBX_LOG_LEVEL": "bogus"},
			args: []string{"--rtp-ports", "5-6"}, wantUsage: true, want: []string{"--log-level", `"bogus"`}},
		{name: "flag overrides bad env log level",
			env:  map[string]string{"PBX_LOG_LEVEL": "bogus"},
			args: []string{"--log-level", "info", "--rtp-ports", "5-6"}, want: []string{"rtp ports", `"5-6"`},
			notWant: []string{"log-level", "bogus"}},
		{name: "bad log level flag", args: []string{"--log-level", "loud"}, wantUsage: true, want: []string{`"loud"`}},
		{name: "rtp ports from env",
			env:  map[string]string{"PBX_RTP_PORTS": "5-6"},
			args: []string{"--external-ip", "not-an-ip"}, want: []string{"rtp ports", "not-an-ip"}},
		{name: "flag overrides env rtp ports",
			env:  map[string]string{"PBX_RTP_PORTS": "5-6"},
			args: []string{"--rtp-ports", "30000-30100", "--external-ip", "not-an-ip"}, want: []string{"not-an-ip"},
			notWant: []string{"rtp ports"}},
		{name: "rtp range too small", args: []string{"--rtp-ports", "30000-30001"}, want: []string{"rtp ports", "at least 4"}},
		{name: "bad listen address", args: []string{"--http", "8080"}, want: []string{"http address", `"8080"`}},
		{name: "unknown flag", args: []string{"--nope"}, wantUsage: true, want: []string{"nope"}},
		{name: "bad int flag", args: []string{"--auth-fail-limit", "ten"}, wantUsage: true, want: []string{"auth-fail-limit"}},
		{name: "stray argument", args: []string{"extra"}, wantUsage: true, want: []string{`unexpected argument "extra"`}},
		{name: "bad TLS address", args: []string{"--sip-tls", "5061"}, want: []string{"sip-tls address", `"5061"`}},
		// A typo in the environment must not quietly switch brute-force
		// blocking off (0 means off).
		{name: "bad auth fail limit from env",
			env:       map[string]string{"PBX_AUTH_FAIL_LIMIT": "ten"},
			wantUsage: true, want: []string{`PBX_AUTH_FAIL_LIMIT "ten"`}},
		{name: "bad HTTPS switch from env",
			env:       map[string]string{"PBX_HTTP_TLS": "yes please"},
			wantUsage: true, want: []string{`PBX_HTTP_TLS "yes please"`}},
		{name: "bad auth block from env",
			env:       map[string]string{"PBX_AUTH_BLOCK": "soon"},
			wantUsage: true, want: []string{`PBX_AUTH_BLOCK "soon"`}},
		{name: "flags override bad auth env",
			env:  map[string]string{"PBX_AUTH_FAIL_LIMIT": "ten", "PBX_AUTH_BLOCK": "soon"},
			args: []string{"--auth-fail-limit", "5", "--auth-block", "1m", "--rtp-ports", "5-6"}, want: []string{"rtp ports"},
			notWant: []string{"PBX_AUTH"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"serve", "--data", dir}, loopback...)
			args = append(args, tt.args...)
			var stdout, stderr bytes.Buffer
			err := run(ctx, args, strings.NewReader(""), &stdout, &stderr, envOf(tt.env))
			if err == nil {
				t.Fatal("serve accepted the configuration")
			}
			if errors.Is(err, errUsage) != tt.wantUsage {
				t.Errorf("errors.Is(%v, errUsage) = %v, want %v", err, !tt.wantUsage, tt.wantUsage)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q mentions %q", err, s)
				}
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("refused configuration created the data directory (stat: %v)", err)
			}
		})
	}
}

func TestServeHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"serve", "-h"}, strings.NewReader(""), &stdout, &stderr, envOf(nil)); err != nil {
		t.Fatalf("serve -h: %v", err)
	}
	// Every flag is documented together with its environment variable.
	for _, s := range []string{"-data", "PBX_DATA", "-sip", "PBX_SIP", "-http", "PBX_HTTP", "-rtp-ports", "PBX_RTP_PORTS",
		"-log-level", "PBX_LOG_LEVEL", "-auth-fail-limit", "PBX_AUTH_FAIL_LIMIT", "-http-tls", "PBX_HTTP_TLS"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("serve -h output lacks %q", s)
		}
	}
}
