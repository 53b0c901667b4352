package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/zaf/g711"
)

// Sentinel errors of the WAV reader and writer.
var (
	// ErrNotWAV means the input is not a well-formed RIFF/WAVE file.
	ErrNotWAV = errors.New("media: not a WAV file")

	// ErrUnsupportedWAV means a WAV file the reader does not decode (an
	// encoding other than PCM, float, µ-law or A-law; an odd sample size,
	// rate or channel count; more than MaxWAVDuration of audio), or a
	// recording too long for a WAV file's 32-bit sizes.
	ErrUnsupportedWAV = errors.New("media: unsupported WAV file")
)

// WAV format tags (the fmt chunk's wFormatTag) ReadWAV decodes.
const (
	WAVFormatPCM        uint16 = 1
	WAVFormatFloat      uint16 = 3
	WAVFormatALaw       uint16 = 6
	WAVFormatMuLaw      uint16 = 7
	WAVFormatExtensible uint16 = 0xFFFE
)

// Limits ReadWAV enforces before it decodes anything, so a hostile header
// cannot make it allocate or work for long.
const (
	// MaxWAVDuration is the longest audio ReadWAV accepts.
	MaxWAVDuration = 60 * time.Minute
	// MaxWAVChannels is the most channels ReadWAV accepts.
	MaxWAVChannels = 64
	// maxFmtChunk bounds the fmt chunk (40 bytes when extensible).
	maxFmtChunk = 1024
)

// WAVFormat describes the audio a WAV file held before ReadWAV converted it.
type WAVFormat struct {
	Encoding      uint16 // WAVFormatPCM, WAVFormatFloat, WAVFormatALaw or WAVFormatMuLaw
	SampleRate    int    // Hz
	Channels      int
	BitsPerSample int // per sample of one channel: 8, 16, 24, 32 or 64
}

// Audio is decoded audio ready to play: 8 kHz mono 16-bit PCM.
type Audio struct {
	Samples []int16   // 8 kHz mono
	Source  WAVFormat // what the file held
}

// Duration is the length of the audio.
func (a *Audio) Duration() time.Duration {
	return time.Duration(len(a.Samples)) * time.Second / clockRate
}

// NewSource returns a Source that plays the audio once; any number of
// them can play one Audio at the same time.
func (a *Audio) NewSource() *PCMSource { return NewPCMSource(a.Samples) }

// ReadWAV reads a RIFF/WAVE file and converts its audio to 8 kHz mono:
// channels are averaged, other rates resampled (see Resample). It reads
// integer PCM of 8 (unsigned), 16, 24 and 32 bits, IEEE float of 32 and 64
// bits, A-law and µ-law, plain or as WAVE_FORMAT_EXTENSIBLE, at
// MinSampleRate to MaxSampleRate, with up to MaxWAVChannels channels; it
// skips chunks it does not know and stops after the data chunk.
//
// A data chunk cut short (a recorder that crashed) is read as far as it
// goes, in whole sample frames; a data size of 0xFFFFFFFF (a stream whose
// writer never knew its size) means "to the end". Input that is not RIFF/WAVE
// or is malformed gives an error wrapping ErrNotWAV; what ReadWAV does not
// decode, or more than MaxWAVDuration of audio, one wrapping
// ErrUnsupportedWAV. Errors of r are returned wrapped.
func ReadWAV(r io.Reader) (*Audio, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotWAV, noEOF(err))
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
	}
	var (
		f       WAVFormat
		haveFmt bool
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: no data chunk", ErrNotWAV)
			}
			return nil, fmt.Errorf("media: reading WAV: %w", err)
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			var err error
			if f, err = readFmt(r, size); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			return readData(r, f, size)
		default:
			// Unknown chunk (LIST, fact, cue, ...): skip it and its pad byte.
			if _, err := io.CopyN(io.Discard, r, int64(size)+int64(size&1)); err != nil {
				return nil, fmt.Errorf("%w: chunk %q cut short: %w", ErrNotWAV, id, noEOF(err))
			}
		}
	}
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: inside a file, the end came
// too early.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// extensibleGUIDTail is the KSDATAFORMAT_SUBTYPE GUID after its first two
// bytes (the format tag): 00000000-0010-0080-00AA00389B71.
const extensibleGUIDTail = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71"

