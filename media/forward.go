package media

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// clockRate is the RTP clock of G.711 and telephone-event/8000.
const clockRate = 8000

// maxPacket is the read buffer size: larger than any RTP packet on an
// Ethernet path; a longer datagram is truncated and then rejected.
const maxPacket = 1500

const rtpHeaderSize = 12

// direction is one way through the relay: packets read on in's sockets
// and written on out's. Everything except stats is owned by in's RTP
// goroutine.
type direction struct {
	in, out *leg
	buf     [maxPacket]byte
	hdr     rtp.Header
	seq     sequencer
	dtmf    DTMFDetector

	mu    sync.Mutex // guards stats, read by Stats
	stats receiveStats
}

func (d *direction) snapshot() DirectionStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats.snapshot()
}

func (d *direction) drop() {
	d.mu.Lock()
	d.stats.Dropped++
	d.mu.Unlock()
}

// pumpRTP is the per-packet loop of one direction. It returns when the
// relay closes the sockets.
func (r *pumps) pumpRTP(d *direction) {
	defer r.wg.Done()
	conn, outConn := d.in.ports.RTP, d.out.ports.RTP
	for {
		n, from, err := conn.ReadFromUDPAddrPort(d.buf[:])
		if err != nil {
			if r.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient error such as an ICMP report
		}
		pkt, ok := d.process(d.buf[:n], unmap(from), r.since())
		if !ok {
			continue
		}
		if dst := *d.out.rtpDst.Load(); dst.IsValid() {
			// A failed send (the phone's network is down) is not ours to
			// fix; the dead-media timer notices when it matters.
			_, _ = outConn.WriteToUDPAddrPort(pkt, dst)
		}
	}
}

// process checks, accounts and rewrites one RTP packet in place. It
// returns the packet to send, or false if nothing is to be sent.
func (d *direction) process(pkt []byte, from netip.AddrPort, now time.Duration) ([]byte, bool) {
	// Reject what is not RTP version 2 before the parser, whose errors
	// allocate.
	if len(pkt) < rtpHeaderSize || pkt[0]>>6 != 2 {
		d.drop()
		return nil, false
	}
	hlen, err := d.hdr.Unmarshal(pkt)
	if err != nil {
		d.drop()
		return nil, false
	}
	end := len(pkt)
	if d.hdr.Padding {
		pad := int(pkt[end-1])
		if pad == 0 || pad > end-hlen {
			d.drop()
			return nil, false
		}
		end -= pad
	}
	payload := pkt[hlen:end]
	if !d.in.latch(d.hdr.SSRC, from) {
		d.drop()
		return nil, false
	}
	d.in.lastRTP.Store(int64(now))

	inPT := d.hdr.PayloadType
	var outPT uint8
	audio, forward := false, true
	switch {
	case inPT == d.in.eventPT && inPT != 0:
		ev, err := ParseTelephoneEvent(payload)
		if err != nil {
			d.drop()
			return nil, false
		}
		d.dtmf.Push(d.hdr.SSRC, d.hdr.Timestamp, ev)
		outPT, forward = d.out.eventPT, d.out.eventPT != 0
	case isG711(inPT):
		// A phone may send either law if it offered both; the other
		// phone gets the one it negotiated.
		outPT, audio = d.out.pt, true
		_ = Transcode(payload, inPT, outPT)
	case inPT == PayloadCN:
		outPT = PayloadCN
	default:
		d.drop()
		return nil, false
	}

	d.mu.Lock()
	d.stats.update(d.hdr.SSRC, d.hdr.SequenceNumber, d.hdr.Timestamp,
		uint32(now/(time.Second/clockRate)), audio, len(pkt))
	d.mu.Unlock()

	// Sequence even a packet that is not forwarded, to keep the
	// sequencer's view of its source current.
	seq, ts, newSource := d.seq.next(d.hdr.SSRC, d.hdr.SequenceNumber, d.hdr.Timestamp, now)
	if !forward {
		return nil, false
	}
	// Only the fixed header changes, so it is patched in place rather than
	// re-marshalled; CSRCs and extensions pass through as they came.
	marker := pkt[1] & 0x80
	if newSource {
		marker = 0x80
	}
	pkt[1] = marker | outPT&0x7f
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	binary.BigEndian.PutUint32(pkt[8:], d.seq.ssrc)
	return pkt, true
}

// pumpRTCP passes the RTCP packets of one direction through unchanged.
// RTCP is rare (every few seconds), so it gets its own small loop.
func (r *pumps) pumpRTCP(d *direction) {
	defer r.wg.Done()
	var buf [maxPacket]byte
	conn, outConn := d.in.ports.RTCP, d.out.ports.RTCP
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if r.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		// RTCP version 2, packet types 192-223 (RFC 5761 §4).
		if n < 8 || buf[0]>>6 != 2 || buf[1] < 192 || buf[1] > 223 || !d.in.latchRTCP(unmap(from)) {
			continue
		}
		d.mu.Lock()
		d.stats.RTCPPackets++
		d.mu.Unlock()
		if dst := *d.out.rtcpDst.Load(); dst.IsValid() {
			_, _ = outConn.WriteToUDPAddrPort(buf[:n], dst)
		}
	}
}
