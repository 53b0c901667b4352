package media

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// dtmfFreqsOf returns a key's low and high frequency.
func dtmfFreqsOf(t testing.TB, key rune) (lo, hi float64) {
	t.Helper()
	const pad = "123A456B789C*0#D"
	i := strings.IndexRune(pad, key)
	if i < 0 {
		t.Fatalf("%q is not a DTMF key", key)
	}
	return dtmfFreqs[i/4], dtmfFreqs[4+i%4]
}

// dtmfTone is a key's two tones for n samples, the sum peaking at level
// dBFS, the high tone twist dB louder than the low one (negative: softer),
// each frequency scaled by 1+dev.
func dtmfTone(t testing.TB, key rune, n int, level, twist, dev float64) []int16 {
	lo, hi := dtmfFreqsOf(t, key)
	peak := 32767 * math.Pow(10, level/20)
	aLo := peak / (1 + math.Pow(10, twist/20))
	aHi := peak - aLo
	out := make([]int16, n)
	for i := range out {
		x := float64(i) / sampleRate
		out[i] = int16(aLo*math.Sin(2*math.Pi*lo*(1+dev)*x) + aHi*math.Sin(2*math.Pi*hi*(1+dev)*x+1))
	}
	return out
}

// dtmfKeysAudio is keys as tones of on samples, each followed by off
// samples of silence, after lead samples of silence.
func dtmfKeysAudio(t testing.TB, keys string, lead, on, off int, level, twist float64) []int16 {
	out := make([]int16, lead)
	for _, k := range keys {
		out = append(out, dtmfTone(t, k, on, level, twist, 0)...)
		out = append(out, make([]int16, off)...)
	}
	return out
}

// detectInBand runs pcm through a detector in frames of frame samples and
// returns the keys reported.
func detectInBand(t testing.TB, pcm []int16, frame int) string {
	t.Helper()
	var got strings.Builder
	d := InBandDTMFDetector{OnDigit: func(dg Digit) {
		if !dg.InBand {
			t.Errorf("digit %v without InBand", dg)
		}
		got.WriteString(dg.String())
	}}
	for len(pcm) > 0 {
		n := min(frame, len(pcm))
		d.WriteAudio(pcm[:n])
		pcm = pcm[n:]
	}
	return got.String()
}

const ms = sampleRate / 1000 // samples per millisecond

func TestInBandDTMFAllKeysAndLevels(t *testing.T) {
	for _, level := range []float64{-3, -5, -10, -20, -30} {
		for _, k := range "0123456789*#ABCD" {
			pcm := dtmfKeysAudio(t, string(k), 37, 100*ms, 100*ms, level, 0)
			if got := detectInBand(t, pcm, FrameSamples); got != string(k) {
				t.Errorf("key %c at %v dBFS: detected %q", k, level, got)
			}
			// Through the phone's codec.
			if got := detectInBand(t, decodeAlaw(encodeAlaw(pcm)), FrameSamples); got != string(k) {
				t.Errorf("key %c at %v dBFS through A-law: detected %q", k, level, got)
			}
			if got := detectInBand(t, decodeUlaw(encodeUlaw(pcm)), FrameSamples); got != string(k) {
				t.Errorf("key %c at %v dBFS through µ-law: detected %q", k, level, got)
			}
		}
	}
	// Too quiet: each tone below -45 dBFS.
	if got := detectInBand(t, dtmfKeysAudio(t, "5", 0, 200*ms, 0, -42, 0), FrameSamples); got != "" {
		t.Errorf("a key at -42 dBFS (tones at -48) detected as %q", got)
	}
}

func TestInBandDTMFSequences(t *testing.T) {
	for _, tc := range []struct {
		name    string
		on, off int // ms
	}{
		{"100/100", 100, 100},
		{"70/50", 70, 50},
		{"50/40", 50, 40},
		{"40/40", 40, 40},
	} {
		for _, frame := range []int{FrameSamples, 80, 240, 1} {
			pcm := dtmfKeysAudio(t, "123#", 13, tc.on*ms, tc.off*ms, -12, 2)
			if got := detectInBand(t, pcm, frame); got != "123#" {
				t.Errorf("%s ms in frames of %d: detected %q, want 123#", tc.name, frame, got)
			}
		}
	}
	// A repeated key needs the pause between presses; one key changed for
	// another without a pause is a new press.
	for _, pause := range []int{40, 60, 100} {
		if got := detectInBand(t, dtmfKeysAudio(t, "5599", 0, 60*ms, pause*ms, -10, 0), FrameSamples); got != "5599" {
			t.Errorf("repeated keys %d ms apart: %q", pause, got)
		}
	}
	var pcm []int16
	for _, k := range "1212" {
		pcm = append(pcm, dtmfTone(t, k, 80*ms, -10, 0, 0)...)
	}
	if got := detectInBand(t, pcm, FrameSamples); got != "1212" {
		t.Errorf("keys without pauses: %q", got)
	}
}

