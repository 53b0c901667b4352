//go:build unix

package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockDataDir takes the exclusive lock a serving PBX holds on
// DIR/pbx.lock (flock, released by the kernel when the process ends,
// however it ends), creating the file if needed. It fails with
// ErrDataDirInUse when another process holds it. unlock releases it.
func LockDataDir(dir string) (unlock func(), err error) {
	return lockDataDir(dir, true)
}

// lockDataDir is LockDataDir; without create, a missing lock file is
// fs.ErrNotExist.
func lockDataDir(dir string, create bool) (unlock func(), err error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(filepath.Join(dir, LockFile), flags, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (stop it first)", ErrDataDirInUse, dir)
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
