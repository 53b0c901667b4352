//go:build crashpoints

package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// With the crashpoints tag, PBX_CRASHPOINT=STEP[:N] stops the process at
// the N-th (default first) time a voicemail commit reaches STEP (synced,
// renamed, inserted, delete-moved, delete-committed): it prints
// "CRASHPOINT STEP" on stderr and blocks until the test kills it.
func init() {
	spec := os.Getenv("PBX_CRASHPOINT")
	if spec == "" {
		return
	}
	step, nth := spec, 1
	if s, n, ok := strings.Cut(spec, ":"); ok {
		step = s
		if v, err := strconv.Atoi(n); err == nil && v > 0 {
			nth = v
		}
	}
	var mu sync.Mutex
	seen := 0
	crashpoint = func(at string) {
		if at != step {
			return
		}
		mu.Lock()
		seen++
		hit := seen == nth
		mu.Unlock()
		if hit {
			fmt.Fprintf(os.Stderr, "CRASHPOINT %s\n", at)
			select {} // wait here for SIGKILL
		}
	}
}
