package media

import (
	"math"
	"time"
)

// MusicOnHold is the built-in hold music: a royalty-free piece composed by
// this code (see render) and rendered once into memory when the value is
// made, so playing it costs a copy per frame. There is no package-level
// cache: the PBX makes one MusicOnHold at start-up, keeps it where its
// other media resources live, and asks it for a Source per held call. The
// samples are never written after NewMusicOnHold returns, so any number of
// goroutines may play them at once.
type MusicOnHold struct {
	loop []int16
}

// NewMusicOnHold renders the hold music: 20 s of a gentle, looping
// progression (C, Am, F, G, C, Em, F, G at 96 beats per minute), soft pads
// under an arpeggio, about -20 dBFS RMS, without a pause between notes, so
// a held caller hears the call is still there. It takes tens of
// milliseconds and 320 KB.
func NewMusicOnHold() *MusicOnHold {
	return &MusicOnHold{loop: renderMusicOnHold()}
}

// Duration is the length of one loop of the music.
func (m *MusicOnHold) Duration() time.Duration {
	return time.Duration(len(m.loop)) * time.Second / clockRate
}

// Samples is one loop of the music, 8 kHz mono. It is shared, not copied:
// the caller must not modify it.
func (m *MusicOnHold) Samples() []int16 { return m.loop }

// NewSource returns a Source that plays the music from its beginning,
// looping seamlessly for ever; it fades in over its first 20 ms so a
// caller put on hold does not hear a click. Its Read does not allocate.
func (m *MusicOnHold) NewSource() Source { return &mohPlayer{loop: m.loop} }

type mohPlayer struct {
	loop   []int16
	pos    int
	played int // samples played, up to mohFadeIn
}

// mohFadeIn is the fade at the start of each player (20 ms).
const mohFadeIn = FrameSamples

func (p *mohPlayer) Read(dst []int16) (int, error) {
	for n := 0; n < len(dst); {
		k := copy(dst[n:], p.loop[p.pos:])
		n += k
		if p.pos += k; p.pos == len(p.loop) {
			p.pos = 0
		}
	}
	for i := 0; i < len(dst) && p.played < mohFadeIn; i++ {
		dst[i] = int16(int(dst[i]) * p.played / mohFadeIn)
		p.played++
	}
	return len(dst), nil
}

// The composition. Times are in samples at 8 kHz; notes are MIDI numbers
// (60 is middle C, 261.6 Hz).
const (
	mohBeat   = 5000 // 0.625 s: 96 beats per minute
	mohBar    = 4 * mohBeat
	mohBars   = 8
	mohLength = mohBars * mohBar // 20 s

	mohLevel = 0.1 // RMS as a fraction of full scale: -20 dBFS
	mohPeak  = 0.5 // never above -6 dBFS
)

func midiFreq(note int) float64 { return 440 * math.Pow(2, float64(note-69)/12) }

// renderMusicOnHold composes the loop. Every note is added at its start
// modulo the loop length, so the tails of the last bar's notes sound over
// the first bar: the loop repeats as if the piece went on for ever, with no
// seam at the loop point.
func renderMusicOnHold() []int16 {
	// chords are the pad voicings, one per bar, kept close together (voice
	// leading) around middle C, where a telephone renders them well.
	chords := [mohBars][3]int{
		{60, 64, 67}, // C
		{60, 64, 69}, // Am
		{60, 65, 69}, // F
		{59, 62, 67}, // G
		{60, 64, 67}, // C
		{59, 64, 67}, // Em
		{60, 65, 69}, // F
		{59, 62, 67}, // G
	}

	// arpeggio picks, for each eighth note of a bar, a tone of the bar's
	// chord (index into the voicing, an octave up; 3 is the lowest an octave
	// further up).
	arpeggio := [8]int{0, 1, 2, 3, 2, 1, 2, 1}

	mix := make([]float64, mohLength)
	for bar, chord := range chords {
		start := bar * mohBar
		// Pads: the chord held for the bar, swelling in over 0.4 s and
		// dying away over 0.8 s into the next bar's.
		for _, note := range chord {
			addNote(mix, start, mohBar+6400, midiFreq(note), 0.16, []float64{1, 0.3}, 3200, 6400, 0)
		}
		// Arpeggio: a soft square (odd harmonics) an octave up, plucked:
		// a quick attack and a long exponential decay into the next notes.
		for i, pick := range arpeggio {
			note := chord[pick%3] + 12*(1+pick/3)
			addNote(mix, start+i*mohBeat/2, 9600, midiFreq(note), 0.2, []float64{1, 0, 0.25, 0, 0.08}, 40, 2400, 0.35)
		}
	}
	// Scale to the target level, keeping the peaks down.
	var sum, peak float64
	for _, v := range mix {
		sum += v * v
		peak = max(peak, math.Abs(v))
	}
	rms := math.Sqrt(sum / float64(len(mix)))
	scale := min(mohLevel/rms, mohPeak/peak) * math.MaxInt16
	out := make([]int16, len(mix))
	for i, v := range mix {
		out[i] = clampInt16(v * scale)
	}
	return out
}

// addNote adds a note of n samples at freq to mix from start on (wrapping
// around its end), with the given relative harmonic amplitudes (those at or
// above 3800 Hz left out, as they would alias), a linear attack and
// release (samples), and, when decay > 0, an exponential decay with that
// time constant in seconds.
func addNote(mix []float64, start, n int, freq, amp float64, harmonics []float64, attack, release int, decay float64) {
	for h, a := range harmonics {
		f := freq * float64(h+1)
		if a == 0 || f >= 3800 {
			continue
		}
		// A rotating phasor and a running decay factor: no math.Sin or
		// math.Exp per sample.
		w := 2 * math.Pi * f / clockRate
		c, sn := math.Cos(w), math.Sin(w)
		re, im := 1.0, 0.0
		fall, k := 1.0, 1.0
		if decay > 0 {
			k = math.Exp(-1 / (decay * clockRate))
		}
		for i := range n {
			env := fall
			if i < attack {
				env *= float64(i) / float64(attack)
			}
			if r := n - i; r < release {
				env *= float64(r) / float64(release)
			}
			mix[(start+i)%len(mix)] += amp * a * env * im
			re, im = re*c-im*sn, re*sn+im*c
			fall *= k
		}
	}
}
