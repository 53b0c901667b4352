package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/store"
)

// maxPlanSize is the largest plan read, as the REST API takes.
const maxPlanSize = 1 << 20

// dialplanCheck validates a dial plan file (- for stdin): every problem as
// FILE:LINE:COL: message on stderr and a non-nil error, or "FILE: ok" on
// stdout. With a database in the data directory, destinations are checked
// against its extensions, ring groups, IVR menus and rooms as a PUT would;
// without one only syntax and the plan's own consistency are.
func dialplanCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs, s := newFlagSet("dialplan check", stderr, getenv)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: pbx dialplan check FILE (- reads stdin)", errUsage)
	}
	file, name := fs.Arg(0), fs.Arg(0)
	var src io.Reader
	if file == "-" {
		src, name = stdin, "<stdin>"
	} else {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	text, err := io.ReadAll(io.LimitReader(src, maxPlanSize+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if len(text) > maxPlanSize {
		return fmt.Errorf("%s: larger than 1 MiB", name)
	}

	plan, errs := dialplan.Parse(string(text))
	if len(errs) == 0 {
		dir, where, err := directoryOf(ctx, s.cfg.DataDir)
		if err != nil {
			return err
		}
		if dir != nil {
			errs = plan.Check(dir)
		} else {
			fmt.Fprintf(stderr, "%s: destinations not checked: %s\n", name, where)
		}
	}
	for _, e := range errs {
		fmt.Fprintf(stderr, "%s:%s\n", name, e.Error())
	}
	switch len(errs) {
	case 0:
		fmt.Fprintf(stdout, "%s: ok\n", name)
		return nil
	case 1:
		return fmt.Errorf("%s: 1 error", name)
	}
	return fmt.Errorf("%s: %d errors", name, len(errs))
}

// directoryOf reads the numbering of the data directory's database, or
// returns nil and why not when there is no database there. It never
// creates one.
func directoryOf(ctx context.Context, dataDir string) (dialplan.Directory, string, error) {
	path := filepath.Join(dataDir, app.DatabaseFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, "no database at " + path + " (set --data or PBX_DATA)", nil
	} else if err != nil {
		return nil, "", err
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, "", err
	}
	defer st.Close()
	dir, err := st.Directory(ctx)
	return dir, path, err
}
