package pbxtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// In-band DTMF: keys sent as dual tones inside the audio, as phones set
// to "in-band" (or analogue gateways) do: each key sounds for inbandTone,
// then inbandGap of silence, in place of the phone's own tone.
const (
	inbandTone = 100 // ms
	inbandGap  = 100 // ms
	// inbandAmp is each of the two tones' amplitude, about -13 dBFS.
	inbandAmp = 7000.0
)

// dtmfFreqs are the row and column frequencies of each key.
var dtmfFreqs = map[rune][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
}

// inbandJob is audio for the sender to play in place of its tone.
type inbandJob struct {
	pcm  []int16
	pos  int
	done chan struct{}
}

// inbandPCM renders keys as dual tones and gaps at 8 kHz.
func inbandPCM(digits string) ([]int16, error) {
	var pcm []int16
	for _, r := range strings.ToUpper(digits) {
		f, ok := dtmfFreqs[r]
		if !ok {
			return nil, fmt.Errorf("not a DTMF key: %q", r)
		}
		for i := 0; i < inbandTone*sampleRate/1000; i++ {
			t := float64(i) / sampleRate
			pcm = append(pcm, int16(inbandAmp*(math.Sin(2*math.Pi*f[0]*t)+math.Sin(2*math.Pi*f[1]*t))))
		}
		pcm = append(pcm, make([]int16, inbandGap*sampleRate/1000)...)
	}
	return pcm, nil
}

// SendInbandDTMF presses the keys as in-band dual tones in the call's
// audio and returns when the last has sounded.
func (c *Call) SendInbandDTMF(ctx context.Context, digits string) error {
	pcm, err := inbandPCM(digits)
	if err != nil {
		return err
	}
	m := c.media
	if err := wait(ctx, m.started, "the call's media"); err != nil {
		return err
	}
	job := &inbandJob{pcm: pcm, done: make(chan struct{})}
	select {
	case m.inband <- job:
	case <-m.stopSend:
		return errors.New("the call's media stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	return wait(ctx, job.done, "in-band keys sent")
}

// frame encodes the job's next 20 ms into dst; false once it is over.
func (j *inbandJob) frame(dst []byte, pt uint8) bool {
	if j.pos >= len(j.pcm) {
		close(j.done)
		return false
	}
	for i := range dst[:frameSamples] {
		var s int16
		if j.pos < len(j.pcm) {
			s = j.pcm[j.pos]
		}
		j.pos++
		dst[i] = encode(s, pt)
	}
	return true
}
