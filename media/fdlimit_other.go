//go:build !unix

package media

// openFileLimit: no limit is known here (Windows counts handles, not a
// small descriptor table).
func openFileLimit() int { return 0 }
