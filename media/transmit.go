package media

import (
	"encoding/binary"
	"sync"
	"time"
)

// transmitter is the send side of an endpoint: the one outgoing stream its
// phone hears, whoever feeds it (the bridged peer's goroutine, a
// playback's). The mutex is uncontended except while a source hands over
// to another.
type transmitter struct {
	mu  sync.Mutex
	seq sequencer
	buf *[maxPacket]byte // generated packets, under mu; made on first use
}

// next maps an incoming packet's numbering onto the outgoing stream.
func (t *transmitter) next(src uint32, seq uint16, ts uint32, now time.Duration) (uint16, uint32, uint32, bool) {
	t.mu.Lock()
	oseq, ots, newSource := t.seq.next(src, seq, ts, now)
	ssrc := t.seq.ssrc
	t.mu.Unlock()
	return oseq, ots, ssrc, newSource
}

// generated describes one packet the PBX makes itself: a frame of a
// prompt, a telephone event. src, seq and ts are the generator's own
// numbering, which the sequencer maps onto the outgoing stream.
type generated struct {
	src     uint32
	seq     uint16
	ts      uint32
	pt      uint8
	marker  bool
	payload []byte
}

// send builds and sends a generated packet to the phone.
func (e *Endpoint) send(g generated) {
	t := &e.tx
	t.mu.Lock()
	defer t.mu.Unlock()
	seq, ts, newSource := t.seq.next(g.src, g.seq, g.ts, e.since())
	if t.buf == nil {
		t.buf = new([maxPacket]byte)
	}
	n := rtpHeaderSize + copy(t.buf[rtpHeaderSize:], g.payload)
	b := t.buf[:n]
	b[0] = 0x80
	b[1] = g.pt & 0x7f
	if g.marker || newSource {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], t.seq.ssrc)
	if !e.sending.Load() || e.leg.ports.RTP == nil {
		return
	}
	if dst := *e.leg.rtpDst.Load(); dst.IsValid() {
		e.writeRTP(b, dst)
	}
}
