package pbxtest

import (
	"math"

	"github.com/zaf/g711"
)

// Audio helpers: a tone generator, G.711 and the Goertzel algorithm, to
// tell which tone a phone hears.

const (
	sampleRate   = 8000
	frameSamples = 160 // 20 ms
	toneAmp      = 8000.0
	// heardWindow is how much of the latest received audio Heard measures.
	heardWindow = sampleRate / 2
)

// Payload types of the two G.711 laws.
const (
	PCMU uint8 = 0
	PCMA uint8 = 8
)

// tone generates a continuous sine, frame after frame.
type tone struct {
	freq float64
	n    int
}

// frame encodes the next 20 ms of the tone with codec pt into dst.
func (t *tone) frame(dst []byte, pt uint8) {
	for i := range dst[:frameSamples] {
		s := int16(toneAmp * math.Sin(2*math.Pi*t.freq*float64(t.n)/sampleRate))
		t.n++
		dst[i] = encode(s, pt)
	}
}

// encode is one sample in G.711 law pt.
func encode(s int16, pt uint8) byte {
	if pt == PCMA {
		return g711.EncodeAlawFrame(s)
	}
	return g711.EncodeUlawFrame(s)
}

// decode appends the PCM samples of a G.711 payload.
func decode(dst []int16, payload []byte, pt uint8) []int16 {
	for _, b := range payload {
		if pt == PCMA {
			dst = append(dst, g711.DecodeAlawFrame(b))
		} else {
			dst = append(dst, g711.DecodeUlawFrame(b))
		}
	}
	return dst
}
