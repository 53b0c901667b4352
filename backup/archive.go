package backup

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeArchive writes m and its files as a gzip-compressed tar to w: the
// manifest first, then every file in manifest order, its bytes from open.
func writeArchive(w io.Writer, m *Manifest, open func(path string) (io.ReadCloser, error)) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	js = append(js, '\n')
	hdr := func(name string, size int64, mode os.FileMode) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: int64(mode.Perm()),
			ModTime: m.CreatedAt, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(ManifestName, int64(len(js)), 0o600)); err != nil {
		return err
	}
	if _, err := tw.Write(js); err != nil {
		return err
	}
	for _, f := range m.Files {
		if err := tw.WriteHeader(hdr(f.Path, f.Size, f.Mode)); err != nil {
			return fmt.Errorf("archive %s: %w", f.Path, err)
		}
		rc, err := open(f.Path)
		if err != nil {
			return fmt.Errorf("archive %s: %w", f.Path, err)
		}
		n, err := io.Copy(tw, io.LimitReader(rc, f.Size+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("archive %s: %w", f.Path, err)
		}
		if n != f.Size {
			return fmt.Errorf("archive %s: %d bytes, the manifest says %d", f.Path, n, f.Size)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// extract reads a backup archive from r into the directory dir (which
// must be empty and is the caller's to remove on error), checking
// everything as it goes: gzip and tar framing and the gzip checksum, the
// manifest first, every entry a regular file named in the manifest, in
// its order, with its size and SHA-256, no entry missing and none extra.
// Any fault of the archive is ErrBadArchive; a fault writing dir is not.
func extract(r io.Reader, dir string) (*Manifest, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadArchive, fmt.Sprintf(format, a...))
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, bad("not a gzip file: %v", err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil {
		return nil, bad("reading the first entry: %v", err)
	}
	if hdr.Name != ManifestName || !isRegular(hdr) {
		return nil, bad("the first entry is %q, not the %s of a PBX backup", hdr.Name, ManifestName)
	}
	if hdr.Size > maxManifestSize {
		return nil, bad("%s is %d bytes", ManifestName, hdr.Size)
	}
	js, err := io.ReadAll(tr)
	if err != nil {
		return nil, bad("reading %s: %v", ManifestName, err)
	}
	m, err := parseManifest(js)
	if err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, bad("truncated: %s is missing", f.Path)
		}
		if err != nil {
			return nil, bad("before %s: %v", f.Path, err)
		}
		if hdr.Name != f.Path {
			return nil, bad("entry %q where the manifest has %q", hdr.Name, f.Path)
		}
		if !isRegular(hdr) {
			return nil, bad("entry %q is not a regular file (type %q)", hdr.Name, hdr.Typeflag)
		}
		if hdr.Size != f.Size {
			return nil, bad("entry %q is %d bytes, the manifest says %d", hdr.Name, hdr.Size, f.Size)
		}
		if err := extractFile(tr, dir, f); err != nil {
			return nil, err
		}
	}
	if hdr, err := tr.Next(); err == nil {
		return nil, bad("entry %q is not in the manifest", hdr.Name)
	} else if !errors.Is(err, io.EOF) {
		return nil, bad("after the last file: %v", err)
	}
	// The gzip checksum is checked when its stream is read to the end.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, bad("gzip: %v", err)
	}
	return m, nil
}

func isRegular(h *tar.Header) bool {
	return h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA //nolint:staticcheck // old writers
}

// extractFile copies one entry to dir/f.Path, checking its digest, and
// makes it durable.
func extractFile(r io.Reader, dir string, f File) error {
	dst := filepath.Join(dir, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("restore %s: %w", f.Path, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restore %s: %w", f.Path, err)
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.Copy(out, io.TeeReader(r, h))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("restore %s: %w", f.Path, err)
		}
		return fmt.Errorf("%w: %s: %v", ErrBadArchive, f.Path, err)
	}
	if n != f.Size {
		return fmt.Errorf("%w: %s: truncated at %d of %d bytes", ErrBadArchive, f.Path, n, f.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		return fmt.Errorf("%w: %s: checksum mismatch (sha256 %s, the manifest says %s)", ErrBadArchive, f.Path, sum, f.SHA256)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("restore %s: %w", f.Path, err)
	}
	// The owner keeps read and write whatever the manifest says: the PBX
	// must be able to read its own files.
	if err := out.Chmod(f.Mode.Perm() | 0o600); err != nil {
		return fmt.Errorf("restore %s: %w", f.Path, err)
	}
	return out.Close()
}

// syncDir makes renames in dir durable; errors are ignored (the rename
// happened).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
