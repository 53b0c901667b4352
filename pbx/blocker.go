package pbx

import (
	"sort"
	"sync"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// Reasons a source is blocked, as the API shows them.
const (
	blockAuthFailures = "auth_failures"
	blockScanner      = "scanner"
)

// blocker counts authentication failures per source IP and blocks a source
// that fails too often (the fail2ban rule most PBXs need bolted on); the
// guard also blocks sources that announce themselves as scanners. A blocked
// source's packets are dropped unread (guard.go).
type blocker struct {
	limit  int           // failures within window that trigger a block; 0 disables
	window time.Duration // how far back failures count
	block  time.Duration // how long a block lasts
	// exempt reports whether ip is allow-listed: never blocked.
	exempt func(ip string) bool

	mu      sync.Mutex
	sources map[string]*failures
}

type failures struct {
	first        time.Time
	count        int
	blockedUntil time.Time
	reason       string
}

// maxTrackedSources bounds the failure table; beyond it stale rows are pruned.
const maxTrackedSources = 100000

func newBlocker(limit int, window, block time.Duration) *blocker {
	return &blocker{limit: limit, window: window, block: block, sources: map[string]*failures{},
		exempt: func(string) bool { return false }}
}

// blocked reports whether ip is blocked now.
func (b *blocker) blocked(ip string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.sources[ip]
	return f != nil && now.Before(f.blockedUntil)
}

// fail records an authentication failure from ip and reports whether ip is
// now blocked.
func (b *blocker) fail(ip string, now time.Time) bool {
	if b.limit <= 0 || b.exempt(ip) {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.entry(ip, now)
	if now.Sub(f.first) > b.window {
		f.first, f.count = now, 0
	}
	f.count++
	if f.count >= b.limit {
		f.blockedUntil, f.reason = now.Add(b.block), blockAuthFailures
		f.first, f.count = now, 0
		return true
	}
	return false
}

// blockNow blocks ip for the block time with reason, unless it is
// allow-listed; it reports whether ip is blocked.
func (b *blocker) blockNow(ip, reason string, now time.Time) bool {
	if b.exempt(ip) {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.entry(ip, now)
	f.blockedUntil, f.reason = now.Add(b.block), reason
	return true
}

// entry returns ip's row, creating it; b.mu is held.
func (b *blocker) entry(ip string, now time.Time) *failures {
	f := b.sources[ip]
	if f == nil {
		if len(b.sources) >= maxTrackedSources {
			b.prune(now)
		}
		f = &failures{first: now}
		b.sources[ip] = f
	}
	return f
}

// unblock lifts ip's block and forgets its failures; it reports whether ip
// was blocked.
func (b *blocker) unblock(ip string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.sources[ip]
	delete(b.sources, ip)
	return f != nil && now.Before(f.blockedUntil)
}

// list returns the sources blocked now, the longest-blocked last.
func (b *blocker) list(now time.Time) []store.BlockedSource {
	b.mu.Lock()
	out := []store.BlockedSource{}
	for ip, f := range b.sources {
		if now.Before(f.blockedUntil) {
			out = append(out, store.BlockedSource{Source: ip, Reason: f.reason, Until: f.blockedUntil})
		}
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Until.Equal(out[j].Until) {
			return out[i].Until.Before(out[j].Until)
		}
		return out[i].Source < out[j].Source
	})
	return out
}

func (b *blocker) prune(now time.Time) {
	for ip, f := range b.sources {
		if now.Sub(f.first) > b.window && now.After(f.blockedUntil) {
			delete(b.sources, ip)
		}
	}
}
