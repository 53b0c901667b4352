package media

import (
	"math"
	"slices"
	"testing"
	"time"
)

// onOff returns, for each 10 ms block of pcm, whether it holds any sound.
func onOff(pcm []int16) []bool {
	const block = 80
	var out []bool
	for i := 0; i+block <= len(pcm); i += block {
		out = append(out, energy(pcm[i:i+block]) > 0)
	}
	return out
}

// cadenceOf gives the on/off pattern of durations in 10 ms blocks.
func cadenceOf(steps ...time.Duration) []bool {
	var out []bool
	for i, d := range steps {
		for range d / (10 * time.Millisecond) {
			out = append(out, i%2 == 0)
		}
	}
	return out
}

func TestToneFrequenciesAndCadence(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name    string
		spec    ToneSpec
		read    int // samples to read (or until io.EOF)
		want    []float64
		notWant []float64
		cadence []bool // per 10 ms block, nil to skip
		total   int    // samples before io.EOF; 0 for none within read
	}{
		{"dial", DialTone(), 8000 * 3, []float64{350, 440}, []float64{480, 620}, cadenceOf(3000 * ms), 0},
		{"ringback", Ringback(), 8000 * 12, []float64{440, 480}, []float64{350, 620},
			cadenceOf(2000*ms, 4000*ms, 2000*ms, 4000*ms), 0},
		{"busy", Busy(), 8000 * 3, []float64{480, 620}, []float64{350, 440},
			cadenceOf(500*ms, 500*ms, 500*ms, 500*ms, 500*ms, 500*ms), 0},
		{"congestion", Congestion(), 8000, []float64{480, 620}, []float64{350, 440},
			cadenceOf(250*ms, 250*ms, 250*ms, 250*ms), 0},
		{"confirm", ConfirmTone(), 8000, []float64{350, 440}, []float64{480, 620},
			cadenceOf(100*ms, 100*ms, 100*ms, 100*ms, 100*ms, 100*ms), 4800},
		{"error", ErrorTone(), 8000 * 2, []float64{950, 1400, 1800}, []float64{440, 620},
			cadenceOf(330*ms, 30*ms, 330*ms, 30*ms, 330*ms, 30*ms), 8640},
		{"single with duration", ToneSpec{Freq1: 1000, Level: -10, Duration: 1234 * ms}, 8000 * 2,
			[]float64{1000}, []float64{500, 1500}, nil, 9872},
		{"repeats and shorter duration", ToneSpec{Freq1: 1000, Level: -10, Duration: 150 * ms, Repeats: 5,
			Cadence: []time.Duration{100 * ms, 100 * ms}}, 8000, []float64{1000}, nil, cadenceOf(100*ms, 50*ms), 1200},
		{"amplitude", ToneSpec{Freq1: 2000, Amplitude: 0.5, Cadence: []time.Duration{0, 0}}, 8000,
			[]float64{2000}, []float64{1000}, cadenceOf(time.Second), 0},
		{"above nyquist is silent", ToneSpec{Freq1: 4500, Level: -10, Duration: 100 * ms}, 8000,
			nil, nil, cadenceOf(0, 100*ms), 800},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pcm := readAll(t, NewToneSource(tc.spec), FrameSamples, tc.read)
			if tc.total > 0 && len(pcm) != tc.total {
				t.Fatalf("ended after %d samples, want %d", len(pcm), tc.total)
			}
			if tc.total == 0 && len(pcm) < tc.read {
				t.Fatalf("ended after %d samples, want no end", len(pcm))
			}
			for _, f := range tc.want {
				for _, g := range tc.notWant {
					if r := db(Goertzel(pcm, f) / Goertzel(pcm, g)); r < 20 {
						t.Errorf("%v Hz only %.1f dB above %v Hz", f, r, g)
					}
				}
			}
			if tc.cadence != nil {
				got := onOff(pcm)
				for i := range min(len(got), len(tc.cadence)) {
					if got[i] != tc.cadence[i] {
						t.Fatalf("10 ms block %d: sound %v, want %v\ngot  %v\nwant %v", i, got[i], tc.cadence[i], got, tc.cadence)
					}
				}
			}
		})
	}
}

