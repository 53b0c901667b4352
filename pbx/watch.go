package pbx

import "sync"

// watchers signal subscribers that something changed. Each subscriber has
// a channel with room for one signal and a send never blocks, so a burst
// of changes reaches a slow subscriber as one signal: it then reads the
// current state. That keeps a registration storm from piling up work for
// the dashboard.
type watchers struct {
	mu   sync.Mutex
	next int
	subs map[int]chan struct{}
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

// WatchRegistrations returns a channel that receives a signal after
// registrations change (coalesced: read Registrations when it fires), and a
// function that ends the subscription.
func (e *Engine) WatchRegistrations() (<-chan struct{}, func()) {
	return e.regWatch.subscribe()
}
