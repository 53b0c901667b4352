package trunk

import "time"

// Backoff is the wait before the next REGISTER after failures in a row:
// Min after the first, doubling up to Max.
type Backoff struct {
	Min, Max time.Duration
}

// Wait is the delay after n failures in a row (n >= 1).
func (b Backoff) Wait(n int) time.Duration {
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// refreshAfter is when to refresh a registration granted for expires:
// before it runs out by a tenth of it, at least 2 s and at most 60 s, and
// never sooner than half-way.
func refreshAfter(expires time.Duration) time.Duration {
	margin := min(max(expires/10, 2*time.Second), 60*time.Second)
	return max(expires-margin, expires/2)
}
