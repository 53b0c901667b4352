package pbxtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/officepbx/pbx/media"
)

// mediaSession is a phone's audio: one RTP socket on loopback, a sender
// of a continuous tone (20 ms frames, 50 packets/s) and a receiver that
// keeps the latest half second of decoded audio. Its goroutines are owned
// by the call and stop on close.
type mediaSession struct {
	conn    *net.UDPConn
	eventPT atomic.Uint32   // the telephone-event payload type this phone receives
	dtmf    chan *dtmfJob   // key presses for the sender to play
	inband  chan *inbandJob // in-band key presses for the sender to play
	started chan struct{}   // closed when the sender starts
	sendPT  uint8           // the other side's telephone-event payload type; set before started closes

	// SRTP (srtp.go): localKey is the phone's own key (WithSRTP), srtp the
	// contexts once the other side's key is known. Until the media starts,
	// a phone that offered SRTP drops what it cannot decrypt yet.
	localKey     []byte
	srtp         atomic.Pointer[phoneSRTP]
	negotiated   atomic.Bool
	srtpFailures atomic.Int64
	wire, plain  []byte // the latest SRTP packet received and its plaintext, under mu

	startOnce sync.Once
	stopSend  chan struct{}
	stopOnce  sync.Once
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu       sync.Mutex
	pcm      []int16            // latest received samples, at most heardWindow
	packets  int                // audio packets received
	sent     atomic.Int64       // audio packets sent
	digits   []rune             // key presses received as telephone events
	detector media.DTMFDetector // turns received events into key presses
	notify   chan struct{}      // a signal after each received packet
}

func newMediaSession(eventPT uint8, localKey []byte) (*mediaSession, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	m := &mediaSession{conn: conn, dtmf: make(chan *dtmfJob), inband: make(chan *inbandJob), started: make(chan struct{}),
		stopSend: make(chan struct{}), notify: make(chan struct{}, 1), localKey: localKey}
	m.eventPT.Store(uint32(eventPT))
	m.wg.Add(1)
	go m.receive()
	return m, nil
}

// receiveEventPT changes the telephone-event payload type the phone
// takes (an answer adopts the offer's).
func (m *mediaSession) receiveEventPT(pt uint8) { m.eventPT.Store(uint32(pt)) }

func (m *mediaSession) port() int { return m.conn.LocalAddr().(*net.UDPAddr).Port }

// start sends the tone at freq with codec pt to remote, until stopSending;
// key presses go as telephone events with payload type eventPT (0: the
// other side takes none).
func (m *mediaSession) start(remote netip.AddrPort, pt, eventPT uint8, freq float64) {
	m.negotiated.Store(true)
	m.startOnce.Do(func() {
		m.sendPT = eventPT
		close(m.started)
		m.wg.Add(1)
		go m.send(remote, pt, freq)
	})
}

// send is the phone's sender: one packet every 20 ms, a tone frame or,
// while a key is pressed, a telephone event in its place.
func (m *mediaSession) send(remote netip.AddrPort, pt uint8, freq float64) {
	defer m.wg.Done()
	t := tone{freq: freq}
	audio := make([]byte, frameSamples)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(rand.Uint32()),
		Timestamp: rand.Uint32(), SSRC: rand.Uint32(), Marker: true}}
	var keys keyPresser
	var inband *inbandJob
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if !keys.busy() {
			select {
			case job := <-m.dtmf:
				keys.begin(job, pkt.Timestamp)
			default:
			}
		}
		if inband == nil {
			select {
			case inband = <-m.inband:
			default:
			}
		}
		var frames [][]byte
		var err error
		if keys.busy() {
			frames = keys.next(&pkt, m.sendPT)
		} else {
			if inband == nil || !inband.frame(audio, pt) {
				inband = nil
				t.frame(audio, pt)
			}
			pkt.PayloadType, pkt.Payload = pt, audio
			b, err := pkt.Marshal()
			if err == nil {
				frames = [][]byte{b}
			}
			pkt.Marker = false
			pkt.SequenceNumber++ // each packet its own number, as SRTP's replay check needs
		}
		for _, b := range frames {
			if s := m.srtp.Load(); s != nil {
				if b, err = s.enc.EncryptRTP(nil, b, nil); err != nil {
					continue
				}
			}
			if _, err := m.conn.WriteToUDPAddrPort(b, remote); err != nil && isClosed(err) {
				keys.abort()
				return
			}
		}
		if !keys.busy() {
			m.sent.Add(1)
		}
		pkt.Timestamp += frameSamples
		select {
		case <-m.stopSend:
			keys.abort()
			return
		case <-tick.C:
		}
	}
}

func (m *mediaSession) receive() {
	defer m.wg.Done()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := m.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if isClosed(err) {
				return
			}
			continue
		}
		in := buf[:n]
		if s := m.srtp.Load(); s != nil {
			plain, err := s.dec.DecryptRTP(nil, in, nil)
			if err != nil {
				m.srtpFailures.Add(1)
				continue
			}
			m.mu.Lock()
			m.wire, m.plain = append(m.wire[:0], in...), append(m.plain[:0], plain...)
			m.mu.Unlock()
			in = plain
		} else if m.localKey != nil && !m.negotiated.Load() {
			continue // SRTP offered, keys not known yet
		}
		if pkt.Unmarshal(in) != nil {
			continue
		}
		if ept := m.eventPT.Load(); ept != 0 && uint32(pkt.PayloadType) == ept {
			m.receiveEvent(&pkt)
			continue
		}
		if pkt.PayloadType != PCMU && pkt.PayloadType != PCMA {
			continue
		}
		m.mu.Lock()
		m.pcm = decode(m.pcm, pkt.Payload, pkt.PayloadType)
		if over := len(m.pcm) - heardWindow; over > 0 {
			m.pcm = append(m.pcm[:0], m.pcm[over:]...)
		}
		m.packets++
		m.mu.Unlock()
		select {
		case m.notify <- struct{}{}:
		default:
		}
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// stopSending stops the tone (the phone goes silent, as a dead one).
func (m *mediaSession) stopSending() { m.stopOnce.Do(func() { close(m.stopSend) }) }

// close stops both goroutines and waits for them.
func (m *mediaSession) close() {
	m.closeOnce.Do(func() {
		m.stopSending()
		m.conn.Close()
		m.wg.Wait()
	})
}

// heard is the power of freq in the latest received audio.
func (m *mediaSession) heard(freq float64) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return media.Goertzel(m.pcm, freq)
}

// waitPackets waits until n audio packets in all have arrived.
func (m *mediaSession) waitPackets(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		got := m.packets
		m.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.notify:
		}
	}
}

func (m *mediaSession) received() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.packets
}

// energy is the mean power of the latest received audio.
func (m *mediaSession) energy() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range m.pcm {
		sum += float64(s) * float64(s)
	}
	return sum / float64(len(m.pcm))
}
