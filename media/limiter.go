package media

// The mixer's limiter: a static soft-knee curve instead of hard clipping.
// Below the knee (half of full scale, -6 dBFS) samples pass unchanged;
// above it the excess d is compressed to d·R/(R+d), R being the headroom
// left above the knee. The curve's slope is 1 at the knee (no corner to
// hear), falls smoothly, and approaches full scale without reaching it,
// so any sum of talkers maps to a distinct value below ±32767: no flat
// tops, no wrap-around. Two full-scale tones in phase peak at -1.2 dBFS.
const (
	limitKnee = 1 << 14
	limitRoom = 32767 - limitKnee
)

// limit converts one mixed sample to int16 through the curve.
func limit(x int32) int16 {
	switch {
	case x > limitKnee:
		d := int64(x - limitKnee)
		return int16(limitKnee + d*limitRoom/(limitRoom+d))
	case x < -limitKnee:
		d := int64(-x - limitKnee)
		return int16(-limitKnee - d*limitRoom/(limitRoom+d))
	}
	return int16(x)
}

// limitFrame writes the limited sum into dst.
func limitFrame(dst *[FrameSamples]int16, sum *[FrameSamples]int32) {
	for i, x := range sum {
		dst[i] = limit(x)
	}
}

// limitFrameMinus writes the limited sum less own into dst: the mix a
// talker hears, without themself.
func limitFrameMinus(dst *[FrameSamples]int16, sum *[FrameSamples]int32, own *[FrameSamples]int16) {
	for i, x := range sum {
		dst[i] = limit(x - int32(own[i]))
	}
}
