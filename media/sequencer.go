package media

import "time"

// sequencer maps the packets of one or more incoming RTP sources onto one
// continuous outgoing stream: a fixed SSRC, sequence numbers that go on by
// one and timestamps that go on with wall-clock time. A phone's jitter
// buffer resets (or drops audio) when these jump, which they do whenever
// the audio source of a leg changes, for instance from a prompt player to
// the bridged phone, or when the far phone restarts its stream.
//
// Within one source the offsets stay fixed, so reordering, loss and the
// shared timestamp of a telephone event's packets pass through unchanged.
// When a new source SSRC appears, the offsets are recomputed so that its
// first packet gets the next sequence number and a timestamp advanced by
// the time elapsed since the last packet (at least one sample).
//
// It is owned by one goroutine and does not allocate.
type sequencer struct {
	ssrc      uint32 // outgoing SSRC
	clockRate uint32 // timestamp units per second

	started bool
	src     uint32 // current incoming SSRC
	seqOff  uint16
	tsOff   uint32
	maxSeq  uint16        // highest outgoing sequence number so far
	maxTS   uint32        // highest outgoing timestamp so far
	lastAt  time.Duration // arrival of the packet that set maxTS
}

// next returns the outgoing sequence number and timestamp for an incoming
// packet, and whether it is the first packet of a new source (the caller
// then sets the marker bit, as at the start of a talkspurt).
func (s *sequencer) next(src uint32, seq uint16, ts uint32, now time.Duration) (outSeq uint16, outTS uint32, newSource bool) {
	switch {
	case !s.started:
		// Keep the first source's numbering: it is already random.
		s.started, s.src = true, src
		s.maxSeq, s.maxTS, s.lastAt = seq-1, ts, now
	case src != s.src:
		elapsed := uint32(max(int64(now-s.lastAt), 0) * int64(s.clockRate) / int64(time.Second))
		s.src = src
		s.seqOff = s.maxSeq + 1 - seq
		s.tsOff = s.maxTS + max(elapsed, 1) - ts
		newSource = true
	}
	outSeq, outTS = seq+s.seqOff, ts+s.tsOff
	if int16(outSeq-s.maxSeq) > 0 {
		s.maxSeq = outSeq
	}
	if int32(outTS-s.maxTS) > 0 || newSource {
		s.maxTS, s.lastAt = outTS, now
	}
	return outSeq, outTS, newSource
}