// TestToneSampleExact checks a continuous tone against the formula, read in
// odd chunk sizes: the phase runs on across reads and nothing is dropped.
func TestToneSampleExact(t *testing.T) {
	src := NewToneSource(ToneSpec{Freq1: 350, Freq2: 440, Amplitude: 0.25})
	amp := 0.25 * math.MaxInt16
	sizes := []int{1, 7, 160, 33, 1000, 159}
	buf := make([]int16, 1000)
	for n, k := 0, 0; n < 8000*20; k++ {
		size := sizes[k%len(sizes)]
		m, err := src.Read(buf[:size])
		if err != nil || m != size {
			t.Fatalf("Read(%d) = %d, %v", size, m, err)
		}
		for i, got := range buf[:m] {
			x := float64(n + i)
			want := amp*math.Sin(2*math.Pi*350*x/8000) + amp*math.Sin(2*math.Pi*440*x/8000)
			if math.Abs(float64(got)-want) > 1 {
				t.Fatalf("sample %d = %d, want %.1f", n+i, got, want)
			}
		}
		n += m
	}
}

// TestToneLevel checks dBm0: the 0 dBm0 sine has an RMS 3.17 dB below that
// of a full-scale sine.
func TestToneLevel(t *testing.T) {
	pcm := readAll(t, NewToneSource(ToneSpec{Freq1: 1004, Level: -13}), FrameSamples, 8000)
	fullScaleSine := math.MaxInt16 * math.MaxInt16 / 2.0
	got := db(energy(pcm) / fullScaleSine)
	if want := -13 - 3.17; math.Abs(got-want) > 0.1 {
		t.Fatalf("level %.2f dB below a full-scale sine, want %.2f", got, want)
	}
}

// TestToneBurstEdges checks bursts rise and fall instead of clicking: no
// step between neighbouring samples larger than the sine itself makes.
func TestToneBurstEdges(t *testing.T) {
	for name, spec := range map[string]ToneSpec{"busy": Busy(), "error": ErrorTone(), "confirm": ConfirmTone(),
		"finite dial": {Freq1: 350, Freq2: 440, Level: -13, Duration: 777 * time.Millisecond}} {
		pcm := readAll(t, NewToneSource(spec), FrameSamples, 8000*3)
		amp := dBm0Peak * math.Pow(10, spec.Level/20) * math.MaxInt16
		// The steepest a sine of peak a at f gets is 2πf·a per second.
		limit := 2 * math.Pi * 1800 / 8000 * amp * 2
		prev := int16(0)
		for i, s := range append(pcm, 0) {
			if d := math.Abs(float64(s) - float64(prev)); d > limit {
				t.Errorf("%s: step of %.0f at sample %d (limit %.0f)", name, d, i, limit)
				break
			}
			prev = s
		}
	}
}

func TestToneRewind(t *testing.T) {
	src := NewToneSource(ConfirmTone())
	once := readAll(t, src, FrameSamples, 8000)
	src.Rewind()
	again := readAll(t, src, 100, 8000)
	looped := readAll(t, Loop(src), FrameSamples, 3*len(once))
	if !slices.Equal(once, again) || !slices.Equal(looped, slices.Concat(once, once, once)) {
		t.Fatal("a rewound tone differs from the first play")
	}
}

func TestToneNoAllocs(t *testing.T) {
	buf := make([]int16, FrameSamples)
	for name, spec := range map[string]ToneSpec{"dial": DialTone(), "busy": Busy(), "error": ErrorTone()} {
		src := NewToneSource(spec)
		if a := testing.AllocsPerRun(500, func() { src.Read(buf) }); a != 0 {
			t.Errorf("%s: %v allocations per Read", name, a)
		}
	}
}

// BenchmarkToneRead measures one 20 ms frame of a continuous two-frequency
// tone, the worst case (a cadence's off frames cost next to nothing).
func BenchmarkToneRead(b *testing.B) {
	src := NewToneSource(DialTone())
	buf := make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		src.Read(buf)
	}
}

func TestClampInt16(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want int16
	}{
		{0, 0}, {0.49, 0}, {0.5, 1}, {-0.49, 0}, {-0.5, -1}, {-1.7, -2}, {1.2, 1},
		{32766.6, 32767}, {32767.4, 32767}, {1e9, 32767}, {-32767.6, -32768}, {-1e9, -32768},
		{math.Inf(1), 32767}, {math.Inf(-1), -32768}, {math.NaN(), 0},
	} {
		if got := clampInt16(tc.in); got != tc.want {
			t.Errorf("clampInt16(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
