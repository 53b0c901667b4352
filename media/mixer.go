package media

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Mixer defaults and limits.
const (
	// DefaultMixPeriod is the mixer's tick: one 20 ms frame.
	DefaultMixPeriod = 20 * time.Millisecond
	// DefaultLoudest is how many talkers a room mixes at once.
	DefaultLoudest = 3
	// DefaultTalkLevel is the frame power (dBFS, relative to a full-scale
	// square wave) above which a participant counts as talking: above a
	// phone's idle noise (-60 dBFS and less), below quiet speech.
	DefaultTalkLevel = -45.0
	maxLoudest       = 16
	// talkHangover is how many frames a participant stays "talking" after
	// its last loud frame (200 ms), so pauses between words do not drop a
	// talker from the mix.
	talkHangover = 10
	// lateSlack is how late a tick may fire before it counts as late.
	lateSlack = 10 * time.Millisecond
)

// MixerOptions configures a Mixer. Zero values take the defaults.
type MixerOptions struct {
	// Period is the tick, and so the frame length; DefaultMixPeriod.
	// Frames are always FrameSamples long, so anything but 20 ms is for
	// tests and benchmarks.
	Period time.Duration
	// Loudest is how many talkers are mixed in each room (at most 16);
	// DefaultLoudest. The rest of a large room costs an energy check each.
	Loudest int
	// TalkLevel is the talking threshold in dBFS; DefaultTalkLevel.
	TalkLevel float64
}

// ParticipantOutput receives what a participant hears: one FrameSamples
// frame each tick, on the mixer's goroutine. An *Endpoint is one. It must
// not block, must not keep or modify pcm (participants hearing the same
// mix share the buffer) and must not call back into the Mixer, its rooms
// or participants.
type ParticipantOutput interface {
	WriteAudio(pcm []int16)
}

// EncodedOutput is an optional extension of ParticipantOutput: an output
// that takes frames already encoded in its codec (PCMU or PCMA, as
// PayloadType reports it at that tick). The mixer then encodes each
// distinct mix once per codec per tick and hands the same payload to every
// participant who hears it. *Endpoint is one. The same rules as for
// WriteAudio apply to payload.
type EncodedOutput interface {
	PayloadType() uint8
	WriteEncoded(payload []byte)
}

// MixerStats is a snapshot of a mixer's counters, for metrics.
type MixerStats struct {
	// Ticks counts ticks run; LateTicks those that fired more than 10 ms
	// late or whose work took longer than the period.
	Ticks, LateTicks uint64
	// LastTickDuration is how long the last tick's work took.
	LastTickDuration time.Duration
	// TotalTickDuration is the sum of all ticks' work (a histogram's sum).
	TotalTickDuration time.Duration
	// Rooms and Participants are open now.
	Rooms, Participants int
}

// TickBucket is one cumulative bucket of the tick-duration histogram, as
// Prometheus counts them: ticks whose work took at most UpperBound.
type TickBucket struct {
	UpperBound time.Duration // math.MaxInt64 for +Inf
	Count      uint64
}

// Mixer is the conference mixer: one goroutine, one clock for all its
// rooms. Every tick it takes a frame from each participant's jitter
// buffer, mixes each room's loudest talkers and hands every participant
// its frame: the room's full mix, or for a talker the mix without
// themself (mix-minus), through a soft limiter. Participants hearing the
// same mix share one buffer and, for EncodedOutputs, one encode per codec.
// A tick allocates nothing.
type Mixer struct {
	period    time.Duration
	loudest   int
	threshold int64 // mean square of a frame above which it is loud

	mu    sync.Mutex // guards rooms; held for a whole tick
	rooms []*Room

	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}

	ticks, late     atomic.Uint64
	lastTick        atomic.Int64
	sumTick         atomic.Int64
	bounds          []time.Duration
	hist            []atomic.Uint64 // len(bounds)+1, the last +Inf
	nRooms, nParted atomic.Int64
}

