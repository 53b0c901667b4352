package media

import "math"

// Goertzel returns the power of freq (Hz) in pcm, 8 kHz linear samples,
// normalised by length, so that frequencies can be compared within one
// signal whatever its length: the tool for telling tones apart (a test's
// "who hears whom", in-band DTMF).
func Goertzel(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*freq/clockRate)
	var s1, s2 float64
	for _, x := range pcm {
		s := float64(x) + k*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return p / float64(len(pcm)*len(pcm))
}
