package media

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func keyDigit(r rune) Digit {
	i := strings.IndexRune("0123456789*#ABCD!", r)
	if i < 0 {
		panic("not a key")
	}
	return Digit{Event: uint8(i)}
}

func pushKeys(b *DigitBuffer, keys string) {
	for _, r := range keys {
		b.Push(keyDigit(r))
	}
}

// keyPress is keys pressed after a pause.
type keyPress struct {
	after time.Duration
	keys  string
}

// The tests run in a synctest bubble: time is fake and moves only when
// every goroutine waits, so durations are exact and nothing sleeps.
func TestCollect(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name     string
		typed    string // queued before Collect
		presses  []keyPress
		o        CollectOptions
		want     string
		took     time.Duration
		leftOver int // keys queued once every press was made
	}{
		{name: "no key: empty after FirstDigit",
			o: CollectOptions{FirstDigit: 5 * s, InterDigit: 2 * s}, want: "", took: 5 * s},
		{name: "inter-digit gap ends it",
			presses: []keyPress{{s, "1"}, {s, "2"}, {5 * s, "3"}},
			o:       CollectOptions{FirstDigit: 5 * s, InterDigit: 3 * s}, want: "12", took: 5 * s, leftOver: 1},
		{name: "terminator ends it, is not returned, later keys stay",
			presses: []keyPress{{s, "12#34"}},
			o:       CollectOptions{FirstDigit: 5 * s, InterDigit: 3 * s, Terminators: "#"}, want: "12", took: s, leftOver: 2},
		{name: "terminator alone",
			presses: []keyPress{{s, "*"}},
			o:       CollectOptions{FirstDigit: 5 * s, Terminators: "#*"}, want: "", took: s},
		{name: "max",
			presses: []keyPress{{s, "12"}, {s, "345"}},
			o:       CollectOptions{Max: 3, InterDigit: 5 * s}, want: "123", took: 2 * s, leftOver: 2},
		{name: "type-ahead is collected first",
			typed: "98", presses: []keyPress{{s, "7"}},
			o: CollectOptions{Max: 3, FirstDigit: 5 * s, InterDigit: 5 * s}, want: "987", took: s},
		{name: "type-ahead alone, then the gap",
			typed: "4",
			o:     CollectOptions{Max: 3, FirstDigit: 5 * s, InterDigit: 2 * s}, want: "4", took: 2 * s},
		{name: "accept ends it at a complete option",
			presses: []keyPress{{s, "2"}, {s, "1"}, {s, "3"}},
			o: CollectOptions{InterDigit: 5 * s, Accept: func(k string) bool {
				return k == "1" || k == "21" || k == "22"
			}}, want: "21", took: 2 * s, leftOver: 1},
		{name: "overall bounds a steady typist",
			presses: []keyPress{{s, "1"}, {s, "2"}, {s, "3"}, {s, "4"}},
			o:       CollectOptions{FirstDigit: 5 * s, InterDigit: 2 * s, Overall: 3*s + s/2}, want: "123", took: 3*s + s/2, leftOver: 1},
		{name: "no first-digit limit: waits for the key",
			presses: []keyPress{{time.Minute, "5"}},
			o:       CollectOptions{Max: 1}, want: "5", took: time.Minute},
		{name: "flash is skipped",
			presses: []keyPress{{s, "1!2"}},
			o:       CollectOptions{Max: 2, InterDigit: s}, want: "12", took: s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var b DigitBuffer
				pushKeys(&b, tc.typed)
				done := make(chan struct{})
				go func() {
					defer close(done)
					for _, p := range tc.presses {
						time.Sleep(p.after)
						pushKeys(&b, p.keys)
					}
				}()
				start := time.Now()
				got, err := b.Collect(t.Context(), tc.o)
				if err != nil || got != tc.want {
					t.Errorf("Collect = %q, %v; want %q", got, err, tc.want)
				}
				if took := time.Since(start); took != tc.took {
					t.Errorf("took %v, want %v", took, tc.took)
				}
				<-done
				if n := b.Len(); n != tc.leftOver {
					t.Errorf("%d keys left, want %d", n, tc.leftOver)
				}
			})
		})
	}
}

// Hanging up ends Collect and Wait with the context's error; Collect
// returns what was pressed.
func TestCollectContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b DigitBuffer
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(time.Second)
			pushKeys(&b, "12")
			time.Sleep(time.Second)
			cancel()
		}()
		got, err := b.Collect(ctx, CollectOptions{Terminators: "#"})
		if got != "12" || !errors.Is(err, context.Canceled) {
			t.Errorf("Collect = %q, %v", got, err)
		}
		if _, err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait after cancel: %v", err)
		}
	})
}

func TestDigitBufferWaitPendingFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b DigitBuffer
		p := b.Pending()
		select {
		case <-p:
			t.Fatal("Pending readable with nothing queued")
		default:
		}
		go func() {
			time.Sleep(time.Second)
			b.Push(Digit{Event: 11, InBand: true})
		}()
		<-p // a prompt stops here: barge-in
		select {
		case <-b.Pending():
		default:
			t.Fatal("Pending not readable with a key queued")
		}
		if b.Len() != 1 {
			t.Fatalf("Pending took the key")
		}
		d, err := b.Wait(t.Context())
		if err != nil || d.Rune() != '#' || !d.InBand {
			t.Fatalf("Wait = %v, %v", d, err)
		}
		pushKeys(&b, "123")
		if n := b.Flush(); n != 3 || b.Len() != 0 {
			t.Fatalf("Flush dropped %d, %d left", n, b.Len())
		}
		got, err := b.Collect(t.Context(), CollectOptions{FirstDigit: time.Second})
		if got != "" || err != nil {
			t.Fatalf("Collect after Flush = %q, %v", got, err)
		}
	})
}

// Push never blocks: beyond DigitBufferSize keys it drops and counts.
func TestDigitBufferFull(t *testing.T) {
	var b DigitBuffer
	for range DigitBufferSize + 5 {
		b.Push(keyDigit('7'))
	}
	if b.Len() != DigitBufferSize || b.Dropped() != 5 {
		t.Fatalf("Len %d, Dropped %d", b.Len(), b.Dropped())
	}
}

// Keys pushed from several goroutines while Collect runs all arrive.
func TestDigitBufferConcurrent(t *testing.T) {
	var b DigitBuffer
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 8 {
				b.Push(Digit{Event: uint8(g)})
			}
		})
	}
	got, err := b.Collect(t.Context(), CollectOptions{Max: 32})
	wg.Wait()
	if err != nil || len(got) != 32 {
		t.Fatalf("Collect = %q, %v", got, err)
	}
	for g := range 4 {
		if n := strings.Count(got, string(rune('0'+g))); n != 8 {
			t.Errorf("%d keys %d, want 8", n, g)
		}
	}
}
