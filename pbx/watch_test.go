package pbx

import (
	"testing"
	"time"
)

// TestNotifySoonCoalesces: a burst of changes reaches a subscriber as one
// signal, and a change after that signal brings another.
func TestNotifySoonCoalesces(t *testing.T) {
	var w watchers
	ch, stop := w.subscribe()
	defer stop()
	for range 1000 {
		w.notifySoon(10 * time.Millisecond)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal after a burst of changes")
	}
	select {
	case <-ch:
		t.Fatal("a second signal for one burst")
	case <-time.After(100 * time.Millisecond):
	}
	w.notifySoon(10 * time.Millisecond)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal for a change after the first signal")
	}
}
