package media

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// sineAt returns seconds of a sine at freq Hz and peak amp, sampled at rate.
func sineAt(freq, amp float64, rate int, seconds float64) []int16 {
	out := make([]int16, int(seconds*float64(rate)))
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

func TestResampleSines(t *testing.T) {
	const amp = 10000
	cases := []struct {
		rate    int
		freq    float64
		minGain float64 // dB, output power relative to the input sine's
		maxGain float64
	}{
		// Pass band: the frequency survives, at its level.
		{44100, 1000, -0.2, 0.2},
		{48000, 1000, -0.2, 0.2},
		{16000, 1000, -0.2, 0.2},
		{11025, 1000, -0.2, 0.2},
		{22050, 1000, -0.2, 0.2},
		{96000, 1000, -0.2, 0.2},
		{192000, 1000, -0.2, 0.2},
		{8001, 1000, -0.2, 0.2},
		{191999, 1000, -0.2, 0.2}, // too many phases: the interpolated kernel
		{8000, 1000, -0.01, 0.01},
		{4000, 500, -0.2, 0.2},
		{48000, 3000, -0.5, 0.2},
		// Stop band: above the new Nyquist frequency, what folds back is
		// attenuated.
		{48000, 6000, math.Inf(-1), -30},
		{44100, 5000, math.Inf(-1), -30},
		{16000, 4500, math.Inf(-1), -30},
		{192000, 20000, math.Inf(-1), -30},
		{191999, 4600, math.Inf(-1), -30},
	}
	for _, tc := range cases {
		in := sineAt(tc.freq, amp, tc.rate, 0.5)
		out, err := Resample(in, tc.rate)
		if err != nil {
			t.Fatalf("%d Hz: %v", tc.rate, err)
		}
		if want := (len(in)*8000 + tc.rate - 1) / tc.rate; len(out) != want {
			t.Errorf("%d Hz: %d samples, want %d", tc.rate, len(out), want)
		}
		// Measure away from the edges, where the filter sees the silence
		// around the signal.
		mid := out[400 : len(out)-400]
		gain := db(energy(mid) / (amp * amp / 2))
		if gain < tc.minGain || gain > tc.maxGain {
			t.Errorf("%d Hz, %v Hz sine: gain %.2f dB, want %v to %v", tc.rate, tc.freq, gain, tc.minGain, tc.maxGain)
		}
		if tc.minGain > -1 {
			// The tone is where it should be: far above its neighbours.
			for _, other := range []float64{tc.freq / 2, tc.freq * 1.5} {
				if r := db(Goertzel(mid, tc.freq) / Goertzel(mid, other)); r < 40 {
					t.Errorf("%d Hz: %v Hz only %.1f dB above %v Hz", tc.rate, tc.freq, r, other)
				}
			}
		}
	}
}

func TestResampleIdentityAndErrors(t *testing.T) {
	in := sineAt(440, 3000, 8000, 0.1)
	out, err := Resample(in, 8000)
	if err != nil || !slices.Equal(in, out) {
		t.Fatalf("8000 Hz is not a copy: %v", err)
	}
	if out, err := Resample(nil, 48000); err != nil || len(out) != 0 {
		t.Fatalf("empty input: %v, %v", out, err)
	}
	for _, rate := range []int{0, -8000, 3999, 192001} {
		if _, err := Resample(in, rate); !errors.Is(err, ErrSampleRate) {
			t.Errorf("rate %d: err %v, want ErrSampleRate", rate, err)
		}
	}
}

// TestResampleStreaming checks that feeding the resampler in pieces gives
// the same output as all at once.
func TestResampleStreaming(t *testing.T) {
	in := sineAt(1000, 8000, 44100, 0.5)
	want, _ := Resample(in, 44100)
	r, _ := newResampler(44100)
	for i, size := 0, 1; i < len(in); size = size*3 + 1 {
		n := min(size%5000+1, len(in)-i)
		f := make([]float32, n)
		for j := range f {
			f[j] = float32(in[i+j])
		}
		r.write(f)
		i += n
	}
	r.flush()
	if !slices.Equal(r.out, want) {
		t.Fatalf("streamed output differs (%d vs %d samples)", len(r.out), len(want))
	}
}

func BenchmarkResample48k(b *testing.B) {
	in := sineAt(1000, 8000, 48000, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(in) * 2))
	for b.Loop() {
		Resample(in, 48000)
	}
}

func TestBesselI0Beta(t *testing.T) {
	if got := besselI0(sincBeta); math.Abs(got-besselI0Beta) > 1e-5 {
		t.Fatalf("besselI0(%v) = %v, the constant says %v", sincBeta, got, besselI0Beta)
	}
}
