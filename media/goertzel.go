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

// In-band DTMF detection: the parameters.
const (
	// dtmfBlock is the Goertzel block: 102 samples (12.75 ms) resolve
	// the closest pair of DTMF frequencies (697 and 770 Hz: a tone at one
	// is 22 dB down at the other).
	dtmfBlock = 102
	// dtmfHop is how far apart blocks start: two banks of filters run
	// half a block apart, so a decision comes every 6.4 ms and a tone's
	// duration is measured to that.
	dtmfHop = dtmfBlock / 2
	// dtmfMinRun is how many consecutive blocks must hear the same key
	// before it is reported: 3 hops and a block, 255 samples (32 ms). A
	// 40 ms tone always fills four blocks; a 20 ms tone never fills more
	// than three (ITU-T Q.24: operate at 40 ms, not below 20 ms).
	dtmfMinRun = 4
	// dtmfRearm is how many consecutive blocks without the key re-arm
	// the detector for the same key. A 40 ms pause spoils at least seven
	// blocks, a 10 ms interruption at most three (Q.24: the first separates
	// two presses, the second must not).
	dtmfRearm = 5
)

// Thresholds of a block's decision, as power ratios.
var (
	// dtmfMinPower is the Goertzel power of a sine of peak amplitude
	// 260 (-42 dBFS, about -39 dBm0) over a block: quieter tones are not
	// keys.
	dtmfMinPower = sq(260 * dtmfBlock / 2)
	// A key's high-group tone may be up to 8 dB louder than its low-group
	// tone (normal twist, as phones send it, to make up for the line's
	// loss of highs), the low group up to 4 dB louder (reverse twist).
	dtmfNormalTwist  = dbPower(8)
	dtmfReverseTwist = dbPower(4)
	// Each tone must be 8 dB above the other frequencies of its group.
	dtmfRelativePeak = dbPower(8)
	// The two tones must carry 60% of the block's energy: speech and
	// music spread theirs over many frequencies.
	dtmfMinShare = float32(0.6)
)

func sq(x float32) float32 { return x * x }

func dbPower(db float64) float32 { return float32(math.Pow(10, db/10)) }

// dtmfFreqs are the DTMF frequencies: rows (low group), then columns.
var dtmfFreqs = [8]float64{697, 770, 852, 941, 1209, 1336, 1477, 1633}

// dtmfCoefs are the Goertzel coefficients of dtmfFreqs: built at init,
// never written afterwards.
var dtmfCoefs = func() (c [8]float32) {
	for i, f := range dtmfFreqs {
		c[i] = float32(2 * math.Cos(2*math.Pi*f/clockRate))
	}
	return c
}()

// dtmfKeys are the event codes of the keypad by row and column (RFC 4733:
// 10 is '*', 11 '#', 12-15 'A'-'D').
var dtmfKeys = [4][4]uint8{
	{1, 2, 3, 12},
	{4, 5, 6, 13},
	{7, 8, 9, 14},
	{10, 0, 11, 15},
}

// InBandDTMFDetector finds DTMF key presses in audio: for phones and
// gateways that send their keys as tones in the audio rather than as RFC
// 4733 events. It is an AudioSink of 8 kHz linear PCM, in frames of any
// size.
//
// Goertzel filters at the eight DTMF frequencies run over blocks of 102
// samples, two banks half a block apart. A block hears a key when its
// strongest row and column tones are both above about -42 dBFS, within
// the twist limits (high group up to 8 dB louder, low group up to 4 dB),
// each 8 dB above the other frequencies of its group, and together carry
// at least 60% of the block's energy, which rejects speech and music. A
// key is reported once, when four consecutive blocks (32 ms) have heard
// it, so presses of 40 ms or more are reported and tones of 20 ms or less
// are not. The same key is reported again only after three blocks without
// it (a pause of 40 ms does; an interruption of 10 ms does not); a different
// key is reported as soon as it has lasted.
//
// An InBandDTMFDetector is not safe for concurrent use. Its zero value is
// ready once OnDigit is set; WriteAudio does not allocate.
type InBandDTMFDetector struct {
	// OnDigit receives each press, on the caller's goroutine, with InBand
	// set and Duration the samples heard when it was reported (the press
	// goes on).
	OnDigit func(Digit)

	banks    [2]goertzelBank
	started  bool  // banks[1] has been offset by half a block
	cand     uint8 // key+1 the last blocks heard, 0 for none
	run      int   // consecutive blocks that heard cand
	reported uint8 // key+1 reported and not yet released, 0 for none
	misses   int   // consecutive blocks without reported
}

