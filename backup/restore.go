package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/officepbx/pbx/pbx/store"
)

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Warn, when set, is told about what is odd but not fatal.
	Warn func(msg string)
}

// Restore restores the backup archive in into dataDir, which must not
// exist or be empty (a lone unlocked pbx.lock aside) and which no running
// PBX may hold. The whole archive is read and checked first (gzip and tar
// framing, the manifest, every file's size and SHA-256, safe names and
// regular files only, the database's integrity and a schema version this
// binary knows) into a hidden staging directory: inside dataDir when it
// exists (so the final moves stay on its file system, a mount point
// included), else beside it. Only then are the files moved into place, the
// database last. On any error the staging directory is removed and
// dataDir is as it was.
func Restore(ctx context.Context, in io.Reader, dataDir string, opts RestoreOptions) (*Manifest, error) {
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dataDir)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("restore: %w", err)
	case exists && !st.IsDir():
		return nil, fmt.Errorf("restore: %s is not a directory", dataDir)
	}

	var stage string
	if exists {
		unlock, createdLock, err := claimEmpty(dataDir)
		if err != nil {
			return nil, err
		}
		defer func() {
			unlock()
			if createdLock {
				// Leave no trace of a failed restore; after a good one the
				// file is harmless (the PBX takes it).
				os.Remove(filepath.Join(dataDir, LockFile))
			}
		}()
		if stage, err = os.MkdirTemp(dataDir, ".restore-*"); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	} else {
		parent := filepath.Dir(dataDir)
		if err := os.MkdirAll(parent, 0o750); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		if stage, err = os.MkdirTemp(parent, "."+filepath.Base(dataDir)+".restore-*"); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	defer os.RemoveAll(stage) // empty and gone after a good restore

	m, err := extract(in, stage)
	if err != nil {
		return nil, err
	}
	info, err := store.CheckSnapshot(ctx, filepath.Join(stage, DatabaseFile))
	if errors.Is(err, store.ErrSchemaTooNew) {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadArchive, DatabaseFile, err)
	}
	listed := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = true
	}
	missing := 0
	for _, f := range info.Files {
		if !listed[f] {
			missing++
		}
	}
	if missing > 0 {
		warn(fmt.Sprintf("the database names %d audio file(s) the backup does not hold; the PBX drops their rows when it starts", missing))
	}
	if err := os.Chmod(stage, 0o750); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if !exists {
		if err := os.Rename(stage, dataDir); err != nil {
			return nil, fmt.Errorf("restore: move into %s: %w", dataDir, err)
		}
		syncDir(filepath.Dir(dataDir))
		return m, nil
	}
	if err := moveInto(stage, dataDir); err != nil {
		return nil, err
	}
	return m, nil
}

// claimEmpty checks that dir is empty but for an unlocked lock file and
// takes the lock, so no PBX starts on it during the restore.
func claimEmpty(dir string) (unlock func(), created bool, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, fmt.Errorf("restore: %w", err)
	}
	unlock, err = lockDataDir(dir, false)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, false, err
	}
	var others []string
	for _, e := range ents {
		if e.Name() != LockFile {
			others = append(others, e.Name())
		}
	}
	if len(others) > 0 {
		if unlock != nil {
			unlock()
		}
		return nil, false, fmt.Errorf("%w: %s holds %d entries (e.g. %s); restore only into an empty or new directory",
			ErrNotEmpty, dir, len(others), others[0])
	}
	if unlock == nil {
		if unlock, err = lockDataDir(dir, true); err != nil {
			return nil, false, err
		}
		created = true
	}
	return unlock, created, nil
}

// moveInto renames every entry of stage into dir, the database last: a
// data directory with a database is a whole one.
func moveInto(stage, dir string) error {
	ents, err := os.ReadDir(stage)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	var moved []string
	undo := func() {
		for _, name := range moved {
			os.Rename(filepath.Join(dir, name), filepath.Join(stage, name))
		}
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Name() != DatabaseFile {
			names = append(names, e.Name())
		}
	}
	names = append(names, DatabaseFile)
	for _, name := range names {
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dir, name)); err != nil {
			undo()
			return fmt.Errorf("restore: move %s into %s: %w", name, dir, err)
		}
		moved = append(moved, name)
	}
	syncDir(dir)
	return nil
}
