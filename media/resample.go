package media

import (
	"errors"
	"fmt"
	"math"
)

// ErrSampleRate means a sample rate the resampler does not convert from.
var ErrSampleRate = errors.New("media: unsupported sample rate")

// Sample rates Resample converts from.
const (
	MinSampleRate = 4000
	MaxSampleRate = 192000
)

// The low-pass filter of the resampler: a Kaiser-windowed sinc, cut off at
// 0.45 of the lower of the two rates (3600 Hz when going to 8 kHz, 6 dB
// down there), reaching its stop band (about -70 dB) by the lower Nyquist
// frequency, so nothing above 4 kHz folds back into the telephone band
// (300-3400 Hz) audibly. The kernel is tabulated once per resampler and
// read with linear interpolation.
const (
	besselI0Beta = 135.056734 // besselI0(sincBeta), checked by a test
	sincCutoff   = 0.45       // of the lower rate
	sincHalf     = 24         // half-width in periods of the lower rate
	sincBeta     = 6.76       // Kaiser β for ~70 dB
	sincTableRes = 256        // table points per period of the lower rate
)

// maxPolyphase bounds the size of a polyphase table (float32s), and so the
// time to build one (a few ms): rates whose ratio to 8000 reduces to many
// phases (8001 Hz has 8000) use the tabulated kernel with interpolation
// instead. The common rates fit: 44.1 kHz has 80 phases, 11.025 kHz 320,
// multiples of 8 kHz one.
const maxPolyphase = 1 << 17

// resampler converts a stream of samples at one rate to 8 kHz. Feed it with
// write, end it with flush; the output accumulates in out.
//
// Output sample k sits at input position k·rate/8000. When that ratio
// reduces to L/M with few phases L (48000/8000 = 6/1, 44100/8000 = 441/80),
// the kernel is precomputed for each phase and each output sample is one
// dot product; otherwise the kernel is tabulated finely and interpolated
// per tap, which is slower.
type resampler struct {
	rate  int       // input rate
	gain  float64   // kernel scale: 2·cutoff/rate
	ustep float64   // kernel periods of the lower rate per input sample
	half  int       // kernel half-width in input samples
	taps  int       // 2·half: input samples per output sample
	g     int       // gcd(rate, 8000)
	poly  []float32 // taps per phase, phase-major, gain included; or nil
	table []float32 // the kernel from 0 on, sincTableRes points per period

	buf  []float32 // input not yet consumed; buf[0] is input sample base
	base int       // absolute index of buf[0] (negative: leading silence)
	in   int       // input samples written so far
	k    int       // next output sample
	out  []int16
}

func newResampler(rate int) (*resampler, error) {
	if rate < MinSampleRate || rate > MaxSampleRate {
		return nil, fmt.Errorf("%w: %d Hz (want %d to %d)", ErrSampleRate, rate, MinSampleRate, MaxSampleRate)
	}
	r := &resampler{rate: rate}
	if rate == clockRate {
		return r, nil
	}
	lower := float64(min(rate, clockRate))
	r.gain = 2 * sincCutoff * lower / float64(rate)
	r.ustep = lower / float64(rate)
	r.half = int(math.Ceil(sincHalf / r.ustep))
	r.taps = 2 * r.half
	r.g = gcd(rate, clockRate)
	// The input starts after half a kernel of silence, so every output
	// sample's window lies inside buf.
	r.buf = make([]float32, r.half)
	r.base = -r.half

	phases := clockRate / r.g
	if phases*r.taps <= maxPolyphase {
		r.poly = make([]float32, phases*r.taps)
		for p := range phases {
			frac := float64(p*r.g) / clockRate
			for t := range r.taps {
				d := float64(t-r.half+1) - frac // tap's distance from the centre
				r.poly[p*r.taps+t] = float32(r.gain * r.kernel(math.Abs(d)*r.ustep))
			}
		}
		return r, nil
	}
	r.table = make([]float32, sincHalf*sincTableRes+2)
	for i := range r.table {
		r.table[i] = float32(r.kernel(float64(i) / sincTableRes))
	}
	return r, nil
}

