package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/zaf/g711"
)

// wavSpec describes a WAV file for makeWAV.
type wavSpec struct {
	tag        uint16
	channels   int
	rate       int
	bits       int
	extensible bool
	before     []byte // raw chunks between fmt and data
	dataSize   int    // -1: len(data)
}

func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func makeWAV(s wavSpec, data []byte) []byte {
	le := binary.LittleEndian
	align := s.channels * s.bits / 8
	var fmtc []byte
	tag := s.tag
	if s.extensible {
		tag = WAVFormatExtensible
	}
	fmtc = le.AppendUint16(fmtc, tag)
	fmtc = le.AppendUint16(fmtc, uint16(s.channels))
	fmtc = le.AppendUint32(fmtc, uint32(s.rate))
	fmtc = le.AppendUint32(fmtc, uint32(s.rate*align))
	fmtc = le.AppendUint16(fmtc, uint16(align))
	fmtc = le.AppendUint16(fmtc, uint16(s.bits))
	if s.extensible {
		fmtc = le.AppendUint16(fmtc, 22)
		fmtc = le.AppendUint16(fmtc, uint16(s.bits))
		fmtc = le.AppendUint32(fmtc, 0)
		fmtc = le.AppendUint16(fmtc, s.tag)
		fmtc = append(fmtc, extensibleGUIDTail...)
	}
	body := append([]byte("WAVE"), chunk("fmt ", fmtc)...)
	body = append(body, s.before...)
	d := chunk("data", data)
	if s.dataSize >= 0 {
		le.PutUint32(d[4:], uint32(s.dataSize))
	}
	body = append(body, d...)
	return append(append([]byte("RIFF"), le.AppendUint32(nil, uint32(len(body)))...), body...)
}

// encodeSamples encodes pcm (int16 units) per channel as the spec says,
// the same samples in every channel.
func encodeSamples(s wavSpec, pcm []int16) []byte {
	le := binary.LittleEndian
	var out []byte
	for _, v := range pcm {
		for range s.channels {
			switch {
			case s.tag == WAVFormatMuLaw:
				out = append(out, g711.EncodeUlawFrame(v))
			case s.tag == WAVFormatALaw:
				out = append(out, g711.EncodeAlawFrame(v))
			case s.tag == WAVFormatFloat && s.bits == 32:
				out = le.AppendUint32(out, math.Float32bits(float32(v)/32768))
			case s.tag == WAVFormatFloat:
				out = le.AppendUint64(out, math.Float64bits(float64(v)/32768))
			case s.bits == 8:
				out = append(out, byte(int(v)>>8+128))
			case s.bits == 16:
				out = le.AppendUint16(out, uint16(v))
			case s.bits == 24:
				u := uint32(int32(v) << 8)
				out = append(out, byte(u), byte(u>>8), byte(u>>16))
			case s.bits == 32:
				out = le.AppendUint32(out, uint32(int32(v)<<16))
			}
		}
	}
	return out
}

