package media

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// clockRate is the RTP clock of G.711 and telephone-event/8000.
const clockRate = 8000

// maxPacket is the read buffer size: larger than any RTP packet on an
// Ethernet path; a longer datagram is truncated and then rejected.
const maxPacket = 1500

const rtpHeaderSize = 12

// receiver is the receive side of an endpoint: what its phone sends.
// Everything except stats is owned by the endpoint's RTP goroutine.
type receiver struct {
	hdr  rtp.Header
	dtmf DTMFDetector
	// pcm is decoded audio for the sink and tones, made on first use: a
	// relayed call never decodes, and each call's endpoints are made and
	// zeroed at the call's set-up rate.
	pcm *[maxPacket]int16

	mu    sync.Mutex // guards stats, read by Stats
	stats receiveStats

	// tones listens for in-band DTMF (EndpointConfig.InBandDTMF), until
	// the phone sends an RFC 4733 event; nil when not asked for or then.
	tones *InBandDTMFDetector
	// tonesOn is SetInBandDTMF's switch; tonesWere is what the receive
	// goroutine last saw of it (a detector switched back on starts afresh).
	tonesOn   atomic.Bool
	tonesWere bool
}

func (r *receiver) drop() {
	r.mu.Lock()
	r.stats.Dropped++
	r.mu.Unlock()
}

// pumpRTP is the per-packet loop of an endpoint. It returns when Close
// closes the socket.
func (e *Endpoint) pumpRTP() {
	defer e.wg.Done()
	buf := packetBufs.Get().(*[maxPacket]byte)
	defer packetBufs.Put(buf)
	conn := e.leg.ports.RTP
	var ok bool
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if e.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient error such as an ICMP report
		}
		in := buf[:n]
		if s := e.srtp.Load(); s != nil {
			if in, ok = s.decryptRTP(in); !ok {
				e.rx.drop() // not authentic, a replay, or not SRTP
				continue
			}
		}
		pkt, peer, ok := e.process(in, unmap(from), e.since())
		if !ok || !peer.sending.Load() {
			continue
		}
		if dst := *peer.leg.rtpDst.Load(); dst.IsValid() {
			// A failed send (the phone's network is down) is not ours to
			// fix; the dead-media timer notices when it matters.
			peer.writeRTP(pkt, dst)
		}
	}
}

