package media

// FrameSamples is the number of samples in one 20 ms frame at 8 kHz: the
// packetisation every phone we serve uses for G.711.
const FrameSamples = 160

// Source is audio the PBX plays into a call (a prompt, a tone, music on
// hold): 8 kHz mono 16-bit linear PCM, read one 20 ms frame at a time by a
// paced player.
type Source interface {
	// Read fills dst (normally FrameSamples long) and returns how many
	// samples it wrote. It returns io.EOF once the audio has ended (with
	// n == 0, or with the last partial frame and a nil error first). A
	// Source that never ends (music on hold, a dial tone) never returns
	// io.EOF.
	Read(dst []int16) (n int, err error)
}

// AudioSink receives the decoded audio a phone sends (a recorder, a
// conference mixer, a speech detector): 8 kHz mono linear PCM in frames of
// whatever size the phone packetises. WriteAudio is called on the media
// goroutine of the endpoint, so it must not block; it must not keep pcm
// after it returns.
type AudioSink interface {
	WriteAudio(pcm []int16)
}
