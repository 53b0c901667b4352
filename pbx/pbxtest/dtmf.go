package pbxtest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/rtp"

	"github.com/officepbx/pbx/media"
)

// Key presses as RFC 4733 telephone events: each key is sent as
// keyPackets packets 20 ms apart with a growing duration, then three end
// packets, all with the timestamp of the key's start, as desk phones do.
const keyPackets = 5

// dtmfJob is one SendDTMF call: keys for the sender to press.
type dtmfJob struct {
	keys []uint8 // RFC 4733 event codes
	done chan error
}

// keyPresser is the sender's state while it plays a dtmfJob. It belongs
// to the sender goroutine.
type keyPresser struct {
	job *dtmfJob
	key int    // index in job.keys
	pkt int    // packets sent of the current key
	ts  uint32 // RTP timestamp of the current key's start
}

func (k *keyPresser) busy() bool { return k.job != nil }

func (k *keyPresser) begin(job *dtmfJob, ts uint32) {
	*k = keyPresser{job: job, ts: ts}
}

// next returns the packets to send in this 20 ms slot: one progress
// packet, or the key's three end packets.
func (k *keyPresser) next(pkt *rtp.Packet, pt uint8) [][]byte {
	ev := media.TelephoneEvent{Event: k.job.keys[k.key], Volume: 10, Duration: uint16((k.pkt + 1) * frameSamples)}
	// The audio clock goes on while a key is held; every packet of a key
	// carries the timestamp of its start.
	audioTS := pkt.Timestamp
	pkt.PayloadType, pkt.Timestamp, pkt.Marker = pt, k.ts, k.pkt == 0
	copies := 1
	if k.pkt == keyPackets {
		ev.End, ev.Duration, copies = true, uint16(keyPackets*frameSamples), 3
	}
	payload := make([]byte, media.TelephoneEventSize)
	_, _ = ev.MarshalTo(payload)
	pkt.Payload = payload
	var out [][]byte
	for range copies {
		if b, err := pkt.Marshal(); err == nil {
			out = append(out, b)
		}
		pkt.SequenceNumber++
	}
	pkt.Marker, pkt.Timestamp = false, audioTS
	k.pkt++
	if k.pkt > keyPackets {
		k.key++
		k.pkt = 0
		k.ts = audioTS + frameSamples // the next key starts in the next slot
		if k.key == len(k.job.keys) {
			k.job.done <- nil
			k.job = nil
		}
	}
	return out
}

// abort fails a job the sender cannot finish (the call ended).
func (k *keyPresser) abort() {
	if k.job != nil {
		k.job.done <- errors.New("the call's media stopped")
		k.job = nil
	}
}

// eventCode maps a key to its RFC 4733 event code.
func eventCode(r rune) (uint8, bool) {
	i := strings.IndexRune("0123456789*#ABCD", r)
	return uint8(i), i >= 0
}

// SendDTMF presses the keys (0-9, *, #, A-D) as RFC 4733 telephone events
// with the payload type the other side negotiated, in place of audio, and
// returns when the last end packet is sent.
func (c *Call) SendDTMF(ctx context.Context, digits string) error {
	m := c.media
	job := &dtmfJob{done: make(chan error, 1)}
	for _, r := range digits {
		code, ok := eventCode(r)
		if !ok {
			return fmt.Errorf("not a DTMF key: %q", r)
		}
		job.keys = append(job.keys, code)
	}
	if err := wait(ctx, m.started, "the call's media"); err != nil {
		return err
	}
	if m.sendPT == 0 {
		return errors.New("the other side negotiated no telephone-event")
	}
	if len(job.keys) == 0 {
		return nil
	}
	select {
	case m.dtmf <- job:
	case <-m.stopSend:
		return errors.New("the call's media stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-job.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// receiveEvent feeds a received telephone event to the phone's detector.
func (m *mediaSession) receiveEvent(pkt *rtp.Packet) {
	ev, err := media.ParseTelephoneEvent(pkt.Payload)
	if err != nil {
		return
	}
	m.mu.Lock()
	if m.detector.OnDigit == nil {
		m.detector.OnDigit = func(d media.Digit) { m.digits = append(m.digits, d.Rune()) }
	}
	m.detector.Push(pkt.SSRC, pkt.Timestamp, ev)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// ReceivedDigits is the keys received so far as RFC 4733 telephone
// events with the payload type this phone negotiated, each press once.
func (c *Call) ReceivedDigits() string {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return string(c.media.digits)
}

// WaitDigits waits until n key presses have been received and returns
// them.
func (c *Call) WaitDigits(ctx context.Context, n int) (string, error) {
	m := c.media
	for {
		m.mu.Lock()
		got := string(m.digits)
		count := len(m.digits)
		m.mu.Unlock()
		if count >= n {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return got, fmt.Errorf("waiting for %d digits, have %q: %w", n, got, ctx.Err())
		case <-m.notify:
		}
	}
}
