package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// ErrNoTelephoneEvent means a phone negotiated no telephone-event payload
// type, so digits cannot be sent to it as RFC 4733 events.
var ErrNoTelephoneEvent = errors.New("media: phone negotiated no telephone-event")

// frameInterval is the packetisation interval of generated audio.
const frameInterval = 20 * time.Millisecond

// Playback is audio the PBX sends to one phone in place of the bridged
// peer's: a prompt, a tone, music on hold, DTMF. While it runs, what the
// peer sends is not forwarded to this phone (the peer still hears this
// phone). It ends when its source ends, when Stop is called, when another
// playback starts on the endpoint, or when the endpoint closes.
type Playback struct {
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	digits   *digitGen // for a playback of digits, which more may join
}

// Stop ends the playback; the bridged peer is heard again. It does not
// wait for the playback's goroutine.
func (p *Playback) Stop() { p.stopOnce.Do(func() { close(p.stop) }) }

// Done is closed when the playback has ended, for whatever reason.
func (p *Playback) Done() <-chan struct{} { return p.done }

// Over reports whether the playback has ended or is ending: stopped or
// replaced (at once, though its goroutine may still be finishing and Done
// not yet closed), or finished.
func (p *Playback) Over() bool {
	select {
	case <-p.stop:
		return true
	case <-p.done:
		return true
	default:
		return false
	}
}

// generator makes the packets of a playback, one 20 ms step at a time.
type generator interface {
	// step sends what falls in the next 20 ms and reports whether there
	// is more.
	step(e *Endpoint, s *genState) bool
}

// genState is a playback's own RTP numbering; the endpoint's sequencer
// maps it onto the stream the phone hears.
type genState struct {
	src     uint32
	seq     uint16
	ts      uint32
	first   bool
	started bool
}

// Play sends src to the phone, paced in real time, 20 ms a packet in the
// phone's codec, until src ends (io.EOF) or the playback is stopped. A
// playback already running on the endpoint is stopped.
func (e *Endpoint) Play(src Source) *Playback {
	return e.startPlayback(&audioGen{src: src}, nil)
}

// PlayDigits sends digits ('0'-'9', '*', '#', 'A'-'D') to the phone as
// RFC 4733 telephone events, 100 ms each with 60 ms between them, as a
// playback. Digits played while a playback of digits runs join its queue
// (and its Playback is returned). It fails if the phone negotiated no
// telephone-event or a digit is not a DTMF key.
func (e *Endpoint) PlayDigits(digits string) (*Playback, error) {
	if e.leg.eventPT.Load() == 0 {
		return nil, ErrNoTelephoneEvent
	}
	codes := make([]uint8, 0, len(digits))
	for _, r := range digits {
		i := strings.IndexRune("0123456789*#ABCD", r)
		if i < 0 {
			return nil, fmt.Errorf("media: %q is not a DTMF key", r)
		}
		codes = append(codes, uint8(i))
	}
	if cur := e.playing.Load(); cur != nil && cur.digits != nil && cur.digits.add(codes) {
		return cur, nil
	}
	g := &digitGen{codes: codes}
	return e.startPlayback(g, g), nil
}

func (e *Endpoint) startPlayback(g generator, digits *digitGen) *Playback {
	p := &Playback{stop: make(chan struct{}), done: make(chan struct{}), digits: digits}
	if old := e.playing.Swap(p); old != nil {
		old.Stop()
	}
	if e.closed.Load() {
		e.playing.CompareAndSwap(p, nil)
		close(p.done)
		return p
	}
	e.wg.Add(1)
	go e.runPlayback(p, g)
	return p
}

func (e *Endpoint) runPlayback(p *Playback, g generator) {
	defer e.wg.Done()
	defer close(p.done)
	defer e.playing.CompareAndSwap(p, nil)
	if p.digits != nil {
		defer func() {
			p.digits.mu.Lock()
			p.digits.ended = true // stopped early: digits may no longer join
			p.digits.mu.Unlock()
		}()
	}
	s := newGenState()
	tick := time.NewTicker(frameInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-e.quit:
			return
		default:
		}
		if !g.step(e, &s) {
			return
		}
		s.first = false
		select {
		case <-tick.C:
		case <-p.stop:
			return
		case <-e.quit:
			return
		}
	}
}

// audioGen plays a Source.
type audioGen struct {
	src     Source
	pcm     [FrameSamples]int16
	payload [FrameSamples]byte
}

func (a *audioGen) step(e *Endpoint, s *genState) bool {
	n, err := a.src.Read(a.pcm[:])
	if n = min(n, FrameSamples); n > 0 {
		e.sendPCM(s, a.payload[:], a.pcm[:n])
	}
	s.ts += FrameSamples // the clock runs on, whatever was read
	return err == nil
}

