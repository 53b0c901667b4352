package media

import "time"

// Stats is a snapshot of a relay's counters, one set per direction.
type Stats struct {
	AToB DirectionStats // received on leg A, sent on leg B
	BToA DirectionStats // received on leg B, sent on leg A
}

// DirectionStats counts what one phone sent to the relay.
type DirectionStats struct {
	// Packets and Bytes count accepted RTP packets and their size
	// (headers included), whether forwarded or consumed (a telephone event
	// the other leg did not negotiate).
	Packets, Bytes uint64
	// Lost is the number of packets missing from sequence gaps, summed
	// over every source SSRC seen (RFC 3550 §6.4.1 cumulative loss).
	Lost uint64
	// Dropped counts packets not relayed: malformed, of a payload type
	// the leg did not negotiate, or from a spoofed address.
	Dropped uint64
	// Jitter is the RFC 3550 §6.4.1 interarrival jitter of the audio.
	Jitter time.Duration
	// RTCPPackets counts RTCP packets passed to the other leg.
	RTCPPackets uint64
	// Digits counts detected DTMF key presses.
	Digits uint64
}

// Sequence-number limits of RFC 3550 appendix A.1.
const (
	maxDropout  = 3000
	maxMisorder = 100
)

// receiveStats keeps the RFC 3550 receiver statistics of one direction.
// Its owner serialises access.
type receiveStats struct {
	DirectionStats
	clockRate uint32

	lostBefore int64 // loss of the sources seen before the current one

	has      bool // a source has been seen
	ssrc     uint32
	baseSeq  uint32 // extended sequence number of the first packet
	maxSeq   uint16
	cycles   uint32 // sequence wraps, shifted by 16
	received int64

	hasTransit bool
	transit    int32
	jitter     uint32 // in timestamp units, scaled by 16 (RFC 3550 A.8)
}

// update accounts one accepted RTP packet. arrival is in the same units as
// ts; audio is false for packets whose timestamp does not follow the
// sampling clock (telephone events), which are kept out of the jitter.
func (r *receiveStats) update(ssrc uint32, seq uint16, ts, arrival uint32, audio bool, size int) {
	r.Packets++
	r.Bytes += uint64(size)
	if !r.has || ssrc != r.ssrc {
		r.restart(ssrc, seq)
	} else {
		delta := seq - r.maxSeq
		switch {
		case delta < maxDropout:
			if seq < r.maxSeq {
				r.cycles += 1 << 16
			}
			r.maxSeq = seq
		case delta <= 1<<16-maxMisorder:
			r.restart(ssrc, seq) // a big jump: the sender restarted
		}
		// else: a duplicate or a late packet
	}
	r.received++
	if audio {
		transit := int32(arrival - ts)
		if r.hasTransit {
			d := transit - r.transit
			if d < 0 {
				d = -d
			}
			r.jitter += uint32(d) - ((r.jitter + 8) >> 4)
		}
		r.transit, r.hasTransit = transit, true
	}
}

// restart begins counting a new source, keeping the loss of the old one.
func (r *receiveStats) restart(ssrc uint32, seq uint16) {
	r.lostBefore += r.currentLost()
	r.has, r.ssrc = true, ssrc
	r.baseSeq, r.maxSeq, r.cycles, r.received = uint32(seq), seq, 0, 0
	r.hasTransit = false // a new source has its own timestamp base
}

func (r *receiveStats) currentLost() int64 {
	if !r.has {
		return 0
	}
	expected := int64(r.cycles) + int64(r.maxSeq) - int64(r.baseSeq) + 1
	return expected - r.received
}

// snapshot returns the counters as the public type.
func (r *receiveStats) snapshot() DirectionStats {
	s := r.DirectionStats
	s.Lost = uint64(max(r.lostBefore+r.currentLost(), 0))
	if r.clockRate > 0 {
		s.Jitter = time.Duration(r.jitter>>4) * time.Second / time.Duration(r.clockRate)
	}
	return s
}