// A press is reported once however long it lasts, also across an
// interruption of 10 ms (ITU-T Q.24), wherever it falls.
func TestInBandDTMFOncePerPress(t *testing.T) {
	for at := 300 * ms; at < 300*ms+dtmfBlock; at += 7 {
		pcm := dtmfTone(t, '7', 1000*ms, -15, 0, 0)
		clear(pcm[at : at+10*ms])
		clear(pcm[at+300*ms : at+310*ms])
		if got := detectInBand(t, pcm, FrameSamples); got != "7" {
			t.Errorf("a long press with interruptions at %d: %q", at, got)
		}
	}
}

// ITU-T Q.24: a tone of 40 ms must be recognised, one of 20 ms must not,
// wherever it falls in the detector's blocks.
func TestInBandDTMFDuration(t *testing.T) {
	for lead := 0; lead < dtmfBlock; lead += 3 {
		if got := detectInBand(t, dtmfKeysAudio(t, "1D", lead, 20*ms, 100*ms, -10, 0), FrameSamples); got != "" {
			t.Errorf("20 ms tones after %d samples detected as %q", lead, got)
		}
		if got := detectInBand(t, dtmfKeysAudio(t, "1D", lead, 40*ms, 100*ms, -10, 0), FrameSamples); got != "1D" {
			t.Errorf("40 ms tones after %d samples detected as %q, want 1D", lead, got)
		}
	}
}

func TestInBandDTMFTwistAndFrequency(t *testing.T) {
	for _, tc := range []struct {
		twist, dev float64
		want       string
	}{
		{0, 0, "9"},
		{6, 0, "9"},     // high group louder (normal twist)
		{-3, 0, "9"},    // low group louder (reverse twist)
		{12, 0, ""},     // beyond the normal twist
		{-8, 0, ""},     // beyond the reverse twist
		{2, 0.015, "9"}, // within ±1.5% of the nominal frequencies
		{2, -0.015, "9"},
	} {
		var pcm []int16
		pcm = append(pcm, dtmfTone(t, '9', 100*ms, -10, tc.twist, tc.dev)...)
		pcm = append(pcm, make([]int16, 100*ms)...)
		if got := detectInBand(t, pcm, FrameSamples); got != tc.want {
			t.Errorf("twist %v dB, deviation %v: detected %q, want %q", tc.twist, tc.dev, got, tc.want)
		}
	}
}

// gaussianNoise is n samples of white noise of the given RMS in dBFS.
func gaussianNoise(n int, rmsDB float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 7))
	sigma := 32767 * math.Pow(10, rmsDB/20)
	out := make([]int16, n)
	for i := range out {
		out[i] = clampInt16(r.NormFloat64() * sigma)
	}
	return out
}

func mix(a, b []int16) []int16 {
	out := make([]int16, max(len(a), len(b)))
	for i := range out {
		var v float64
		if i < len(a) {
			v += float64(a[i])
		}
		if i < len(b) {
			v += float64(b[i])
		}
		out[i] = clampInt16(v)
	}
	return out
}

func TestInBandDTMFNoise(t *testing.T) {
	for seed := range uint64(5) {
		if got := detectInBand(t, gaussianNoise(10*sampleRate, -15, seed), FrameSamples); got != "" {
			t.Errorf("white noise detected as %q", got)
		}
	}
	// Keys at -15 dBFS peak (each tone's RMS about -24 dBFS) in noise
	// 15 dB below them.
	keys := dtmfKeysAudio(t, "147*2580369#ABCD", 0, 80*ms, 80*ms, -15, 0)
	if got := detectInBand(t, mix(keys, gaussianNoise(len(keys), -36, 9)), FrameSamples); got != "147*2580369#ABCD" {
		t.Errorf("keys in noise detected as %q", got)
	}
}

// vowels are formant frequencies (F1, F2, F3) of English vowels.
var vowels = [][3]float64{{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480}, {570, 840, 2410}, {660, 1720, 2410}, {440, 1020, 2240}}