// digitGen plays telephone events: per digit five 20 ms packets of growing
// duration (100 ms), three end packets, then a 60 ms gap.
type digitGen struct {
	mu      sync.Mutex // guards codes and ended: digits may join
	ended   bool
	codes   []uint8
	i       int    // current digit
	tick    int    // steps into the current digit
	eventTS uint32 // the current event's timestamp
	payload [TelephoneEventSize]byte
}

const (
	digitTicks   = 5 // 100 ms of tone
	digitEnds    = 3 // end packets, for loss
	digitGap     = 3 // 60 ms of nothing before the next digit
	digitVolume  = 10
	digitPerStep = FrameSamples
)

// add queues more digits; false if the playback has already ended.
func (d *digitGen) add(codes []uint8) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended {
		return false
	}
	d.codes = append(d.codes, codes...)
	return true
}

func (d *digitGen) step(e *Endpoint, s *genState) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.i >= len(d.codes) {
		d.ended = true
		return false
	}
	pt := uint8(e.leg.eventPT.Load())
	if d.tick == 0 {
		d.eventTS = s.ts
	}
	switch {
	case d.tick < digitTicks:
		d.sendEvent(e, s, pt, false, uint16((d.tick+1)*digitPerStep), d.tick == 0)
	case d.tick == digitTicks:
		for range digitEnds {
			d.sendEvent(e, s, pt, true, uint16(digitTicks*digitPerStep), false)
		}
	}
	s.ts += FrameSamples
	d.tick++
	if d.tick > digitTicks+digitGap {
		d.i, d.tick = d.i+1, 0
	}
	d.ended = d.i >= len(d.codes)
	return !d.ended
}

func (d *digitGen) sendEvent(e *Endpoint, s *genState, pt uint8, end bool, dur uint16, marker bool) {
	ev := TelephoneEvent{Event: d.codes[d.i], End: end, Volume: digitVolume, Duration: dur}
	_, _ = ev.MarshalTo(d.payload[:])
	e.send(generated{src: s.src, seq: s.seq, ts: d.eventTS, pt: pt, marker: marker, payload: d.payload[:]})
	s.seq++
}

// WriteAudio sends one frame of linear audio to the phone at once, without
// pacing: for a mixer, which keeps its own clock. Successive calls form
// one stream with its own numbering; a playback running at the same time
// interleaves with it, so a mixer should own the endpoint unbridged and
// without playbacks.
func (e *Endpoint) WriteAudio(pcm []int16) {
	e.mixMu.Lock()
	defer e.mixMu.Unlock()
	e.startMixStream()
	for len(pcm) > 0 {
		n := min(len(pcm), FrameSamples)
		e.sendPCM(&e.mix, e.mixBuf[:], pcm[:n])
		e.mix.ts += uint32(n)
		pcm = pcm[n:]
	}
}

// WriteEncoded sends one frame already encoded in the phone's codec (the
// payload type PayloadType returns) at once, as the next packet of
// WriteAudio's stream: for a mixer that encodes a mix once for all the
// phones that hear it. payload is copied; at most one packet's worth is
// sent.
func (e *Endpoint) WriteEncoded(payload []byte) {
	e.mixMu.Lock()
	defer e.mixMu.Unlock()
	e.startMixStream()
	payload = payload[:min(len(payload), maxPacket-rtpHeaderSize)]
	s := &e.mix
	e.send(generated{src: s.src, seq: s.seq, ts: s.ts, pt: e.PayloadType(), marker: s.first, payload: payload})
	s.seq++
	s.first = false
	s.ts += uint32(len(payload)) // G.711: one byte a sample
}

// startMixStream numbers the mixer's stream on its first frame; the
// caller holds mixMu.
func (e *Endpoint) startMixStream() {
	if !e.mix.started {
		e.mix = newGenState()
		e.mix.started = true
	}
}

// newGenState starts a generated stream with random numbering.
func newGenState() genState {
	return genState{src: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32(), first: true}
}

// sendPCM encodes one frame of linear audio (at most len(buf) samples) in
// the phone's codec and sends it as the next packet of stream s; the
// caller advances s.ts.
func (e *Endpoint) sendPCM(s *genState, buf []byte, pcm []int16) {
	pt := e.PayloadType()
	n := EncodePCM(buf, pcm, pt)
	e.send(generated{src: s.src, seq: s.seq, ts: s.ts, pt: pt, marker: s.first, payload: buf[:n]})
	s.seq++
	s.first = false
}
