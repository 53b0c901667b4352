// Package backup makes and restores backups of a PBX data directory: the
// SQLite database (a VACUUM INTO snapshot, taken while the PBX runs), the
// prompts, the voicemail and the TLS material, as one gzip-compressed tar
// with a manifest of every file's size and SHA-256.
package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// CreateOptions tune Create.
type CreateOptions struct {
	// PBXVersion is recorded in the manifest.
	PBXVersion string
	// Warn, when set, is told about what the backup left out and why.
	Warn func(msg string)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// attempts is how often Create starts over when files its database
// snapshot names vanished before they were copied (deleted meanwhile).
const attempts = 5

// Create writes a backup of the data directory dataDir to the file out,
// atomically: out appears whole (temporary file, fsync, rename) or not at
// all. The PBX may be running: the database is snapshot first, in one read
// transaction, and then every file is copied and checked unchanged by the
// copy; every audio file the snapshot's rows name is in the backup (a
// message or prompt deleted before its file was copied makes Create start
// over). Files committed after the snapshot are left out, as are the
// PBX's temporary files.
func Create(ctx context.Context, dataDir, out string, opts CreateOptions) (*Manifest, error) {
	warn := opts.Warn
	if warn == nil {
		warn = func(string) {}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	// A data directory reached through a symbolic link is walked too.
	if real, err := filepath.EvalSymlinks(dataDir); err == nil {
		dataDir = real
	}
	out, err = filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(filepath.Join(dataDir, DatabaseFile)); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s (set --data or PBX_DATA)", ErrNoDatabase, filepath.Join(dataDir, DatabaseFile))
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return nil, fmt.Errorf("backup %s: is a directory", out)
	}
	outDir := filepath.Dir(out)
	stage, err := os.MkdirTemp(outDir, "."+filepath.Base(out)+".stage-*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(stage)

	var m *Manifest
	var attempt string
	for try := 1; ; try++ {
		attempt = filepath.Join(stage, fmt.Sprint(try))
		if err := os.Mkdir(attempt, 0o700); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		var missing []string
		m, missing, err = collect(ctx, dataDir, attempt, out, warn)
		if err != nil {
			return nil, err
		}
		if len(missing) == 0 {
			break
		}
		if try == attempts {
			// The rows name files that are not there, time after time: lost
			// before the backup. The PBX drops such rows when it starts.
			warn(fmt.Sprintf("the database names %d file(s) that are missing from %s, e.g. %s",
				len(missing), dataDir, missing[0]))
			break
		}
		os.RemoveAll(attempt)
	}
	m.Format, m.Version, m.CreatedAt, m.PBXVersion = Format, FormatVersion, now().UTC().Truncate(time.Second), opts.PBXVersion
	if err := writeFileAtomic(out, func(w io.Writer) error {
		return writeArchive(w, m, func(p string) (io.ReadCloser, error) {
			return os.Open(filepath.Join(attempt, filepath.FromSlash(p)))
		})
	}); err != nil {
		return nil, err
	}
	return m, nil
}

// collect snapshots the database of dataDir and copies the files into
// stage, returning their manifest (without its header fields) and the
// files the snapshot names that were not there.
func collect(ctx context.Context, dataDir, stage, out string, warn func(string)) (*Manifest, []string, error) {
	info, err := store.Snapshot(ctx, filepath.Join(dataDir, DatabaseFile), filepath.Join(stage, DatabaseFile))
	if err != nil {
		return nil, nil, err
	}
	m := &Manifest{SchemaVersion: info.SchemaVersion}
	db, err := hashFile(filepath.Join(stage, DatabaseFile))
	if err != nil {
		return nil, nil, err
	}
	db.Path, db.Mode = DatabaseFile, 0o600
	if st, err := os.Stat(filepath.Join(dataDir, DatabaseFile)); err == nil {
		db.Mode = st.Mode().Perm()
	}
	m.Files = append(m.Files, db)

	named := make(map[string]bool, len(info.Files))
	for _, f := range info.Files {
		named[f] = true
	}
	var files []File
	err = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if p == dataDir {
			return nil
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip(rel, d, named) || p == out {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if checkPath(rel) != nil {
			warn(fmt.Sprintf("left out %s: a name a restore would refuse", rel))
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		f, err := copyStable(p, filepath.Join(stage, filepath.FromSlash(rel)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil // gone since the walk saw it; checked against named below
		case errors.Is(err, errNotRegular):
			warn(fmt.Sprintf("left out %s: not a regular file", rel))
			return nil
		case err != nil:
			return err
		}
		f.Path = rel
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("backup %s: %w", dataDir, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	m.Files = append(m.Files, files...)
	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f.Path] = true
	}
	var missing []string
	for _, f := range info.Files {
		if !have[f] {
			missing = append(missing, f)
		}
	}
	return m, missing, nil
}

// skip says which paths of the data directory are not backed up: the live
// database and its journals (the snapshot stands for them), the lock file,
// hidden names (uploads and recordings in progress, deletes in progress,
// a backup's own staging), and message files no snapshot row names
// (committed after the snapshot, or left by a crash: the PBX removes
// those when it starts).
func skip(rel string, d fs.DirEntry, named map[string]bool) bool {
	if strings.HasPrefix(path.Base(rel), ".") {
		return true
	}
	switch rel {
	case DatabaseFile, DatabaseFile + "-wal", DatabaseFile + "-shm", DatabaseFile + "-journal", LockFile:
		return true
	}
	parts := strings.Split(rel, "/")
	if len(parts) == 3 && parts[0] == store.VoicemailDirName && !d.IsDir() {
		return parts[2] != store.GreetingFileName && !named[rel]
	}
	return false
}

var errNotRegular = errors.New("not a regular file")

// copyStable copies the file src (following a symbolic link) to dst and
// returns its size, digest and mode; a file that changes while it is read
// is copied again. The PBX replaces its files by rename, so an open file
// never changes under the PBX's own writes; the check is for anything else.
func copyStable(src, dst string) (File, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return File{}, err
	}
	for try := 0; ; try++ {
		f, changed, err := copyOnce(src, dst)
		if err != nil || !changed {
			return f, err
		}
		if try == 10 {
			return File{}, fmt.Errorf("%s keeps changing while it is copied", src)
		}
	}
}

func copyOnce(src, dst string) (File, bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return File{}, false, err
	}
	defer in.Close()
	before, err := in.Stat()
	if err != nil {
		return File{}, false, err
	}
	if !before.Mode().IsRegular() {
		return File{}, false, fmt.Errorf("%s: %w", src, errNotRegular)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return File{}, false, err
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.Copy(out, io.TeeReader(in, h))
	if err != nil {
		return File{}, false, fmt.Errorf("copy %s: %w", src, err)
	}
	after, err := in.Stat()
	if err != nil {
		return File{}, false, err
	}
	if n != before.Size() || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return File{}, true, nil
	}
	if err := out.Close(); err != nil {
		return File{}, false, err
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Mode: before.Mode().Perm()}, false, nil
}

// hashFile returns the size and digest of a file.
func hashFile(p string) (File, error) {
	in, err := os.Open(p)
	if err != nil {
		return File{}, err
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.Copy(h, in)
	if err != nil {
		return File{}, err
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeFileAtomic writes the file p through write: a temporary file beside
// it, synced and renamed over p only when write succeeded. A backup holds
// secrets (password hashes, SIP secrets, the TLS key): it is made 0600.
func writeFileAtomic(p string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("backup %s: %w", p, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("backup %s: %w", p, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup %s: %w", p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("backup %s: %w", p, err)
	}
	done = true
	syncDir(filepath.Dir(p))
	return nil
}
