package media

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/zaf/g711"
)

// levels returns the sorted set of values a law's 256 codes decode to.
func levels(decode func(uint8) int16) []int {
	var out []int
	for i := 0; i < 256; i++ {
		out = append(out, int(decode(uint8(i))))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// step returns the width of the quantisation interval of levels that v
// falls in: the largest error a correct re-encoding may make.
func step(levels []int, v int) int {
	i, _ := slices.BinarySearch(levels, v)
	i = min(i, len(levels)-1)
	lo, hi := max(i-1, 0), min(i+1, len(levels)-1)
	return max(levels[i]-levels[lo], levels[hi]-levels[i])
}

func TestTranscodeAllCodesWithinQuantisation(t *testing.T) {
	alawLevels := levels(g711.DecodeAlawFrame)
	ulawLevels := levels(g711.DecodeUlawFrame)
	var buf [1]byte
	for c := 0; c < 256; c++ {
		in := int(g711.DecodeUlawFrame(uint8(c)))
		UlawToAlaw(buf[:], []byte{byte(c)})
		out := int(g711.DecodeAlawFrame(buf[0]))
		if d := abs(out - in); d > step(alawLevels, in) {
			t.Errorf("µ-law %#02x (%d) -> A-law %#02x (%d): error %d > step %d", c, in, buf[0], out, d, step(alawLevels, in))
		}

		in = int(g711.DecodeAlawFrame(uint8(c)))
		AlawToUlaw(buf[:], []byte{byte(c)})
		out = int(g711.DecodeUlawFrame(buf[0]))
		if d := abs(out - in); d > step(ulawLevels, in) {
			t.Errorf("A-law %#02x (%d) -> µ-law %#02x (%d): error %d > step %d", c, in, buf[0], out, d, step(ulawLevels, in))
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestTranscodeSineEnergy(t *testing.T) {
	for _, amp := range []float64{300, 3000, 16000, 30000} {
		pcm := sine(1000, amp, 0, 8000)
		ulaw := encodeUlaw(pcm)
		if err := Transcode(ulaw, PayloadPCMU, PayloadPCMA); err != nil {
			t.Fatal(err)
		}
		got := decodeAlaw(ulaw)
		if d := db(energy(got) / energy(pcm)); math.Abs(d) > 1 {
			t.Errorf("amp %.0f: energy changed by %.2f dB", amp, d)
		}
		if r := db(Goertzel(got, 1000) / Goertzel(got, 1633)); r < 30 {
			t.Errorf("amp %.0f: 1 kHz only %.1f dB above 1633 Hz", amp, r)
		}
		// And back again.
		if err := Transcode(ulaw, PayloadPCMA, PayloadPCMU); err != nil {
			t.Fatal(err)
		}
		if d := db(energy(decodeUlaw(ulaw)) / energy(pcm)); math.Abs(d) > 1 {
			t.Errorf("amp %.0f: round trip energy changed by %.2f dB", amp, d)
		}
	}
}

func TestTranscodeTypes(t *testing.T) {
	tests := []struct {
		from, to uint8
		wantErr  bool
	}{
		{PayloadPCMU, PayloadPCMA, false},
		{PayloadPCMA, PayloadPCMU, false},
		{PayloadPCMU, PayloadPCMU, false},
		{PayloadPCMA, PayloadPCMA, false},
		{PayloadPCMU, 9, true},
		{101, 101, true},
	}
	for _, tt := range tests {
		err := Transcode([]byte{0xff, 0x7f}, tt.from, tt.to)
		if got := errors.Is(err, ErrUnsupportedCodec); got != tt.wantErr {
			t.Errorf("Transcode(%d->%d) err = %v", tt.from, tt.to, err)
		}
	}
}

func TestTranscodeIntoShorterBuffer(t *testing.T) {
	dst := make([]byte, 2)
	if n := UlawToAlaw(dst, []byte{1, 2, 3}); n != 2 {
		t.Fatalf("n = %d, want 2", n)
	}
}

func TestTranscodeNoAllocs(t *testing.T) {
	p := encodeUlaw(sine(1000, 8000, 0, 160))
	allocs := testing.AllocsPerRun(100, func() {
		_ = Transcode(p, PayloadPCMU, PayloadPCMA)
		_ = Transcode(p, PayloadPCMA, PayloadPCMU)
	})
	if allocs != 0 {
		t.Fatalf("allocs = %v, want 0", allocs)
	}
}

func BenchmarkUlawToAlaw(b *testing.B) {
	p := encodeUlaw(sine(1000, 8000, 0, 160))
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		UlawToAlaw(p, p)
	}
}

func TestGoertzelPicksTheTone(t *testing.T) {
	if Goertzel(nil, 1000) != 0 {
		t.Fatal("empty signal has power")
	}
	pcm := make([]int16, 800)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	if on, off := Goertzel(pcm, 440), Goertzel(pcm, 1000); on < 1000*off {
		t.Fatalf("440 Hz tone: %.0f at 440 Hz, %.0f at 1000 Hz", on, off)
	}
}