// NewMixer makes a mixer; Start runs its clock.
func NewMixer(opts MixerOptions) *Mixer {
	if opts.Period <= 0 {
		opts.Period = DefaultMixPeriod
	}
	if opts.Loudest <= 0 {
		opts.Loudest = DefaultLoudest
	}
	opts.Loudest = min(opts.Loudest, maxLoudest)
	if opts.TalkLevel == 0 {
		opts.TalkLevel = DefaultTalkLevel
	}
	m := &Mixer{period: opts.Period, loudest: opts.Loudest}
	m.threshold = int64(32767 * 32767 * math.Pow(10, opts.TalkLevel/10))
	us := time.Microsecond
	m.bounds = []time.Duration{50 * us, 100 * us, 250 * us, 500 * us, 1000 * us, 2500 * us, 5000 * us, 10000 * us, 20000 * us}
	m.hist = make([]atomic.Uint64, len(m.bounds)+1)
	return m
}

// Start runs the mixer's clock until ctx ends or Stop is called. Starting
// a running mixer does nothing.
func (m *Mixer) Start(ctx context.Context) {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if m.done != nil {
		return
	}
	ctx, m.cancel = context.WithCancel(ctx)
	m.done = make(chan struct{})
	go m.run(ctx, m.done)
}

// Stop stops the clock and waits for the last tick to finish. Rooms stay
// as they are; Start runs them again.
func (m *Mixer) Stop() {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if m.done == nil {
		return
	}
	m.cancel()
	<-m.done
	m.done, m.cancel = nil, nil
}

func (m *Mixer) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(m.period)
	defer t.Stop()
	var prev time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case fired := <-t.C:
			start := time.Now()
			work := m.tick()
			// Late: the tick fired late, the ticker dropped one (a gap of
			// more than a period between ticks), or the work overran.
			if start.Sub(fired) > lateSlack || work > m.period ||
				(!prev.IsZero() && fired.Sub(prev) > m.period+lateSlack) {
				m.late.Add(1)
			}
			prev = fired
		}
	}
}

// tick mixes one frame for every room and reports how long it took.
func (m *Mixer) tick() time.Duration {
	start := time.Now()
	m.mu.Lock()
	for _, r := range m.rooms {
		r.mix()
	}
	m.mu.Unlock()
	d := time.Since(start)
	m.ticks.Add(1)
	m.lastTick.Store(int64(d))
	m.sumTick.Add(int64(d))
	i := 0
	for i < len(m.bounds) && d > m.bounds[i] {
		i++
	}
	m.hist[i].Add(1)
	return d
}

// Stats returns the mixer's counters.
func (m *Mixer) Stats() MixerStats {
	return MixerStats{
		Ticks:             m.ticks.Load(),
		LateTicks:         m.late.Load(),
		LastTickDuration:  time.Duration(m.lastTick.Load()),
		TotalTickDuration: time.Duration(m.sumTick.Load()),
		Rooms:             int(m.nRooms.Load()),
		Participants:      int(m.nParted.Load()),
	}
}

// TickHistogram returns the tick-duration histogram as cumulative
// buckets (50 µs to 20 ms, then +Inf), ready for a Prometheus histogram
// with Stats().TotalTickDuration as its sum.
func (m *Mixer) TickHistogram() []TickBucket {
	out := make([]TickBucket, len(m.hist))
	var cum uint64
	for i := range m.hist {
		cum += m.hist[i].Load()
		out[i].Count = cum
		out[i].UpperBound = math.MaxInt64
		if i < len(m.bounds) {
			out[i].UpperBound = m.bounds[i]
		}
	}
	return out
}

// NewRoom opens an empty room on the mixer.
func (m *Mixer) NewRoom() *Room {
	r := &Room{
		m:       m,
		talkers: make([]*Participant, 0, m.loudest),
		prev:    make([]*Participant, 0, m.loudest),
		mixing:  make([]*Participant, 0, 2*m.loudest),
	}
	m.mu.Lock()
	r.index = len(m.rooms)
	m.rooms = append(m.rooms, r)
	m.mu.Unlock()
	m.nRooms.Add(1)
	return r
}
