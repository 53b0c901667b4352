package trunk

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Call directions of the trunk call counters.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// surgeMinimum is the fewest trunk calls in the last hour that can count
// as a surge: a quiet office going from 1 call to 3 is no alarm.
const surgeMinimum = 10

// CallCounter counts calls through trunks: totals by trunk and direction
// (pbx_trunk_calls_total) and calls per minute for the last two hours, so
// a jump of trunk calls in the last hour over the hour before (toll fraud
// runs up calls fast) shows as pbx_trunk_call_surge 1. Safe for
// concurrent use.
type CallCounter struct {
	mu     sync.Mutex
	totals map[[2]string]uint64 // {trunk, direction}
	// minutes holds the calls of each of the last 120 minutes, indexed
	// by unix minute mod 120; last is the newest minute written.
	minutes [120]uint64
	last    int64
}

// Count records one call through trunk in direction at time at.
func (c *CallCounter) Count(trunk, direction string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.totals == nil {
		c.totals = map[[2]string]uint64{}
	}
	c.totals[[2]string{trunk, direction}]++
	c.advance(at)
	c.minutes[c.last%120]++
}

// advance moves the minute window to at's minute, clearing the minutes
// it passes over; a clock that went back keeps the window where it is.
func (c *CallCounter) advance(at time.Time) {
	m := at.Unix() / 60
	if c.last == 0 {
		c.last = m
		return
	}
	if m <= c.last {
		return
	}
	for i := c.last + 1; i <= m && i <= c.last+120; i++ {
		c.minutes[i%120] = 0
	}
	c.last = m
}

// Hours returns the trunk calls of the last hour (this minute and the
// 59 before) and of the hour before that, as of now.
func (c *CallCounter) Hours(now time.Time) (last, previous uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(now)
	for i := int64(0); i < 120; i++ {
		n := c.minutes[(c.last-i)%120]
		if i < 60 {
			last += n
		} else {
			previous += n
		}
	}
	return last, previous
}

// Surge reports whether the last hour's trunk calls are at least
// surgeMinimum and more than twice the previous hour's.
func Surge(last, previous uint64) bool {
	return last >= surgeMinimum && last > 2*previous
}

// WriteMetrics writes pbx_trunk_calls_total{trunk,direction},
// pbx_trunk_calls_hour{hour="last"|"previous"} and pbx_trunk_call_surge.
func (c *CallCounter) WriteMetrics(w io.Writer, now time.Time) {
	last, prev := c.Hours(now)
	c.mu.Lock()
	keys := make([][2]string, 0, len(c.totals))
	for k := range c.totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		if a[1] < b[1] {
			return -1
		}
		if a[1] > b[1] {
			return 1
		}
		return 0
	})
	vals := make([]uint64, len(keys))
	for i, k := range keys {
		vals[i] = c.totals[k]
	}
	c.mu.Unlock()
	fmt.Fprintf(w, "# HELP pbx_trunk_calls_total Calls through trunks, by trunk and direction (inbound, outbound).\n# TYPE pbx_trunk_calls_total counter\n")
	for i, k := range keys {
		fmt.Fprintf(w, "pbx_trunk_calls_total{trunk=%q,direction=%q} %d\n", k[0], k[1], vals[i])
	}
	fmt.Fprintf(w, "# HELP pbx_trunk_calls_hour Trunk calls (both directions) in the last 60 minutes and in the 60 before.\n# TYPE pbx_trunk_calls_hour gauge\n")
	fmt.Fprintf(w, "pbx_trunk_calls_hour{hour=\"last\"} %d\npbx_trunk_calls_hour{hour=\"previous\"} %d\n", last, prev)
	surge := 0
	if Surge(last, prev) {
		surge = 1
	}
	fmt.Fprintf(w, "# HELP pbx_trunk_call_surge 1 when the last hour had at least %d trunk calls and more than twice the hour before (toll-fraud alarm).\n# TYPE pbx_trunk_call_surge gauge\npbx_trunk_call_surge %d\n", surgeMinimum, surge)
}