func TestReadWAVFormats(t *testing.T) {
	pcm := sineAt(1000, 12000, 8000, 0.25)
	list := chunk("LIST", []byte("INFOISFT\x05\x00\x00\x00pbx!!")) // odd size, padded
	cases := []struct {
		name string
		spec wavSpec
		tol  int // largest difference from pcm
	}{
		{"pcm16", wavSpec{tag: WAVFormatPCM, channels: 1, rate: 8000, bits: 16}, 0},
		{"pcm8", wavSpec{tag: WAVFormatPCM, channels: 1, rate: 8000, bits: 8}, 256},
		{"pcm24", wavSpec{tag: WAVFormatPCM, channels: 1, rate: 8000, bits: 24}, 0},
		{"pcm32", wavSpec{tag: WAVFormatPCM, channels: 1, rate: 8000, bits: 32}, 0},
		{"float32", wavSpec{tag: WAVFormatFloat, channels: 1, rate: 8000, bits: 32}, 0},
		{"float64", wavSpec{tag: WAVFormatFloat, channels: 1, rate: 8000, bits: 64}, 0},
		{"ulaw", wavSpec{tag: WAVFormatMuLaw, channels: 1, rate: 8000, bits: 8}, 400},
		{"alaw", wavSpec{tag: WAVFormatALaw, channels: 1, rate: 8000, bits: 8}, 400},
		{"stereo16", wavSpec{tag: WAVFormatPCM, channels: 2, rate: 8000, bits: 16}, 0},
		{"6 channels 24", wavSpec{tag: WAVFormatPCM, channels: 6, rate: 8000, bits: 24}, 0},
		{"extensible pcm24 stereo", wavSpec{tag: WAVFormatPCM, channels: 2, rate: 8000, bits: 24, extensible: true}, 0},
		{"extensible float", wavSpec{tag: WAVFormatFloat, channels: 1, rate: 8000, bits: 32, extensible: true}, 0},
		{"extensible ulaw", wavSpec{tag: WAVFormatMuLaw, channels: 1, rate: 8000, bits: 8, extensible: true}, 400},
		{"unknown chunks", wavSpec{tag: WAVFormatPCM, channels: 1, rate: 8000, bits: 16, before: list}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.dataSize = -1
			a, err := ReadWAV(bytes.NewReader(makeWAV(tc.spec, encodeSamples(tc.spec, pcm))))
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Samples) != len(pcm) {
				t.Fatalf("%d samples, want %d", len(a.Samples), len(pcm))
			}
			for i := range pcm {
				if d := abs(int(a.Samples[i]) - int(pcm[i])); d > tc.tol {
					t.Fatalf("sample %d = %d, want %d ± %d", i, a.Samples[i], pcm[i], tc.tol)
				}
			}
			want := WAVFormat{Encoding: tc.spec.tag, SampleRate: 8000, Channels: tc.spec.channels, BitsPerSample: tc.spec.bits}
			if a.Source != want {
				t.Errorf("Source = %+v, want %+v", a.Source, want)
			}
		})
	}
}

