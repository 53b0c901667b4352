package pbxtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// mediaSession is a phone's audio: one RTP socket on loopback, a sender
// of a continuous tone (20 ms frames, 50 packets/s) and a receiver that
// keeps the latest half second of decoded audio. Its goroutines are owned
// by the call and stop on close.
type mediaSession struct {
	conn *net.UDPConn

	startOnce sync.Once
	stopSend  chan struct{}
	stopOnce  sync.Once
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu      sync.Mutex
	pcm     []int16       // latest received samples, at most heardWindow
	packets int           // audio packets received
	notify  chan struct{} // a signal after each received packet
}

func newMediaSession() (*mediaSession, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	m := &mediaSession{conn: conn, stopSend: make(chan struct{}), notify: make(chan struct{}, 1)}
	m.wg.Add(1)
	go m.receive()
	return m, nil
}

func (m *mediaSession) port() int { return m.conn.LocalAddr().(*net.UDPAddr).Port }

// start sends the tone at freq with codec pt to remote, until stopSending.
func (m *mediaSession) start(remote netip.AddrPort, pt uint8, freq float64) {
	m.startOnce.Do(func() {
		m.wg.Add(1)
		go m.send(remote, pt, freq)
	})
}

func (m *mediaSession) send(remote netip.AddrPort, pt uint8, freq float64) {
	defer m.wg.Done()
	t := tone{freq: freq}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(rand.Uint32()),
		Timestamp: rand.Uint32(), SSRC: rand.Uint32(), Marker: true}, Payload: make([]byte, frameSamples)}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		t.frame(pkt.Payload, pt)
		b, err := pkt.Marshal()
		if err == nil {
			if _, err := m.conn.WriteToUDPAddrPort(b, remote); err != nil && isClosed(err) {
				return
			}
		}
		pkt.SequenceNumber++
		pkt.Timestamp += frameSamples
		pkt.Marker = false
		select {
		case <-m.stopSend:
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
		if pkt.Unmarshal(buf[:n]) != nil || (pkt.PayloadType != PCMU && pkt.PayloadType != PCMA) {
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
	return goertzel(m.pcm, freq)
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