// goertzelBank is one block's filters in progress.
type goertzelBank struct {
	s1, s2 [8]float32
	energy float32
	n      int // samples in the block so far
}

// WriteAudio implements AudioSink: it runs pcm through the detector,
// calling OnDigit for each press found.
func (d *InBandDTMFDetector) WriteAudio(pcm []int16) {
	if !d.started {
		d.started = true
		d.banks[1].n = dtmfHop // its first block is a half, then in step
	}
	for len(pcm) > 0 {
		m := min(len(pcm), dtmfBlock-d.banks[0].n, dtmfBlock-d.banks[1].n)
		d.banks[0].feed(pcm[:m])
		d.banks[1].feed(pcm[:m])
		pcm = pcm[m:]
		for i := range d.banks {
			if b := &d.banks[i]; b.n == dtmfBlock {
				d.decide(b.key())
				*b = goertzelBank{}
			}
		}
	}
}

// Reset forgets the audio so far (a new stream).
func (d *InBandDTMFDetector) Reset() {
	*d = InBandDTMFDetector{OnDigit: d.OnDigit}
}

func (b *goertzelBank) feed(pcm []int16) {
	// The eight filters as scalars, so that they stay in registers: twice
	// as fast as loops over the arrays.
	c := &dtmfCoefs
	c0, c1, c2, c3, c4, c5, c6, c7 := c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
	a0, a1, a2, a3, a4, a5, a6, a7 := b.s1[0], b.s1[1], b.s1[2], b.s1[3], b.s1[4], b.s1[5], b.s1[6], b.s1[7]
	z0, z1, z2, z3, z4, z5, z6, z7 := b.s2[0], b.s2[1], b.s2[2], b.s2[3], b.s2[4], b.s2[5], b.s2[6], b.s2[7]
	e := b.energy
	for _, v := range pcm {
		x := float32(v)
		e += x * x
		a0, z0 = x+c0*a0-z0, a0
		a1, z1 = x+c1*a1-z1, a1
		a2, z2 = x+c2*a2-z2, a2
		a3, z3 = x+c3*a3-z3, a3
		a4, z4 = x+c4*a4-z4, a4
		a5, z5 = x+c5*a5-z5, a5
		a6, z6 = x+c6*a6-z6, a6
		a7, z7 = x+c7*a7-z7, a7
	}
	b.s1 = [8]float32{a0, a1, a2, a3, a4, a5, a6, a7}
	b.s2 = [8]float32{z0, z1, z2, z3, z4, z5, z6, z7}
	b.energy = e
	b.n += len(pcm)
}

// key decides what a full block heard: a key's event code + 1, or 0.
func (b *goertzelBank) key() uint8 {
	var p [8]float32
	for k := range p {
		p[k] = b.s1[k]*b.s1[k] + b.s2[k]*b.s2[k] - dtmfCoefs[k]*b.s1[k]*b.s2[k]
	}
	row, col := 0, 4
	for k := 1; k < 4; k++ {
		if p[k] > p[row] {
			row = k
		}
		if p[k+4] > p[col] {
			col = k + 4
		}
	}
	pr, pc := p[row], p[col]
	switch {
	case pr < dtmfMinPower || pc < dtmfMinPower:
		return 0
	case pc > pr*dtmfNormalTwist || pr > pc*dtmfReverseTwist:
		return 0
	// A pure tone's power is (A·N/2)², its energy N·A²/2: the share of
	// the two tones is 2·(pr+pc)/(N·energy), 1 for clean DTMF.
	case 2*(pr+pc) < dtmfMinShare*dtmfBlock*b.energy:
		return 0
	}
	for k := range 4 {
		if k != row && p[k]*dtmfRelativePeak > pr {
			return 0
		}
		if k+4 != col && p[k+4]*dtmfRelativePeak > pc {
			return 0
		}
	}
	return dtmfKeys[row][col-4] + 1
}

// decide takes one block's key (+1, 0 for none).
func (d *InBandDTMFDetector) decide(k uint8) {
	if k == d.cand {
		d.run++
	} else {
		d.cand, d.run = k, 1
	}
	if k == 0 || k != d.reported {
		if d.misses++; d.misses >= dtmfRearm {
			d.reported = 0
		}
	} else {
		d.misses = 0
	}
	if k != 0 && k != d.reported && d.run >= dtmfMinRun {
		d.reported, d.misses = k, 0
		if d.OnDigit != nil {
			d.OnDigit(Digit{Event: k - 1, Duration: uint16((d.run-1)*dtmfHop + dtmfBlock), InBand: true})
		}
	}
}
