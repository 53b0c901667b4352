//go:build unix

package media

import (
	"math"
	"syscall"
)

// openFileLimit is the process's current limit on open file descriptors,
// or 0 when there is none or it cannot be read.
func openFileLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || uint64(r.Cur) > math.MaxInt32 {
		return 0 // RLIM_INFINITY is the largest value
	}
	return int(r.Cur)
}
