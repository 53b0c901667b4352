package backup

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Archive layout: a gzip-compressed tar whose first entry is ManifestName,
// then one regular-file entry per manifest file, in manifest order.
const (
	// ManifestName is the archive's first entry.
	ManifestName = "manifest.json"
	// Format names the archive kind in the manifest.
	Format = "pbx-backup"
	// FormatVersion is the manifest version this binary writes and reads.
	FormatVersion = 1
	// DatabaseFile is the database's path in the archive and in the data
	// directory (app.DatabaseFile; backup does not import the app).
	DatabaseFile = "pbx.db"
	// LockFile is the file in the data directory a serving PBX holds a
	// lock on.
	LockFile = "pbx.lock"

	maxManifestSize = 64 << 20
	maxFiles        = 1 << 20
	maxPathLen      = 1024
)

// Manifest describes a backup: what wrote it, when, and every file with
// its size and SHA-256.
type Manifest struct {
	Format        string    `json:"format"`
	Version       int       `json:"version"`
	CreatedAt     time.Time `json:"created_at"`
	PBXVersion    string    `json:"pbx_version,omitempty"`
	SchemaVersion int       `json:"schema_version"`
	Files         []File    `json:"files"`
}

// File is one file of a backup.
type File struct {
	Path   string      `json:"path"` // slash-separated, relative to the data directory
	Size   int64       `json:"size"`
	SHA256 string      `json:"sha256"` // lower-case hex
	Mode   fs.FileMode `json:"mode"`   // permission bits
}

// parseManifest decodes and checks a manifest: known format and version,
// safe unique paths, the database present, sane sizes and digests.
func parseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrBadArchive, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: manifest format %q, want %q", ErrBadArchive, m.Format, Format)
	}
	if m.Version != FormatVersion {
		return nil, fmt.Errorf("%w: manifest version %d; this binary reads version %d", ErrBadArchive, m.Version, FormatVersion)
	}
	if len(m.Files) > maxFiles {
		return nil, fmt.Errorf("%w: manifest lists %d files", ErrBadArchive, len(m.Files))
	}
	seen := make(map[string]bool, len(m.Files))
	hasDB := false
	for _, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			return nil, fmt.Errorf("%w: manifest: %v", ErrBadArchive, err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("%w: manifest lists %q twice", ErrBadArchive, f.Path)
		}
		seen[f.Path] = true
		if f.Path == DatabaseFile {
			hasDB = true
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("%w: manifest: %q has size %d", ErrBadArchive, f.Path, f.Size)
		}
		if len(f.SHA256) != 64 || strings.Trim(f.SHA256, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("%w: manifest: %q has no valid sha256", ErrBadArchive, f.Path)
		}
		if f.Mode&^fs.ModePerm != 0 {
			return nil, fmt.Errorf("%w: manifest: %q has mode %v: only permission bits are allowed", ErrBadArchive, f.Path, f.Mode)
		}
	}
	// A file must not also be a directory of another ("a" and "a/b").
	for p := range seen {
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if seen[dir] {
				return nil, fmt.Errorf("%w: manifest: %q is both a file and a directory", ErrBadArchive, dir)
			}
		}
	}
	if !hasDB {
		return nil, fmt.Errorf("%w: manifest lists no %s", ErrBadArchive, DatabaseFile)
	}
	return &m, nil
}

// checkPath accepts a clean relative slash path that stays inside the data
// directory: no absolute path, no "..", no empty or dot element, no
// backslash or NUL, no hidden name (the PBX's own temporary files), not
// the lock file.
func checkPath(p string) error {
	switch {
	case p == "" || len(p) > maxPathLen:
		return fmt.Errorf("path %q: empty or too long", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q: absolute", p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("path %q: backslash or NUL", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q: not clean", p)
	case p == LockFile:
		return fmt.Errorf("path %q: the lock file is not data", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." || strings.HasPrefix(el, ".") {
			return fmt.Errorf("path %q: element %q not allowed", p, el)
		}
	}
	return nil
}
