package media

import (
	"errors"
	"io"
	"time"
)

// Rewinder is a Source that can start again from its beginning: what Loop
// needs to repeat it.
type Rewinder interface {
	Source
	// Rewind makes the next Read start from the beginning again.
	Rewind()
}

// PCMSource plays decoded 8 kHz mono audio once, then reports io.EOF. It
// reads from the slice it was given without copying it, so one decoded
// prompt can feed any number of calls, each through its own PCMSource.
type PCMSource struct {
	pcm []int16
	pos int
}

// NewPCMSource returns a Source that plays pcm (8 kHz mono) once. pcm must
// not be modified while it plays.
func NewPCMSource(pcm []int16) *PCMSource { return &PCMSource{pcm: pcm} }

// Read implements Source. It does not allocate.
func (s *PCMSource) Read(dst []int16) (int, error) {
	if s.pos >= len(s.pcm) {
		return 0, io.EOF
	}
	n := copy(dst, s.pcm[s.pos:])
	s.pos += n
	return n, nil
}

// Rewind implements Rewinder.
func (s *PCMSource) Rewind() { s.pos = 0 }

// silence is a Source of zero samples that ends after a number of samples.
type silence struct {
	total, left int
}

// Silence returns a Source of d of silence (rounded down to whole samples),
// for pauses between prompts.
func Silence(d time.Duration) Rewinder {
	n := max(0, durationSamples(d))
	return &silence{total: n, left: n}
}

func (s *silence) Read(dst []int16) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	n := min(len(dst), s.left)
	clear(dst[:n])
	s.left -= n
	return n, nil
}

func (s *silence) Rewind() { s.left = s.total }

// sequence plays its parts one after the other.
type sequence struct {
	parts []Source
	cur   int
}

// Concat returns a Source that plays srcs one after the other without a
// gap: a frame is filled from the next source when the previous one ends in
// the middle of it. An error other than io.EOF from a part is returned as
// it is, with the samples read before it. It implements Rewinder; Rewind
// rewinds the parts that are Rewinders (others stay where they are).
func Concat(srcs ...Source) Rewinder {
	return &sequence{parts: append([]Source(nil), srcs...)}
}

func (c *sequence) Read(dst []int16) (int, error) {
	n := 0
	for n < len(dst) && c.cur < len(c.parts) {
		m, err := c.parts[c.cur].Read(dst[n:])
		n += m
		switch {
		case errors.Is(err, io.EOF):
			c.cur++
		case err != nil:
			return n, err
		case m == 0:
			// A part that returns nothing without ending would spin the
			// loop; give the caller what there is.
			return n, nil
		}
	}
	if n == 0 && c.cur >= len(c.parts) {
		return 0, io.EOF
	}
	return n, nil
}

func (c *sequence) Rewind() {
	for _, p := range c.parts {
		if r, ok := p.(Rewinder); ok {
			r.Rewind()
		}
	}
	c.cur = 0
}

// loop repeats a Rewinder for ever.
type loop struct {
	src Rewinder
}

// Loop returns a Source that plays src again from its beginning each time
// it ends, seamlessly (the frame that holds the end also holds the new
// beginning), and so never ends itself, unless src holds no audio at all,
// in which case it ends at once with io.EOF. Errors other than io.EOF are
// passed on.
func Loop(src Rewinder) Source { return &loop{src: src} }

func (l *loop) Read(dst []int16) (int, error) {
	n := 0
	empty := false // src ended without a sample since its last rewind
	for n < len(dst) {
		m, err := l.src.Read(dst[n:])
		n += m
		if m > 0 {
			empty = false
		}
		switch {
		case errors.Is(err, io.EOF):
			if empty {
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			l.src.Rewind()
			empty = true
		case err != nil:
			return n, err
		case m == 0:
			return n, nil
		}
	}
	return n, nil
}

// durationSamples converts d to a number of 8 kHz samples, rounding down.
func durationSamples(d time.Duration) int {
	return int(d / (time.Second / clockRate))
}
