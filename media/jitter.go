package media

import "sync"

// The per-participant jitter buffer of the conference mixer: parameters.
const (
	// jitterSlots is the ring's size in frames; a buffer never holds more
	// than its prefill plus jitterSlack complete frames.
	jitterSlots = 8
	// jitterSlack is how many frames beyond the prefill a buffer keeps
	// before it drops the oldest, which bounds the delay a burst adds.
	jitterSlack = 2
	// defaultJitterFrames is the prefill: frames held before playing, at
	// the start and after an underrun: one frame is left after the first pop,
	// so a frame up to 20 ms late is still in time.
	defaultJitterFrames = 2
	maxJitterFrames     = jitterSlots - jitterSlack - 1
)

// concealGains is the gain at the end of each concealed frame (the
// first starts from 1): a missing frame is the last one repeated and
// faded, and after len(concealGains) frames there is silence. Within a
// frame the gain ramps linearly, so the fade has no steps.
func concealGains() [4]float32 { return [4]float32{0.7, 0.4, 0.15, 0} }

// jitterBuffer holds a participant's decoded audio between the endpoint's
// goroutine (write, any frame size) and the mixer's tick (pop, one 20 ms
// frame). The mutex is held only to copy a frame; the writer never waits
// for the mixer's work.
type jitterBuffer struct {
	mu      sync.Mutex
	frames  [jitterSlots][FrameSamples]int16
	head    int // oldest complete frame
	count   int // complete frames
	fill    int // samples in the frame being written, at head+count
	prefill int
	playing bool // false until count reaches prefill (start, underrun)
	dropped uint64

	// Read side, used only by the tick.
	last    [FrameSamples]int16 // the last real frame, for concealment
	hasLast bool
	miss    int // consecutive concealed or silent frames
}

func (j *jitterBuffer) init(prefill int) {
	if prefill <= 0 {
		prefill = defaultJitterFrames
	}
	j.prefill = min(prefill, maxJitterFrames)
}

// write appends decoded samples; whole frames become playable.
func (j *jitterBuffer) write(pcm []int16) {
	j.mu.Lock()
	for len(pcm) > 0 {
		f := &j.frames[(j.head+j.count)%jitterSlots]
		n := copy(f[j.fill:], pcm)
		pcm = pcm[n:]
		j.fill += n
		if j.fill < FrameSamples {
			break
		}
		j.fill = 0
		j.count++
		if j.count > j.prefill+jitterSlack {
			// A burst after a stall: drop the oldest rather than let the
			// delay grow.
			j.head = (j.head + 1) % jitterSlots
			j.count--
			j.dropped++
		}
	}
	j.mu.Unlock()
}

// pop fills dst with the next frame: a received one, else a concealed
// one (the last frame, fading), else silence. It reports whether dst
// holds audio (false: silence, dst zeroed).
func (j *jitterBuffer) pop(dst *[FrameSamples]int16) bool {
	j.mu.Lock()
	if !j.playing && j.count >= j.prefill {
		j.playing = true
	}
	if j.playing && j.count > 0 {
		*dst = j.frames[j.head]
		j.head = (j.head + 1) % jitterSlots
		j.count--
		j.mu.Unlock()
		j.last = *dst
		j.hasLast = true
		j.miss = 0
		return true
	}
	j.playing = false // an underrun: wait for the prefill again
	j.mu.Unlock()
	return j.conceal(dst)
}

func (j *jitterBuffer) conceal(dst *[FrameSamples]int16) bool {
	gains := concealGains()
	if !j.hasLast || j.miss >= len(gains) {
		*dst = [FrameSamples]int16{}
		j.miss = min(j.miss+1, len(gains)+1)
		return false
	}
	g0 := float32(1)
	if j.miss > 0 {
		g0 = gains[j.miss-1]
	}
	step := (gains[j.miss] - g0) / FrameSamples
	for i, s := range j.last {
		dst[i] = int16(float32(s) * (g0 + step*float32(i+1)))
	}
	j.miss++
	return true
}
