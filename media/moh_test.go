package media

import (
	"math"
	"slices"
	"testing"
)

func TestMusicOnHoldLevel(t *testing.T) {
	loop := NewMusicOnHold().loop
	if len(loop) != mohLength {
		t.Fatalf("%d samples, want %d", len(loop), mohLength)
	}
	fullScale := float64(math.MaxInt16) * math.MaxInt16
	if got := db(energy(loop) / fullScale); got < -24 || got > -17 {
		t.Errorf("level %.1f dBFS, want about -20", got)
	}
	peak := 0
	for _, s := range loop {
		peak = max(peak, abs(int(s)))
	}
	if got := 20 * math.Log10(float64(peak)/math.MaxInt16); got > -3 {
		t.Errorf("peak %.1f dBFS, want below -3", got)
	}
	// No pause: every 100 ms, around the loop point too, holds sound
	// well above the noise of a G.711 line (-60 dBFS and below).
	const window = 800
	wrapped := append(slices.Clone(loop), loop[:window]...)
	for i := 0; i < len(loop); i += window / 2 {
		if got := db(energy(wrapped[i:i+window]) / fullScale); got < -40 {
			t.Fatalf("100 ms from %.2f s at %.1f dBFS: a pause", float64(i)/8000, got)
		}
	}
}

// TestMusicOnHoldIsMusic checks the energy is in the notes being played: in
// the first bar (C major) the arpeggio's C, E and G stand far above the
// semitones between them and above the top of the band.
func TestMusicOnHoldIsMusic(t *testing.T) {
	bar := NewMusicOnHold().loop[mohBeat : mohBar-mohBeat]
	for _, note := range []int{72, 76, 79} {
		for _, other := range []int{73, 75, 78, 80} {
			if r := db(Goertzel(bar, midiFreq(note)) / Goertzel(bar, midiFreq(other))); r < 15 {
				t.Errorf("note %d only %.1f dB above %d", note, r, other)
			}
		}
		if r := db(Goertzel(bar, midiFreq(note)) / Goertzel(bar, 3500)); r < 30 {
			t.Errorf("note %d only %.1f dB above 3500 Hz", note, r)
		}
	}
}

// TestMusicOnHoldLoopsWithoutClick compares the step across the loop point
// with the steps inside the music.
func TestMusicOnHoldLoopsWithoutClick(t *testing.T) {
	loop := NewMusicOnHold().loop
	steps := make([]int, 0, len(loop))
	for i := 1; i < len(loop); i++ {
		steps = append(steps, abs(int(loop[i])-int(loop[i-1])))
	}
	slices.Sort(steps)
	p99 := steps[len(steps)*99/100]
	if seam := abs(int(loop[0]) - int(loop[len(loop)-1])); seam > p99 {
		t.Fatalf("step of %d at the loop point; 99%% of steps in the music are at most %d", seam, p99)
	}
}

func TestMusicOnHoldPlayers(t *testing.T) {
	moh := NewMusicOnHold()
	if d := moh.Duration().Seconds(); d != 20 {
		t.Errorf("Duration %v s, want 20", d)
	}
	a, b := moh.NewSource(), moh.NewSource()
	got := readAll(t, a, 333, 2*mohLength+5000) // never ends
	want := slices.Concat(moh.loop, moh.loop, moh.loop)[:len(got)]
	for i := range mohFadeIn {
		want[i] = int16(int(want[i]) * i / mohFadeIn)
	}
	if !slices.Equal(got, want) {
		t.Fatal("a player does not play the loop, looped, after its fade-in")
	}
	// Players are independent: b starts from the beginning.
	if first := readAll(t, b, FrameSamples, FrameSamples); !slices.Equal(first, want[:FrameSamples]) {
		t.Fatal("second player does not start at the beginning")
	}
	buf := make([]int16, FrameSamples)
	if n := testing.AllocsPerRun(500, func() { a.Read(buf) }); n != 0 {
		t.Errorf("%v allocations per Read", n)
	}
}

func BenchmarkMusicOnHoldRender(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewMusicOnHold()
	}
}

func BenchmarkMusicOnHoldRead(b *testing.B) {
	src := NewMusicOnHold().NewSource()
	buf := make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		src.Read(buf)
	}
}
