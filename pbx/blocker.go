package pbx

import (
	"sync"
	"time"
)

// blocker counts authentication failures per source IP and blocks a source
// that fails too often (the fail2ban rule most PBXs need bolted on).
type blocker struct {
	limit  int           // failures within window that trigger a block; 0 disables
	window time.Duration // how far back failures count
	block  time.Duration // how long a block lasts

	mu      sync.Mutex
	sources map[string]*failures
}

type failures struct {
	first        time.Time
	count        int
	blockedUntil time.Time
}

// maxTrackedSources bounds the failure table; beyond it stale rows are pruned.
const maxTrackedSources = 100000

func newBlocker(limit int, window, block time.Duration) *blocker {
	return &blocker{limit: limit, window: window, block: block, sources: map[string]*failures{}}
}

// blocked reports whether ip is blocked now.
func (b *blocker) blocked(ip string, now time.Time) bool {
	if b.limit <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.sources[ip]
	return f != nil && now.Before(f.blockedUntil)
}

// fail records a failure from ip and reports whether ip is now blocked.
func (b *blocker) fail(ip string, now time.Time) bool {
	if b.limit <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.sources[ip]
	if f == nil {
		if len(b.sources) >= maxTrackedSources {
			b.prune(now)
		}
		f = &failures{first: now}
		b.sources[ip] = f
	}
	if now.Sub(f.first) > b.window {
		f.first, f.count = now, 0
	}
	f.count++
	if f.count >= b.limit {
		f.blockedUntil = now.Add(b.block)
		f.first, f.count = now, 0
		return true
	}
	return false
}

func (b *blocker) prune(now time.Time) {
	for ip, f := range b.sources {
		if now.Sub(f.first) > b.window && now.After(f.blockedUntil) {
			delete(b.sources, ip)
		}
	}
}