// kernel is the windowed sinc at u periods of the lower rate from its
// centre (u ≥ 0), without the gain.
func (r *resampler) kernel(u float64) float64 {
	x := u / sincHalf
	if x >= 1 {
		return 0
	}
	return sinc(2*sincCutoff*u) * besselI0(sincBeta*math.Sqrt(1-x*x)) / besselI0Beta
}

// write adds input samples (in int16 units, not clipped) and produces the
// output samples whose kernel they complete.
func (r *resampler) write(in []float32) {
	r.in += len(in)
	if r.taps == 0 {
		for _, v := range in {
			r.out = append(r.out, clampInt16(float64(v)))
		}
		return
	}
	r.buf = append(r.buf, in...)
	r.produce(false)
}

// flush produces the remaining output, treating the input after its end as
// silence: ceil(input × 8000 / rate) samples in all.
func (r *resampler) flush() {
	if r.taps == 0 {
		return
	}
	r.buf = append(r.buf, make([]float32, r.taps)...)
	r.produce(true)
}

func (r *resampler) produce(final bool) {
	total := (r.in*clockRate + r.rate - 1) / r.rate
	for !final || r.k < total {
		// Output k sits at input position c + frac/8000.
		pos := r.k * r.rate
		c, frac := pos/clockRate, pos%clockRate
		if !final && c+r.half >= r.in {
			break
		}
		x := r.buf[c-r.half+1-r.base:][:r.taps]
		var acc float32
		if r.poly != nil {
			acc = dot(x, r.poly[frac/r.g*r.taps:][:r.taps])
		} else {
			acc = r.interpolated(x, float64(frac)/clockRate)
		}
		r.out = append(r.out, clampInt16(float64(acc)))
		r.k++
	}
	// Drop the input no later output needs.
	c := r.k * r.rate / clockRate
	if drop := c - r.half + 1 - r.base; drop > 0 {
		drop = min(drop, len(r.buf))
		r.buf = r.buf[:copy(r.buf, r.buf[drop:])]
		r.base += drop
	}
}

// interpolated is one output sample from the window x by the tabulated
// kernel, frac of an input sample after x's centre.
func (r *resampler) interpolated(x []float32, frac float64) float32 {
	var acc float32
	for t, v := range x {
		u := math.Abs(float64(t-r.half+1)-frac) * r.ustep * sincTableRes
		i := int(u)
		if i >= len(r.table)-1 {
			continue
		}
		f := float32(u - float64(i))
		acc += v * (r.table[i] + f*(r.table[i+1]-r.table[i]))
	}
	return acc * float32(r.gain)
}

// dot is the dot product of x and h (same length), with four partial sums
// so the additions do not wait on each other.
func dot(x, h []float32) float32 {
	h = h[:len(x)]
	var a0, a1, a2, a3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a0 += x[i] * h[i]
		a1 += x[i+1] * h[i+1]
		a2 += x[i+2] * h[i+2]
		a3 += x[i+3] * h[i+3]
	}
	for ; i < len(x); i++ {
		a0 += x[i] * h[i]
	}
	return (a0 + a1) + (a2 + a3)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (enough for the Kaiser window's arguments).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}

// Resample converts pcm, mono at rate Hz (MinSampleRate to MaxSampleRate),
// to 8 kHz with a windowed-sinc low-pass against aliasing. The output has
// ceil(len(pcm) × 8000 / rate) samples; pcm at 8 kHz is copied. An
// unsupported rate gives an error wrapping ErrSampleRate.
func Resample(pcm []int16, rate int) ([]int16, error) {
	r, err := newResampler(rate)
	if err != nil {
		return nil, err
	}
	r.out = make([]int16, 0, (len(pcm)*clockRate+rate-1)/rate)
	var block [1024]float32
	for len(pcm) > 0 {
		n := min(len(pcm), len(block))
		for i, v := range pcm[:n] {
			block[i] = float32(v)
		}
		r.write(block[:n])
		pcm = pcm[n:]
	}
	r.flush()
	return r.out, nil
}