func readFmt(r io.Reader, size uint32) (WAVFormat, error) {
	if size < 16 || size > maxFmtChunk {
		return WAVFormat{}, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
	}
	var b [maxFmtChunk + 1]byte
	n := int(size) + int(size&1)
	if _, err := io.ReadFull(r, b[:n]); err != nil {
		return WAVFormat{}, fmt.Errorf("%w: fmt chunk cut short: %w", ErrNotWAV, noEOF(err))
	}
	le := binary.LittleEndian
	f := WAVFormat{
		Encoding:      le.Uint16(b[0:2]),
		Channels:      int(le.Uint16(b[2:4])),
		SampleRate:    int(le.Uint32(b[4:8])),
		BitsPerSample: int(le.Uint16(b[14:16])),
	}
	blockAlign := int(le.Uint16(b[12:14]))
	if f.Encoding == WAVFormatExtensible {
		if size < 40 || le.Uint16(b[16:18]) < 22 {
			return f, fmt.Errorf("%w: extensible fmt chunk of %d bytes", ErrNotWAV, size)
		}
		if string(b[26:40]) != extensibleGUIDTail {
			return f, fmt.Errorf("%w: extensible sub-format is not a standard one", ErrUnsupportedWAV)
		}
		f.Encoding = le.Uint16(b[24:26])
	}
	bits := map[uint16][]int{
		WAVFormatPCM:   {8, 16, 24, 32},
		WAVFormatFloat: {32, 64},
		WAVFormatALaw:  {8},
		WAVFormatMuLaw: {8},
	}[f.Encoding]
	switch {
	case bits == nil:
		return f, fmt.Errorf("%w: encoding %#x", ErrUnsupportedWAV, f.Encoding)
	case !containsInt(bits, f.BitsPerSample):
		return f, fmt.Errorf("%w: %d-bit samples in encoding %d", ErrUnsupportedWAV, f.BitsPerSample, f.Encoding)
	case f.Channels < 1 || f.Channels > MaxWAVChannels:
		return f, fmt.Errorf("%w: %d channels", ErrUnsupportedWAV, f.Channels)
	case f.SampleRate < MinSampleRate || f.SampleRate > MaxSampleRate:
		return f, fmt.Errorf("%w: %d Hz", ErrUnsupportedWAV, f.SampleRate)
	case blockAlign != f.Channels*f.BitsPerSample/8:
		return f, fmt.Errorf("%w: block align %d for %d channels of %d bits", ErrNotWAV, blockAlign, f.Channels, f.BitsPerSample)
	}
	return f, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// wavReadBlock is how much of the data chunk ReadWAV decodes at a time.
const wavReadBlock = 64 << 10

func readData(r io.Reader, f WAVFormat, size uint32) (*Audio, error) {
	frameBytes := f.Channels * f.BitsPerSample / 8
	maxFrames := int64(MaxWAVDuration/time.Second) * int64(f.SampleRate)
	limit := int64(size)
	if size == math.MaxUint32 {
		limit = math.MaxInt64 // unknown size: to the end
	} else if limit/int64(frameBytes) > maxFrames {
		return nil, fmt.Errorf("%w: %d bytes of audio is longer than %v", ErrUnsupportedWAV, size, MaxWAVDuration)
	}
	rs, err := newResampler(f.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedWAV, err)
	}
	decode := sampleDecoder(f)
	width := f.BitsPerSample / 8
	scale := 1 / float32(f.Channels)

	raw := make([]byte, wavReadBlock-wavReadBlock%frameBytes)
	mono := make([]float32, len(raw)/frameBytes)
	var frames int64
	for limit > 0 {
		n, err := io.ReadFull(r, raw[:min(int64(len(raw)), limit)])
		limit -= int64(n)
		n -= n % frameBytes // only at the end: raw holds whole frames
		m := n / frameBytes
		if frames += int64(m); frames > maxFrames {
			return nil, fmt.Errorf("%w: longer than %v", ErrUnsupportedWAV, MaxWAVDuration)
		}
		for i := range m {
			frame := raw[i*frameBytes : (i+1)*frameBytes]
			var sum float32
			for c := range f.Channels {
				sum += decode(frame[c*width : (c+1)*width])
			}
			mono[i] = sum * scale
		}
		rs.write(mono[:m])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break // the data chunk was cut short: keep what came
		}
		if err != nil {
			return nil, fmt.Errorf("media: reading WAV data: %w", err)
		}
	}
	rs.flush()
	return &Audio{Samples: rs.out, Source: f}, nil
}

// sampleDecoder returns the function that converts one sample of f to a
// float in int16 units (full scale ±32768).
func sampleDecoder(f WAVFormat) func(b []byte) float32 {
	le := binary.LittleEndian
	switch f.Encoding {
	case WAVFormatALaw:
		return func(b []byte) float32 { return float32(g711.DecodeAlawFrame(b[0])) }
	case WAVFormatMuLaw:
		return func(b []byte) float32 { return float32(g711.DecodeUlawFrame(b[0])) }
	case WAVFormatFloat:
		if f.BitsPerSample == 64 {
			return func(b []byte) float32 { return floatSample(math.Float64frombits(le.Uint64(b))) }
		}
		return func(b []byte) float32 { return floatSample(float64(math.Float32frombits(le.Uint32(b)))) }
	}
	switch f.BitsPerSample {
	case 8: // unsigned, 128 is silence
		return func(b []byte) float32 { return float32(int(b[0])-128) * 256 }
	case 16:
		return func(b []byte) float32 { return float32(int16(le.Uint16(b))) }
	case 24:
		return func(b []byte) float32 {
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float32(v) / 256
		}
	default: // 32
		return func(b []byte) float32 { return float32(int32(le.Uint32(b))) / 65536 }
	}
}

// floatSample scales a float sample (full scale ±1) to int16 units,
// clipping and turning NaN into silence.
func floatSample(v float64) float32 {
	switch {
	case v != v:
		return 0
	case v > 1:
		v = 1
	case v < -1:
		v = -1
	}
	return float32(v * 32768)
}

