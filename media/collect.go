package media

import (
	"context"
	"strings"
	"sync"
	"time"
)

// DigitBufferSize is how many key presses a DigitBuffer queues; presses
// beyond it are dropped (and counted) until keys are taken.
const DigitBufferSize = 32

// DigitBuffer queues a call's key presses between the media goroutine that
// detects them (Push, which fits EndpointConfig.OnDigit) and the call's
// application, which collects them (Collect, Wait) or stops a prompt at
// the first one (Pending). Keys pressed while a prompt plays stay queued
// for the next Collect (type-ahead) unless Flush drops them.
//
// A DigitBuffer is safe for concurrent use. Its zero value is ready.
type DigitBuffer struct {
	mu      sync.Mutex
	q       [DigitBufferSize]Digit
	head, n int
	dropped int
	// wake is closed by the next Push; nil while nobody waits for one.
	wake chan struct{}
	// ready is a closed channel, what Pending returns while keys queue.
	ready chan struct{}
}

// Push queues a key press. It never blocks: when DigitBufferSize presses
// are already queued, d is dropped and counted (Dropped).
func (b *DigitBuffer) Push(d Digit) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == len(b.q) {
		b.dropped++
		return
	}
	b.q[(b.head+b.n)%len(b.q)] = d
	b.n++
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
}

// Pending returns a channel that is readable (closed) while a key press
// is queued: at once if one is, else when the next is pushed. It does not
// take the key. A prompt player stops on it for barge-in:
//
//	select {
//	case <-pb.Done():
//	case <-digits.Pending():
//		pb.Stop()
//	}
func (b *DigitBuffer) Pending() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n > 0 {
		if b.ready == nil {
			b.ready = make(chan struct{})
			close(b.ready)
		}
		return b.ready
	}
	if b.wake == nil {
		b.wake = make(chan struct{})
	}
	return b.wake
}

// Len returns how many key presses are queued.
func (b *DigitBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// Dropped returns how many key presses Push dropped because the queue
// was full.
func (b *DigitBuffer) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Flush drops the queued key presses (keys pressed during a prompt that
// must not count as the answer to the next) and returns how many.
func (b *DigitBuffer) Flush() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.n
	b.head, b.n = 0, 0
	return n
}

func (b *DigitBuffer) pop() (Digit, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == 0 {
		return Digit{}, false
	}
	d := b.q[b.head]
	b.head = (b.head + 1) % len(b.q)
	b.n--
	return d, true
}

// Wait takes the next key press, waiting for one if none is queued, until
// ctx ends (then it returns ctx.Err()).
func (b *DigitBuffer) Wait(ctx context.Context) (Digit, error) {
	for {
		if d, ok := b.pop(); ok {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return Digit{}, ctx.Err()
		case <-b.Pending():
		}
	}
}

// CollectOptions say when Collect stops. A zero duration or count is no
// limit of that kind.
type CollectOptions struct {
	// Max stops collection after this many keys.
	Max int
	// Terminators are keys that end the input (e.g. "#"); the terminator
	// is not part of the result.
	Terminators string
	// FirstDigit is how long to wait for the first key.
	FirstDigit time.Duration
	// InterDigit is how long to wait for each further key.
	InterDigit time.Duration
	// Overall bounds the whole collection.
	Overall time.Duration
	// Accept, if set, is asked after each key whether the keys so far are
	// complete (they name a menu option, a known extension): true ends
	// collection at once.
	Accept func(keys string) bool
}

// Collect takes key presses, first those already queued (type-ahead),
// until one of o's conditions ends it, and returns them as a string of
// '0'-'9', '*', '#' and 'A'-'D' (flash is skipped). A timeout is not an
// error: it returns the keys pressed so far, which is "" with a nil error
// when no key came in time. When ctx ends (the caller hung up), it returns
// the keys so far and ctx.Err(). A terminator alone also returns "": a
// caller that must tell it from a timeout sets no FirstDigit and uses
// Overall, or collects with Wait.
func (b *DigitBuffer) Collect(ctx context.Context, o CollectOptions) (string, error) {
	var keys []byte
	gap := time.NewTimer(time.Hour)
	defer gap.Stop()
	arm := func(d time.Duration) {
		// Since Go 1.23 Stop and Reset leave no stale tick in the channel.
		if d > 0 {
			gap.Reset(d)
		} else {
			gap.Stop()
		}
	}
	arm(o.FirstDigit)
	var overall <-chan time.Time
	if o.Overall > 0 {
		t := time.NewTimer(o.Overall)
		defer t.Stop()
		overall = t.C
	}
	for {
		if err := ctx.Err(); err != nil {
			return string(keys), err
		}
		if d, ok := b.pop(); ok {
			r := d.Rune()
			switch {
			case r == 0 || r == '!':
				continue // not a key (flash)
			case strings.ContainsRune(o.Terminators, r):
				return string(keys), nil
			}
			keys = append(keys, byte(r))
			if o.Max > 0 && len(keys) >= o.Max || o.Accept != nil && o.Accept(string(keys)) {
				return string(keys), nil
			}
			arm(o.InterDigit)
			continue
		}
		select {
		case <-ctx.Done():
			return string(keys), ctx.Err()
		case <-overall:
			return string(keys), nil
		case <-gap.C:
			return string(keys), nil
		case <-b.Pending():
		}
	}
}