// TestReadWAVConverts checks the conversion to 8 kHz mono: a 44.1 kHz
// stereo file with the tone in one channel only comes out as the tone at
// half its level.
func TestReadWAVConverts(t *testing.T) {
	left := sineAt(1000, 16000, 44100, 0.5)
	var data []byte
	for _, v := range left {
		data = binary.LittleEndian.AppendUint16(data, uint16(v))
		data = binary.LittleEndian.AppendUint16(data, 0)
	}
	spec := wavSpec{tag: WAVFormatPCM, channels: 2, rate: 44100, bits: 16, dataSize: -1}
	a, err := ReadWAV(bytes.NewReader(makeWAV(spec, data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Samples) != 4000 || a.Duration().Milliseconds() != 500 {
		t.Fatalf("%d samples (%v), want 4000", len(a.Samples), a.Duration())
	}
	mid := a.Samples[400:3600]
	if got := db(energy(mid) / (8000 * 8000 / 2)); math.Abs(got) > 0.2 {
		t.Errorf("level %.2f dB from half the input's", got)
	}
	if r := db(Goertzel(mid, 1000) / Goertzel(mid, 1500)); r < 40 {
		t.Errorf("1 kHz only %.1f dB above 1.5 kHz", r)
	}
}

func TestReadWAVErrors(t *testing.T) {
	pcm16 := wavSpec{tag: WAVFormatPCM, channels: 1, rate: 8000, bits: 16, dataSize: -1}
	with := func(f func(*wavSpec)) wavSpec { s := pcm16; f(&s); return s }
	good := makeWAV(pcm16, make([]byte, 100))
	fmtOnly := good[:len(good)-108] // RIFF header and fmt chunk

	cases := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, ErrNotWAV},
		{"short", []byte("RIFF\x00\x00"), ErrNotWAV},
		{"not riff", append([]byte("RIFX"), good[4:]...), ErrNotWAV},
		{"not wave", append(append([]byte{}, good[:8]...), append([]byte("AVI "), good[12:]...)...), ErrNotWAV},
		{"no data chunk", fmtOnly, ErrNotWAV},
		{"data before fmt", append(append([]byte{}, good[:12]...), chunk("data", make([]byte, 4))...), ErrNotWAV},
		{"fmt too short", append(append([]byte{}, good[:12]...), chunk("fmt ", make([]byte, 8))...), ErrNotWAV},
		{"fmt cut short", good[:30], ErrNotWAV},
		{"unknown chunk cut short", append(append([]byte{}, fmtOnly...), "LIST\xff\x00\x00\x00abc"...), ErrNotWAV},
		{"adpcm", makeWAV(with(func(s *wavSpec) { s.tag = 2; s.bits = 4 }), nil), ErrUnsupportedWAV},
		{"12 bits", makeWAV(with(func(s *wavSpec) { s.bits = 12 }), nil), ErrUnsupportedWAV},
		{"16-bit ulaw", makeWAV(with(func(s *wavSpec) { s.tag = WAVFormatMuLaw }), nil), ErrUnsupportedWAV},
		{"no channels", makeWAV(with(func(s *wavSpec) { s.channels = 0 }), nil), ErrUnsupportedWAV},
		{"too many channels", makeWAV(with(func(s *wavSpec) { s.channels = 65 }), nil), ErrUnsupportedWAV},
		{"rate too low", makeWAV(with(func(s *wavSpec) { s.rate = 1000 }), nil), ErrUnsupportedWAV},
		{"rate too high", makeWAV(with(func(s *wavSpec) { s.rate = 384000 }), nil), ErrUnsupportedWAV},
		{"longer than an hour", makeWAV(with(func(s *wavSpec) { s.dataSize = 8000 * 2 * 3601 }), nil), ErrUnsupportedWAV},
		{"extensible other guid", func() []byte {
			b := makeWAV(with(func(s *wavSpec) { s.extensible = true }), nil)
			b[12+8+39] ^= 1
			return b
		}(), ErrUnsupportedWAV},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadWAV(bytes.NewReader(tc.input))
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadWAV = %v, %v; want %v", a, err, tc.want)
			}
		})
	}
}

