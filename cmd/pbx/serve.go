package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/officepbx/pbx/backup"
	"github.com/officepbx/pbx/pbx/app"
)

// serve runs the PBX until ctx ends (SIGINT/SIGTERM), then shuts down
// gracefully: in-flight requests finish and registrations are written.
func serve(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs, s := newFlagSet("serve", stderr, getenv)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := s.checkEnv(fs); err != nil {
		return err
	}
	if s.cfg.AuthFailLimit == 0 {
		s.cfg.AuthFailLimit = -1 // 0 on the command line means off
	}
	log, err := s.logger(stderr)
	if err != nil {
		return err
	}
	s.cfg.Log = log
	s.cfg.Version = version()
	s.cfg.AdminPassword = getenv("PBX_ADMIN_PASSWORD")
	if getenv("GOGC") == "" {
		// Signalling allocates briskly against a small live heap:
		// collecting at 3x the live heap instead of 2x saves GC work on
		// registrations. At 1,000 call set-ups/s GOGC 100, 150, 200 and
		// 400 cost the same CPU within the noise while the RSS grew with
		// it (330, 390, 465, 665 MB), so 200 rather than the 400 of
		// before (docs/benchmarks.md, session 10).
		debug.SetGCPercent(200)
	}
	// PBX_CPUPROFILE=FILE profiles the whole run (bench/ uses it; see
	// docs/benchmarks.md): the profile is written at shutdown.
	if path := getenv("PBX_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("PBX_CPUPROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("PBX_CPUPROFILE: %w", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// PBX_MEMPROFILE=FILE writes the heap profile (allocations since
	// start included) at shutdown.
	if path := getenv("PBX_MEMPROFILE"); path != "" {
		defer writeProfile("allocs", path)
	}
	// PBX_CONTENTION=PREFIX writes PREFIX.mutex and PREFIX.block (where
	// goroutines waited on locks, channels and selects) at shutdown.
	if prefix := getenv("PBX_CONTENTION"); prefix != "" {
		runtime.SetMutexProfileFraction(10)
		runtime.SetBlockProfileRate(100_000) // one sample per 100 µs blocked
		defer writeProfile("mutex", prefix+".mutex")
		defer writeProfile("block", prefix+".block")
	}
	// A refused configuration leaves no data directory behind.
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	// One process serves a data directory; restore checks the same lock.
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	unlock, err := backup.LockDataDir(s.cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	a, err := app.Start(ctx, s.cfg)
	if err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-a.Err():
		log.Error("HTTP server failed", "error", runErr)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return errors.Join(runErr, a.Shutdown(shutCtx))
}

// writeProfile writes the runtime profile name to path; a profile that
// cannot be written is skipped (it is a diagnostic, not the PBX's work).
func writeProfile(name, path string) {
	if f, err := os.Create(path); err == nil {
		pprof.Lookup(name).WriteTo(f, 0)
		f.Close()
	}
}