// speechLike is voiced speech as a source-filter model: harmonics of a
// gliding pitch shaped by a vowel's formants, 250 ms a vowel.
func speechLike(f0s []float64) []int16 {
	var out []int16
	phase := make([]float64, 40)
	for _, f0 := range f0s {
		for _, v := range vowels {
			seg := 250 * ms
			for i := range seg {
				pitch := f0 * (1 + 0.08*math.Sin(2*math.Pi*3*float64(i)/sampleRate)) // intonation
				var s float64
				for h := 1; h < len(phase) && float64(h)*pitch < 3800; h++ {
					f := float64(h) * pitch
					phase[h] += 2 * math.Pi * f / sampleRate
					amp := 1 / float64(h) // glottal roll-off
					for j, fm := range v {
						bw := 80 + 40*float64(j)
						amp *= 1 + 8/(1+((f-fm)/bw)*((f-fm)/bw))
					}
					s += amp * math.Sin(phase[h])
				}
				out = append(out, clampInt16(300*s))
			}
		}
	}
	return normalise(out, -6)
}

// normalise scales pcm to a peak of level dBFS.
func normalise(pcm []int16, level float64) []int16 {
	var peak float64
	for _, s := range pcm {
		peak = max(peak, math.Abs(float64(s)))
	}
	g := 32767 * math.Pow(10, level/20) / peak
	out := make([]int16, len(pcm))
	for i, s := range pcm {
		out[i] = clampInt16(float64(s) * g)
	}
	return out
}

// chords are triads of notes with harmonics, each 300 ms, over four
// octaves around the DTMF band.
func chords() []int16 {
	var out []int16
	for root := 48; root < 84; root++ {
		for _, shape := range [][3]int{{0, 4, 7}, {0, 3, 7}, {0, 5, 9}, {0, 4, 9}, {0, 7, 16}} {
			seg := make([]int16, 300*ms)
			for i := range seg {
				var s float64
				for _, n := range shape {
					f := midiFreq(root + n)
					for h := 1.0; h <= 4 && h*f < 3800; h++ {
						s += math.Sin(2*math.Pi*h*f*float64(i)/sampleRate) / (h * h)
					}
				}
				seg[i] = clampInt16(4000 * s)
			}
			out = append(out, seg...)
		}
	}
	return out
}

// Speech and music must not make digits.
func TestInBandDTMFTalkOff(t *testing.T) {
	moh := NewMusicOnHold().Samples()
	for _, tc := range []struct {
		name string
		pcm  []int16
	}{
		{"speech-like, low voice", speechLike([]float64{85, 100, 120, 140})},
		{"speech-like, high voice", speechLike([]float64{180, 210, 240, 270, 300})},
		{"music on hold", moh},
		{"music on hold, loud", normalise(moh, -1)},
		{"music on hold, quiet", normalise(moh, -30)},
		{"chords", chords()},
		{"speech and music", mix(speechLike([]float64{110, 220}), moh)},
	} {
		if got := detectInBand(t, tc.pcm, FrameSamples); got != "" {
			t.Errorf("%s (%.1f s): detected %q", tc.name, float64(len(tc.pcm))/sampleRate, got)
		}
	}
	// Keys over music 10 dB quieter are still heard.
	keys := dtmfKeysAudio(t, "0852", 0, 100*ms, 100*ms, -10, 0)
	if got := detectInBand(t, mix(keys, normalise(moh[:len(keys)], -20)), FrameSamples); got != "0852" {
		t.Errorf("keys over music detected as %q", got)
	}
}

func TestInBandDTMFNoAllocs(t *testing.T) {
	pcm := dtmfKeysAudio(t, "1", 0, 200*ms, 200*ms, -10, 0)
	d := InBandDTMFDetector{OnDigit: func(Digit) {}}
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		off := (i * FrameSamples) % (len(pcm) - FrameSamples)
		d.WriteAudio(pcm[off : off+FrameSamples])
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per frame, want 0", allocs)
	}
}

// BenchmarkInBandDTMF measures the detector on one 20 ms frame.
func BenchmarkInBandDTMF(b *testing.B) {
	pcm := dtmfKeysAudio(b, "159#", 0, 100*ms, 100*ms, -10, 0)
	frames := len(pcm) / FrameSamples
	d := InBandDTMFDetector{OnDigit: func(Digit) {}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		off := (i % frames) * FrameSamples
		d.WriteAudio(pcm[off : off+FrameSamples])
	}
}