// wavHeaderSize is the size of the canonical header WAVWriter writes.
const wavHeaderSize = 44

// maxWAVData is the most audio a WAV file's 32-bit RIFF size can hold.
const maxWAVData = math.MaxUint32 - (wavHeaderSize - 8)

// WAVWriter records 8 kHz mono 16-bit PCM into a WAV file: the AudioSink of
// a call recording. It buffers its writes and fills in the RIFF sizes when
// closed, so the file is complete only after Close. It is safe to close
// from another goroutine than the one calling WriteAudio.
type WAVWriter struct {
	mu     sync.Mutex
	ws     io.WriteSeeker
	bw     *bufio.Writer
	start  int64 // offset of the header in ws
	n      int64 // bytes of audio written
	err    error // first error; later writes are dropped
	closed bool
	buf    [512]byte
}

// NewWAVWriter writes a WAV header at the current offset of ws and returns
// a writer for the audio that follows. It does not close ws.
func NewWAVWriter(ws io.WriteSeeker) (*WAVWriter, error) {
	start, err := ws.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("media: WAV writer: %w", err)
	}
	w := &WAVWriter{ws: ws, bw: bufio.NewWriterSize(ws, 32<<10), start: start}
	if _, err := w.bw.Write(wavHeader(0)); err != nil {
		return nil, fmt.Errorf("media: WAV writer: %w", err)
	}
	return w, nil
}

// wavHeader is the canonical 44-byte header of 8 kHz mono 16-bit PCM with
// dataSize bytes of audio.
func wavHeader(dataSize uint32) []byte {
	h := make([]byte, 0, wavHeaderSize)
	le := binary.LittleEndian
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, dataSize+wavHeaderSize-8)
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 16)
	h = le.AppendUint16(h, WAVFormatPCM)
	h = le.AppendUint16(h, 1)           // channels
	h = le.AppendUint32(h, clockRate)   // sample rate
	h = le.AppendUint32(h, clockRate*2) // byte rate
	h = le.AppendUint16(h, 2)           // block align
	h = le.AppendUint16(h, 16)          // bits per sample
	h = append(h, "data"...)
	return le.AppendUint32(h, dataSize)
}

// WriteWAV writes pcm (8 kHz mono) to w as a complete WAV file in the
// canonical format WAVWriter records: a 44-byte header and 16-bit PCM. For
// audio already in memory (a converted upload) where WAVWriter, which
// seeks back to fill in the sizes, needs a file.
func WriteWAV(w io.Writer, pcm []int16) error {
	if int64(2*len(pcm)) > maxWAVData {
		return fmt.Errorf("%w: audio longer than a WAV file holds", ErrUnsupportedWAV)
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.Write(wavHeader(uint32(2 * len(pcm))))
	var b [2]byte
	for _, s := range pcm {
		binary.LittleEndian.PutUint16(b[:], uint16(s))
		bw.Write(b[:])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("media: writing WAV: %w", err)
	}
	return nil
}

// WriteAudio implements AudioSink: it appends pcm to the recording. It does
// not allocate; a write error is kept for Close to return, and audio after
// an error, after Close, or beyond the 4 GiB a WAV file holds is dropped.
func (w *WAVWriter) WriteAudio(pcm []int16) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.err != nil {
		return
	}
	if w.n+int64(2*len(pcm)) > maxWAVData {
		w.err = fmt.Errorf("%w: recording longer than a WAV file holds", ErrUnsupportedWAV)
		return
	}
	for len(pcm) > 0 {
		k := min(len(pcm), len(w.buf)/2)
		for i, s := range pcm[:k] {
			binary.LittleEndian.PutUint16(w.buf[2*i:], uint16(s))
		}
		if _, err := w.bw.Write(w.buf[:2*k]); err != nil {
			w.err = fmt.Errorf("media: WAV writer: %w", err)
			return
		}
		w.n += int64(2 * k)
		pcm = pcm[k:]
	}
}

// Duration is the length of the audio written so far.
func (w *WAVWriter) Duration() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Duration(w.n/2) * time.Second / clockRate
}

// Close flushes the audio, writes the sizes into the header and leaves ws
// positioned at the end of the file. It returns the first error of the
// recording, if any. Calling it again does nothing and returns nil.
func (w *WAVWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.bw.Flush(); err != nil && w.err == nil {
		w.err = fmt.Errorf("media: WAV writer: %w", err)
	}
	if _, err := w.ws.Seek(w.start, io.SeekStart); err != nil {
		return errors.Join(w.err, fmt.Errorf("media: WAV writer: %w", err))
	}
	if _, err := w.ws.Write(wavHeader(uint32(w.n))); err != nil {
		return errors.Join(w.err, fmt.Errorf("media: WAV writer: %w", err))
	}
	if _, err := w.ws.Seek(w.start+wavHeaderSize+w.n, io.SeekStart); err != nil {
		return errors.Join(w.err, fmt.Errorf("media: WAV writer: %w", err))
	}
	return w.err
}
