package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/officepbx/pbx/backup"
)

// backupCmd writes a backup of the data directory to OUT.tar.gz; the PBX
// may be running.
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, s := newFlagSet("backup", stderr, getenv)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: pbx backup OUT.tar.gz", errUsage)
	}
	out := fs.Arg(0)
	m, err := backup.Create(ctx, s.cfg.DataDir, out, backup.CreateOptions{
		PBXVersion: version(),
		Warn:       func(msg string) { fmt.Fprintln(stderr, "pbx backup: warning:", msg) },
	})
	if err != nil {
		return err
	}
	var size int64
	for _, f := range m.Files {
		size += f.Size
	}
	fmt.Fprintf(stdout, "backup %s: %d files, %d bytes before compression, schema version %d\n",
		out, len(m.Files), size, m.SchemaVersion)
	return nil
}

// restoreCmd restores IN.tar.gz into an empty or new data directory.
func restoreCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, s := newFlagSet("restore", stderr, getenv)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: pbx restore IN.tar.gz", errUsage)
	}
	in := fs.Arg(0)
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	m, err := backup.Restore(ctx, f, s.cfg.DataDir, backup.RestoreOptions{
		Warn: func(msg string) { fmt.Fprintln(stderr, "pbx restore: warning:", msg) },
	})
	if err != nil {
		if errors.Is(err, backup.ErrBadArchive) {
			return fmt.Errorf("%s: %w; nothing was restored", in, err)
		}
		return fmt.Errorf("%s: %w", in, err)
	}
	fmt.Fprintf(stdout, "restored %s into %s: %d files, backup of %s (pbx %s, schema version %d)\n",
		in, s.cfg.DataDir, len(m.Files), m.CreatedAt.Format("2006-01-02 15:04:05 UTC"), orUnknown(m.PBXVersion), m.SchemaVersion)
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
