package media

import (
	"math"

	"github.com/zaf/g711"
)

// Signal helpers shared by the tests: a sine generator and the Goertzel
// algorithm to measure the energy of one frequency in received audio.

const sampleRate = 8000

// sine returns n samples of a sine at freq Hz and the given amplitude,
// starting at sample offset start (so frames can be generated in sequence).
func sine(freq, amp float64, start, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(start+i)/sampleRate))
	}
	return out
}

func encodeUlaw(pcm []int16) []byte {
	out := make([]byte, len(pcm))
	for i, s := range pcm {
		out[i] = g711.EncodeUlawFrame(s)
	}
	return out
}

func encodeAlaw(pcm []int16) []byte {
	out := make([]byte, len(pcm))
	for i, s := range pcm {
		out[i] = g711.EncodeAlawFrame(s)
	}
	return out
}

func decodeAlaw(b []byte) []int16 {
	out := make([]int16, len(b))
	for i, c := range b {
		out[i] = g711.DecodeAlawFrame(c)
	}
	return out
}

func decodeUlaw(b []byte) []int16 {
	out := make([]int16, len(b))
	for i, c := range b {
		out[i] = g711.DecodeUlawFrame(c)
	}
	return out
}

// energy is the mean square of the samples.
func energy(pcm []int16) float64 {
	var e float64
	for _, s := range pcm {
		e += float64(s) * float64(s)
	}
	return e / float64(len(pcm))
}

func db(ratio float64) float64 { return 10 * math.Log10(ratio) }
