package media

import (
	"io"
	"math"
	"time"
)

// ToneSpec describes a call-progress tone as telephony specifies one: one or
// two frequencies at a level, switched on and off by a cadence.
//
// The zero Level is 0 dBm0, a loud tone: real tones are specified at -13 to
// -24 dBm0 per frequency.
type ToneSpec struct {
	// Freq1 and Freq2 are the frequencies in Hz; Freq2 is 0 for a single
	// frequency. Frequencies at or above 4000 Hz (the Nyquist frequency at
	// 8 kHz) are not generated.
	Freq1, Freq2 float64

	// Level is the level of each frequency in dBm0 (the 0 dBm0 sine of
	// G.711 has a peak 3.17 dB below full scale). Used when Amplitude is 0.
	Level float64

	// Amplitude, when above 0, is the peak of each frequency as a fraction
	// of full scale (1 = 32767), instead of Level.
	Amplitude float64

	// Cadence alternates on and off durations (on, off, on, off, ...),
	// repeating. Empty means continuous. An odd count leaves the last on
	// step without a pause after it.
	Cadence []time.Duration

	// Steps, when not empty, replaces Freq1, Freq2 and Cadence with steps
	// that each have their own frequencies (a special information tone);
	// a step with no frequency is a pause. The steps repeat like a cadence.
	Steps []ToneStep

	// Repeats, when above 0, ends the tone (io.EOF) after that many cycles
	// of its cadence or steps. A continuous tone has no cycles: use
	// Duration.
	Repeats int

	// Duration, when above 0, ends the tone after that much audio.
	Duration time.Duration
}

// ToneStep is one step of a ToneSpec's Steps: Freq1 and Freq2 (Hz, 0 for
// none) played for Duration.
type ToneStep struct {
	Freq1, Freq2 float64
	Duration     time.Duration
}

// The predefined tones follow the North American precise tone plan (ANSI
// T1.401, Telcordia GR-506) for call progress and ITU-T E.180 for the
// special information tone. They are functions rather than variables so no
// caller can change them for everyone.

// DialTone is 350 + 440 Hz at -13 dBm0 each, continuous.
func DialTone() ToneSpec { return ToneSpec{Freq1: 350, Freq2: 440, Level: -13} }

// Ringback is the audible ringing tone: 440 + 480 Hz at -19 dBm0 each, 2 s
// on, 4 s off.
func Ringback() ToneSpec {
	return ToneSpec{Freq1: 440, Freq2: 480, Level: -19, Cadence: []time.Duration{2 * time.Second, 4 * time.Second}}
}

// Busy is 480 + 620 Hz at -24 dBm0 each, 0.5 s on, 0.5 s off.
func Busy() ToneSpec {
	return ToneSpec{Freq1: 480, Freq2: 620, Level: -24, Cadence: []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}}
}

// Congestion is the reorder (fast busy) tone: 480 + 620 Hz at -24 dBm0
// each, 0.25 s on, 0.25 s off.
func Congestion() ToneSpec {
	return ToneSpec{Freq1: 480, Freq2: 620, Level: -24, Cadence: []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}}
}

// ConfirmTone tells a caller a feature code was accepted: three 100 ms
// bursts of 350 + 440 Hz (dial-tone frequencies) at -13 dBm0 each, 100 ms
// apart, then it ends (600 ms in all, the last 100 ms silent).
func ConfirmTone() ToneSpec {
	return ToneSpec{
		Freq1: 350, Freq2: 440, Level: -13,
		Cadence: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond},
		Repeats: 3,
	}
}

// ErrorTone is the special information tone of ITU-T E.180 that precedes
// an intercept message (number not in service, feature refused): 950, 1400
// and 1800 Hz rising, 330 ms each with 30 ms pauses, at -24 dBm0, played
// once (1.08 s).
func ErrorTone() ToneSpec {
	const d, gap = 330 * time.Millisecond, 30 * time.Millisecond
	return ToneSpec{
		Level: -24,
		Steps: []ToneStep{
			{Freq1: 950, Duration: d}, {Duration: gap},
			{Freq1: 1400, Duration: d}, {Duration: gap},
			{Freq1: 1800, Duration: d}, {Duration: gap},
		},
		Repeats: 1,
	}
}

// dBm0Peak is the peak of a 0 dBm0 sine as a fraction of full scale
// (ITU-T G.711: 3.17 dB below the largest sine), 10^(-3.17/20).
const dBm0Peak = 0.6942246

// toneRamp is the length of the raised edges of each burst (4 ms): a
// burst that starts or stops at full amplitude clicks.
const toneRamp = 32

// continuousStep is the length given to the single step of a continuous
// tone: any length works, the step simply repeats.
const continuousStep = clockRate

type toneOsc struct {
	cos, sin float64 // the phase increment per sample, as a rotation
	amp      float64 // peak in int16 units
}

func newToneOsc(freq, amp float64) (toneOsc, bool) {
	if freq <= 0 || freq >= clockRate/2 {
		return toneOsc{cos: 1}, false
	}
	inc := 2 * math.Pi * freq / clockRate
	return toneOsc{cos: math.Cos(inc), sin: math.Sin(inc), amp: amp}, true
}

type toneStep struct {
	n       int // samples
	osc     [2]toneOsc
	on      bool
	rampIn  bool
	rampOut bool
}

type toneSource struct {
	steps  []toneStep
	step   int        // current step
	pos    int        // sample within the current step
	re, im [2]float64 // each oscillator's phase as a unit phasor
	left   int        // samples left before io.EOF; -1 for no end
	total  int        // left at the start
}

