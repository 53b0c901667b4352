package pbx

import (
	"sync"
	"sync/atomic"
	"time"
)

// watchers signal subscribers that something changed. Each subscriber has
// a channel with room for one signal and a send never blocks, so a burst
// of changes reaches a slow subscriber as one signal: it then reads the
// current state. That keeps a registration storm from piling up work for
// the dashboard.
type watchers struct {
	mu    sync.Mutex
	next  int
	subs  map[int]chan struct{}
	armed atomic.Bool // notifySoon's signal is pending
}

func (w *watchers) subscribe() (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil {
		w.subs = map[int]chan struct{}{}
	}
	id := w.next
	w.next++
	ch := make(chan struct{}, 1)
	w.subs[id] = ch
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.subs, id)
	}
}

func (w *watchers) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.subs {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}

// notifySoon signals the subscribers within delay of the first change
// since the last signal. Each signal wakes every subscriber's goroutine:
// at a thousand registrations a second, one signal each had those
// wake-ups cost more than the registrations (docs/benchmarks.md, issue 14).
// A change made after the timer fires is never missed: it arms the next
// timer, or precedes the signal about to go out.
func (w *watchers) notifySoon(delay time.Duration) {
	if w.armed.CompareAndSwap(false, true) {
		time.AfterFunc(delay, func() {
			w.armed.Store(false)
			w.notify()
		})
	}
}

// regSignalDelay is how long the watchers of registrations may hear of a
// change late (notifySoon): stored messages, BLF and MWI follow a
// phone's registration that much later, and the console's list.
const regSignalDelay = 100 * time.Millisecond

// WatchRegistrations returns a channel that receives a signal after
// registrations change (coalesced: read Registrations when it fires), and a
// function that ends the subscription.
func (e *Engine) WatchRegistrations() (<-chan struct{}, func()) {
	return e.regWatch.subscribe()
}