// process checks, accounts and rewrites one RTP packet from the phone in
// place. It returns the packet and the endpoint to send it to, or false if
// nothing is to be sent.
func (e *Endpoint) process(pkt []byte, from netip.AddrPort, now time.Duration) ([]byte, *Endpoint, bool) {
	r := &e.rx
	// Reject what is not RTP version 2 before the parser, whose errors
	// allocate.
	if len(pkt) < rtpHeaderSize || pkt[0]>>6 != 2 {
		r.drop()
		return nil, nil, false
	}
	hlen, err := r.hdr.Unmarshal(pkt)
	if err != nil {
		r.drop()
		return nil, nil, false
	}
	end := len(pkt)
	if r.hdr.Padding {
		pad := int(pkt[end-1])
		if pad == 0 || pad > end-hlen {
			r.drop()
			return nil, nil, false
		}
		end -= pad
	}
	payload := pkt[hlen:end]
	if !e.leg.latch(r.hdr.SSRC, from) {
		r.drop()
		return nil, nil, false
	}
	e.leg.lastRTP.Store(int64(now))

	inPT := r.hdr.PayloadType
	eventPT := uint8(e.leg.eventPT.Load())
	var kind packetKind
	switch {
	case inPT == eventPT && inPT != 0:
		ev, err := ParseTelephoneEvent(payload)
		if err != nil {
			r.drop()
			return nil, nil, false
		}
		r.dtmf.Push(r.hdr.SSRC, r.hdr.Timestamp, ev)
		r.tones = nil // the phone sends its keys as events
		kind = kindEvent
	case isG711(inPT):
		// A phone may send either law if it offered both.
		kind = kindAudio
		tones := r.tones != nil && r.tonesOn.Load()
		if tones != r.tonesWere {
			if tones {
				r.tones.Reset()
			}
			r.tonesWere = tones
		}
		if s := e.sink.Load(); s != nil || tones {
			r.listen(s, payload, inPT, tones)
		}
	case inPT == PayloadCN:
		kind = kindCN
	default:
		r.drop()
		return nil, nil, false
	}

	r.mu.Lock()
	r.stats.update(r.hdr.SSRC, r.hdr.SequenceNumber, r.hdr.Timestamp,
		uint32(now/(time.Second/clockRate)), kind == kindAudio, len(pkt))
	r.mu.Unlock()

	peer := e.peer.Load()
	if peer == nil || peer.playing.Load() != nil {
		return nil, nil, false // nobody listens, or a playback has the floor
	}
	var outPT uint8
	forward := true
	switch kind {
	case kindEvent:
		outPT = uint8(peer.leg.eventPT.Load())
		forward = outPT != 0
	case kindAudio:
		outPT = uint8(peer.leg.pt.Load())
		_ = Transcode(payload, inPT, outPT)
	case kindCN:
		outPT = PayloadCN
	}
	// Sequence even a packet that is not forwarded, to keep the
	// sequencer's view of its source current.
	seq, ts, ssrc, newSource := peer.tx.next(r.hdr.SSRC, r.hdr.SequenceNumber, r.hdr.Timestamp, now)
	if !forward {
		return nil, nil, false
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
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	return pkt, peer, true
}

// listen decodes an audio payload for the in-band DTMF detector and the
// sink, either of which may be nil. Out of line, so that the relay's path
// stays as short when neither is there.
//
//go:noinline
func (r *receiver) listen(s *sinkRef, payload []byte, pt uint8, tones bool) {
	if r.pcm == nil {
		r.pcm = new([maxPacket]int16)
	}
	n := DecodePCM(r.pcm[:], payload, pt)
	if tones {
		r.tones.WriteAudio(r.pcm[:n]) // before the sink, which may change pcm
	}
	if s != nil {
		s.s.WriteAudio(r.pcm[:n])
	}
}

// packetBufs holds the socket goroutines' read buffers between calls:
// an endpoint lives as long as its call, and allocating (and zeroing) its
// buffers afresh was a visible part of each call's set-up.
var packetBufs = sync.Pool{New: func() any { return new([maxPacket]byte) }}

type packetKind uint8

const (
	kindAudio packetKind = iota
	kindEvent
	kindCN
)

// pumpRTCP passes the phone's RTCP packets to the bridged peer's phone
// unchanged (not to itself: an echo does not echo RTCP), but for SRTCP:
// decrypted from an SRTP phone, encrypted to one. RTCP is rare
// (every few seconds), so it gets its own small loop.
func (e *Endpoint) pumpRTCP() {
	defer e.wg.Done()
	buf, plain := packetBufs.Get().(*[maxPacket]byte), packetBufs.Get().(*[maxPacket]byte)
	defer packetBufs.Put(buf)
	defer packetBufs.Put(plain)
	conn := e.leg.ports.RTCP
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if e.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		pkt := buf[:n]
		if s := e.srtp.Load(); s != nil && n >= 8 {
			out, ok := s.decryptRTCP(plain[:], pkt)
			if !ok {
				continue
			}
			pkt, n = out, len(out)
		}
		// RTCP version 2, packet types 192-223 (RFC 5761 §4).
		if n < 8 || pkt[0]>>6 != 2 || pkt[1] < 192 || pkt[1] > 223 || !e.leg.latchRTCP(unmap(from)) {
			continue
		}
		e.rx.mu.Lock()
		e.rx.stats.RTCPPackets++
		e.rx.mu.Unlock()
		peer := e.peer.Load()
		if peer == nil || peer == e || !peer.sending.Load() {
			continue
		}
		if dst := *peer.leg.rtcpDst.Load(); dst.IsValid() {
			peer.writeRTCP(pkt, dst)
		}
	}
}