// NewToneSource returns a Source that generates spec sample-exactly: every
// on and off step lasts its duration rounded to whole samples, each
// oscillator's phase runs on across frames and steps (no clicks between
// frames), and bursts rise and fall over 4 ms. It never ends unless spec
// has Repeats or a Duration. Its Read does not allocate. It is a Rewinder,
// so a finite tone can be looped (Loop(NewToneSource(ConfirmTone()))).
func NewToneSource(spec ToneSpec) Rewinder {
	amp := spec.Amplitude
	if amp <= 0 {
		amp = dBm0Peak * math.Pow(10, spec.Level/20)
	}
	amp *= math.MaxInt16

	steps := spec.Steps
	if len(steps) == 0 {
		steps = make([]ToneStep, max(1, len(spec.Cadence)))
		for i := range steps {
			if i%2 == 0 {
				steps[i].Freq1, steps[i].Freq2 = spec.Freq1, spec.Freq2
			}
			if i < len(spec.Cadence) {
				steps[i].Duration = spec.Cadence[i]
			}
		}
	}

	s := &toneSource{left: -1, re: [2]float64{1, 1}}
	cycle := 0
	for _, st := range steps {
		n := durationSamples(st.Duration)
		if n <= 0 {
			continue
		}
		ts := toneStep{n: n}
		for i, f := range [2]float64{st.Freq1, st.Freq2} {
			var ok bool
			ts.osc[i], ok = newToneOsc(f, amp)
			ts.on = ts.on || ok
		}
		s.steps = append(s.steps, ts)
		cycle += n
	}
	if len(s.steps) == 0 {
		// No cadence, or one too short to hold a sample: continuous.
		ts := toneStep{n: continuousStep}
		for i, f := range [2]float64{spec.Freq1, spec.Freq2} {
			var ok bool
			ts.osc[i], ok = newToneOsc(f, amp)
			ts.on = ts.on || ok
		}
		s.steps = []toneStep{ts}
		cycle = 0 // no cycles to count
	}

	// A burst ramps where its neighbour in the cycle sounds different. The
	// very first burst starts at phase 0, so a continuous tone needs no
	// ramp in; the end of a finite tone is faded in Read.
	for i := range s.steps {
		st := &s.steps[i]
		if !st.on {
			continue
		}
		prev := &s.steps[(i+len(s.steps)-1)%len(s.steps)]
		next := &s.steps[(i+1)%len(s.steps)]
		st.rampIn = prev.osc != st.osc
		st.rampOut = next.osc != st.osc
	}

	if spec.Repeats > 0 && cycle > 0 {
		s.left = spec.Repeats * cycle
	}
	if spec.Duration > 0 {
		d := max(0, durationSamples(spec.Duration))
		if s.left < 0 || d < s.left {
			s.left = d
		}
	}
	s.total = s.left
	return s
}

// Rewind restarts the tone from its beginning, so a finite tone can be
// played again through Loop or a rewound Concat.
func (s *toneSource) Rewind() {
	s.step, s.pos, s.left = 0, 0, s.total
	s.re, s.im = [2]float64{1, 1}, [2]float64{}
}

// Read implements Source.
func (s *toneSource) Read(dst []int16) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	if s.left > 0 && len(dst) > s.left {
		dst = dst[:s.left]
	}
	n := 0
	for n < len(dst) {
		st := &s.steps[s.step]
		k := min(len(dst)-n, st.n-s.pos)
		s.render(dst[n:n+k], st)
		n += k
		s.pos += k
		if s.pos == st.n {
			s.pos = 0
			s.step = (s.step + 1) % len(s.steps)
		}
	}
	if s.left > 0 {
		// Fade the last toneRamp samples of a finite tone, wherever its
		// end falls in the cadence.
		for i := max(0, s.left-toneRamp); i < n; i++ {
			r := s.left - 1 - i
			dst[i] = int16(int(dst[i]) * r / toneRamp)
		}
		s.left -= n
	}
	return n, nil
}

// render fills out with the samples of st from s.pos on, advancing the
// oscillators. Each oscillator is a unit phasor rotated by its step's
// precomputed increment every sample (four multiplications instead of a
// math.Sin), renormalised once per call so rounding cannot make it drift.
func (s *toneSource) render(out []int16, st *toneStep) {
	if !st.on {
		clear(out)
		return
	}
	ramp := min(toneRamp, st.n/2)
	o0, o1 := &st.osc[0], &st.osc[1]
	re0, im0, re1, im1 := s.re[0], s.im[0], s.re[1], s.im[1]
	for i := range out {
		v := o0.amp*im0 + o1.amp*im1
		if j := s.pos + i; st.rampIn && j < ramp {
			v *= float64(j) / float64(ramp)
		} else if r := st.n - 1 - j; st.rampOut && r < ramp {
			v *= float64(r) / float64(ramp)
		}
		out[i] = clampInt16(v)
		re0, im0 = re0*o0.cos-im0*o0.sin, re0*o0.sin+im0*o0.cos
		re1, im1 = re1*o1.cos-im1*o1.sin, re1*o1.sin+im1*o1.cos
	}
	g0, g1 := 1/math.Hypot(re0, im0), 1/math.Hypot(re1, im1)
	s.re[0], s.im[0], s.re[1], s.im[1] = re0*g0, im0*g0, re1*g1, im1*g1
}

// clampInt16 rounds v to the nearest int16 (halves away from zero, like
// math.Round, which is slower), saturating; NaN gives 0.
func clampInt16(v float64) int16 {
	switch {
	case v >= 0:
		if v >= math.MaxInt16 {
			return math.MaxInt16
		}
		return int16(v + 0.5)
	case v < 0:
		if v <= math.MinInt16 {
			return math.MinInt16
		}
		return int16(v - 0.5)
	}
	return 0
}
