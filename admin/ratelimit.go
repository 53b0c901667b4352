package admin

import (
	"sync"
	"time"
)

// Login throttling: after maxFailures failed logins from one address within
// failureWindow, that address gets 429 until the oldest failure ages out.
const (
	maxFailures   = 10
	failureWindow = 5 * time.Minute
	maxTrackedIPs = 10000 // bounds memory under a spray from many addresses
)

// loginLimiter counts failed logins per source IP, in memory: the numbers are
// hot, short-lived and worthless after a restart.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string][]time.Time // oldest first, at most maxFailures
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{failures: make(map[string][]time.Time)}
}

// blocked reports how long ip must wait before trying again, 0 if it may try.
func (l *loginLimiter) blocked(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	times := live(l.failures[ip], now)
	if len(times) < maxFailures {
		return 0
	}
	return times[0].Add(failureWindow).Sub(now)
}

// fail records a failed login from ip.
func (l *loginLimiter) fail(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	times, known := l.failures[ip]
	if !known && len(l.failures) >= maxTrackedIPs {
		l.prune(now)
	}
	times = live(times, now)
	if len(times) == maxFailures {
		times = times[1:]
	}
	l.failures[ip] = append(times, now)
}

// prune drops addresses whose failures have all aged out; if that frees
// too little, it drops arbitrary entries: forgetting some attackers beats
// running out of memory. Freeing a tenth at once keeps pruning rare.
func (l *loginLimiter) prune(now time.Time) {
	for ip, times := range l.failures {
		if len(live(times, now)) == 0 {
			delete(l.failures, ip)
		}
	}
	for ip := range l.failures {
		if len(l.failures) < maxTrackedIPs*9/10 {
			break
		}
		delete(l.failures, ip)
	}
}

// live returns the failures still inside the window (times is oldest first).
func live(times []time.Time, now time.Time) []time.Time {
	cut := now.Add(-failureWindow)
	i := 0
	for i < len(times) && !times[i].After(cut) {
		i++
	}
	return times[i:]
}