func TestReadWAVCutShort(t *testing.T) {
	spec := wavSpec{tag: WAVFormatPCM, channels: 2, rate: 8000, bits: 16, dataSize: 4000}
	b := makeWAV(spec, make([]byte, 4000))
	for _, tc := range []struct {
		name  string
		input []byte
		want  int
	}{
		{"cut mid-frame", b[:len(b)-1001], 749},
		{"unknown size to the end", func() []byte {
			c := append([]byte{}, b...)
			binary.LittleEndian.PutUint32(c[40:], math.MaxUint32)
			return append(c, make([]byte, 400)...)
		}(), 1100},
	} {
		a, err := ReadWAV(bytes.NewReader(tc.input))
		if err != nil || len(a.Samples) != tc.want {
			t.Errorf("%s: %v samples, %v; want %d", tc.name, len(a.Samples), err, tc.want)
		}
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReadWAVReaderError(t *testing.T) {
	boom := errors.New("boom")
	b := makeWAV(wavSpec{tag: WAVFormatPCM, channels: 1, rate: 8000, bits: 16, dataSize: 1000}, nil)
	_, err := ReadWAV(io.MultiReader(bytes.NewReader(b), failingReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func TestWAVWriterRoundTrip(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/rec.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("junk")) // the writer starts where the file is
	w, err := NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	var sink AudioSink = w
	pcm := sineAt(440, 9000, 8000, 1.3)
	for i := 0; i < len(pcm); i += 237 {
		sink.WriteAudio(pcm[i:min(i+237, len(pcm))])
	}
	if d := w.Duration().Milliseconds(); d != 1300 {
		t.Errorf("Duration %d ms, want 1300", d)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	w.WriteAudio(pcm) // dropped

	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "junk" || len(b) != 4+44+2*len(pcm) {
		t.Fatalf("file of %d bytes, want %d after 4 of junk", len(b), 4+44+2*len(pcm))
	}
	b = b[4:]
	le := binary.LittleEndian
	if riff, data := le.Uint32(b[4:]), le.Uint32(b[40:]); int(riff) != len(b)-8 || int(data) != 2*len(pcm) {
		t.Fatalf("RIFF size %d, data size %d; want %d, %d", riff, data, len(b)-8, 2*len(pcm))
	}
	a, err := ReadWAV(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Samples, pcm) {
		t.Fatal("the recording reads back different")
	}
}

func TestWriteWAVRoundTrip(t *testing.T) {
	for _, pcm := range [][]int16{nil, sineAt(1000, 12000, 8000, 0.7)} {
		var buf bytes.Buffer
		if err := WriteWAV(&buf, pcm); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 44+2*len(pcm) {
			t.Errorf("%d bytes for %d samples", buf.Len(), len(pcm))
		}
		a, err := ReadWAV(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Samples, pcm) || a.Source != (WAVFormat{WAVFormatPCM, 8000, 1, 16}) {
			t.Errorf("read back %d samples of %+v, want %d of 8 kHz mono PCM", len(a.Samples), a.Source, len(pcm))
		}
	}
	if err := WriteWAV(failingWriter{}, sineAt(440, 100, 8000, 0.1)); err == nil {
		t.Error("WriteWAV hid a write error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWAVWriterEmptyAndNoAllocs(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/rec.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, FrameSamples)
	if a := testing.AllocsPerRun(200, func() { w.WriteAudio(frame) }); a != 0 {
		t.Errorf("%v allocations per WriteAudio", a)
	}
	w.Close()
	b, _ := os.ReadFile(f.Name())
	a, err := ReadWAV(bytes.NewReader(b))
	if err != nil || len(a.Samples) != 201*FrameSamples {
		t.Fatalf("read back %v, %v", a, err)
	}
}

func BenchmarkWAVWriter(b *testing.B) {
	f, err := os.Create(b.TempDir() + "/rec.wav")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, _ := NewWAVWriter(f)
	frame := sineAt(440, 9000, 8000, 0.02)
	b.ReportAllocs()
	for b.Loop() {
		w.WriteAudio(frame)
	}
	w.Close()
}

func FuzzReadWAV(f *testing.F) {
	pcm := sineAt(1000, 12000, 8000, 0.01)
	for _, s := range []wavSpec{
		{tag: WAVFormatPCM, channels: 1, rate: 8000, bits: 16, dataSize: -1},
		{tag: WAVFormatPCM, channels: 2, rate: 44100, bits: 24, dataSize: -1},
		{tag: WAVFormatPCM, channels: 1, rate: 11025, bits: 8, dataSize: -1},
		{tag: WAVFormatFloat, channels: 1, rate: 48000, bits: 32, dataSize: -1, extensible: true},
		{tag: WAVFormatMuLaw, channels: 1, rate: 8000, bits: 8, dataSize: -1},
		{tag: WAVFormatALaw, channels: 1, rate: 8000, bits: 8, dataSize: math.MaxUint32},
	} {
		f.Add(makeWAV(s, encodeSamples(s, pcm)))
	}
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadWAV(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrNotWAV) && !errors.Is(err, ErrUnsupportedWAV) {
				t.Fatalf("error %v is neither ErrNotWAV nor ErrUnsupportedWAV", err)
			}
			return
		}
		// The output can never be much longer than the input allows.
		if len(a.Samples) > len(b)*8000/MinSampleRate+1 {
			t.Fatalf("%d samples from %d bytes", len(a.Samples), len(b))
		}
	})
}
