package media

import (
	"io"
	"slices"
	"sync"
	"testing"
	"time"
)

// pcmTestSource plays samples once.
type pcmTestSource struct{ pcm []int16 }

func (s *pcmTestSource) Read(dst []int16) (int, error) {
	if len(s.pcm) == 0 {
		return 0, io.EOF
	}
	n := copy(dst, s.pcm)
	s.pcm = s.pcm[n:]
	return n, nil
}

// continuity checks that packets form one stream: one SSRC, sequence
// numbers going on by one.
type continuity struct {
	t    *testing.T
	n    int
	ssrc uint32
	seq  uint16
}

func (c *continuity) check(ssrc uint32, seq uint16) {
	c.t.Helper()
	if c.n > 0 && (ssrc != c.ssrc || seq != c.seq+1) {
		c.t.Fatalf("packet %d: ssrc %d seq %d after ssrc %d seq %d", c.n, ssrc, seq, c.ssrc, c.seq)
	}
	c.n, c.ssrc, c.seq = c.n+1, ssrc, seq
}

// A playback takes the place of the bridged peer's audio, in the phone's
// codec, and when it ends the peer is heard again, all in one continuous
// stream.
func TestPlaybackReplacesPeerAudio(t *testing.T) {
	a, b := newPhone(t, 1), newPhone(t, 2)
	r := relayFor(t, newAllocator(t), a, b, func(c *Config) { c.A.PayloadType = PayloadPCMA })
	toB := r.ends[SideB].Local()
	ep := r.Endpoint(SideA)
	seqs := continuity{t: t}

	hear := func(freq float64, n int, keepSending bool) {
		t.Helper()
		var got []int16
		for range n {
			if keepSending {
				b.send(toB, PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)))
			}
			p, _ := a.recv()
			if p.PayloadType != PayloadPCMA {
				t.Fatalf("PT %d, want PCMA", p.PayloadType)
			}
			seqs.check(p.SSRC, p.SequenceNumber)
			got = append(got, decodeAlaw(p.Payload)...)
		}
		if db(Goertzel(got, freq)/(Goertzel(got, 1000)+Goertzel(got, 440)-Goertzel(got, freq)+1e-9)) < 20 {
			t.Fatalf("did not hear %v Hz clearly", freq)
		}
	}
	hear(1000, 5, true)
	pb := ep.Play(&pcmTestSource{sine(440, 8000, 0, 10*160)})
	// B goes on talking during the prompt; A must hear only the prompt.
	for range 10 {
		b.send(toB, PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)))
	}
	hear(440, 10, false)
	<-pb.Done()
	// Drain what B sent during the prompt that was dropped, then B again.
	hear(1000, 5, true)
}

func TestPlaybackStopAndReplace(t *testing.T) {
	a := newPhone(t, 1)
	e := echoFor(t, newAllocator(t), a, nil)
	long := &pcmTestSource{sine(440, 8000, 0, 8000*60)}
	p1 := e.Play(long)
	if p1.Over() {
		t.Fatal("a playback just started reads as over")
	}
	p2 := e.Play(&pcmTestSource{sine(880, 8000, 0, 160*3)})
	if !p1.Over() {
		t.Fatal("a replaced playback does not read as over at once")
	}
	select {
	case <-p1.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a new playback did not stop the old one")
	}
	<-p2.Done()
	p3 := e.Play(&pcmTestSource{sine(440, 8000, 0, 8000*60)})
	p3.Stop()
	<-p3.Done()
	e.Close()
	if p := e.Play(long); p != nil {
		<-p.Done() // a playback on a closed endpoint ends at once
	}
}

// Digits go out as RFC 4733 events that a detector reads back as keys.
func TestPlayDigits(t *testing.T) {
	a := newPhone(t, 1)
	e := echoFor(t, newAllocator(t), a, nil)
	pb, err := e.PlayDigits("12#")
	if err != nil {
		t.Fatal(err)
	}
	var got []rune
	det := DTMFDetector{OnDigit: func(d Digit) { got = append(got, d.Rune()) }}
	for len(got) < 3 {
		p, _ := a.recv()
		if p.PayloadType != 101 {
			t.Fatalf("PT %d", p.PayloadType)
		}
		ev, err := ParseTelephoneEvent(p.Payload)
		if err != nil {
			t.Fatal(err)
		}
		det.Push(p.SSRC, p.Timestamp, ev)
	}
	<-pb.Done()
	if string(got) != "12#" {
		t.Fatalf("digits %q", string(got))
	}
	if _, err := e.PlayDigits("1x"); err == nil {
		t.Fatal("bad key accepted")
	}
	e.Endpoint.leg.eventPT.Store(0)
	if _, err := e.PlayDigits("1"); err != ErrNoTelephoneEvent {
		t.Fatalf("no telephone-event: %v", err)
	}
}

// Update moves a leg to a new address and codec (a re-INVITE); SetSending
// stops all audio to a phone that holds the call.
func TestEndpointUpdateAndSending(t *testing.T) {
	a, b, c := newPhone(t, 1), newPhone(t, 2), newPhone(t, 3)
	r := relayFor(t, newAllocator(t), a, b, nil)
	toA := r.ends[SideA].Local()
	frame := encodeUlaw(sine(1000, 8000, 0, 160))
	a.send(toA, PayloadPCMU, frame)
	b.recv()

	if err := r.Endpoint(SideB).Update(LegConfig{Remote: c.addr(), PayloadType: PayloadPCMA}); err != nil {
		t.Fatal(err)
	}
	a.send(toA, PayloadPCMU, frame)
	if p, _ := c.recv(); p.PayloadType != PayloadPCMA {
		t.Fatalf("after update: PT %d", p.PayloadType)
	}
	if err := r.Endpoint(SideB).Update(LegConfig{Remote: c.addr(), PayloadType: 18}); err == nil {
		t.Fatal("update to G.729 accepted")
	}

	r.Endpoint(SideB).SetSending(false)
	for range 5 {
		a.send(toA, PayloadPCMU, frame)
	}
	waitFor(t, "the packets sent while not sending", func() bool { return r.Stats().AToB.Packets == 7 })
	r.Endpoint(SideB).SetSending(true)
	marked := a.packet(PayloadPCMU, frame, true, 160)
	a.sendRaw(toA, marked)
	// The first packet C gets is the one sent after sending resumed.
	if p, _ := c.recv(); p.PayloadType != PayloadPCMA || !p.Marker {
		t.Fatalf("got a packet sent while not sending: %+v", p.Header)
	}
}

type collectSink struct {
	mu  sync.Mutex
	pcm []int16
}

func (s *collectSink) WriteAudio(pcm []int16) {
	s.mu.Lock()
	s.pcm = append(s.pcm, pcm...)
	s.mu.Unlock()
}

func (s *collectSink) samples() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.pcm...)
}

// A sink gets the phone's decoded audio; WriteAudio sends a mixer's frames.
func TestSinkAndWriteAudio(t *testing.T) {
	a, b := newPhone(t, 1), newPhone(t, 2)
	r := relayFor(t, newAllocator(t), a, b, func(c *Config) { c.A.PayloadType = PayloadPCMA })
	toA := r.ends[SideA].Local()
	sink := &collectSink{}
	r.Endpoint(SideA).SetSink(sink)
	for i := range 10 {
		a.send(toA, PayloadPCMA, encodeAlaw(sine(700, 8000, i*160, 160)))
		b.recv()
	}
	got := sink.samples()
	if len(got) != 1600 || db(Goertzel(got, 700)/Goertzel(got, 1000)) < 20 {
		t.Fatalf("sink got %d samples, 700 Hz %.1f dB over 1 kHz", len(got), db(Goertzel(got, 700)/Goertzel(got, 1000)))
	}
	r.Endpoint(SideA).SetSink(nil)

	ep := r.Endpoint(SideB)
	ep.Unbridge()
	seqs := continuity{t: t}
	var heard []int16
	for i := range 5 {
		ep.WriteAudio(sine(500, 8000, i*160, 160))
		p, _ := b.recv()
		seqs.check(p.SSRC, p.SequenceNumber)
		heard = append(heard, decodeUlaw(p.Payload)...)
	}
	if db(Goertzel(heard, 500)/Goertzel(heard, 1000)) < 20 {
		t.Fatal("phone did not hear the written audio")
	}
	if r.Endpoint(SideA).Peer() != nil || ep.Peer() != nil {
		t.Fatal("unbridge left a peer")
	}
}

// A phone that holds with a=inactive sends nothing: that silence is not a
// dead call, but silence after it resumes is.
func TestQuietEndpointDoesNotTimeOut(t *testing.T) {
	a := newPhone(t, 1)
	fired := make(chan struct{}, 10)
	e := echoFor(t, newAllocator(t), a, func(c *EchoConfig) {
		c.MediaTimeout = 20 * time.Millisecond
		c.OnTimeout = func(Side) { fired <- struct{}{} }
	})
	e.SetReceiving(false)
	select {
	case <-fired:
		t.Fatal("quiet endpoint timed out")
	case <-time.After(150 * time.Millisecond):
	}
	e.SetReceiving(true)
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("no timeout after receiving resumed")
	}
}

// WriteEncoded sends a payload as it is, continuing WriteAudio's stream;
// an Endpoint is a mixer output that takes shared encodes.
func TestWriteEncoded(t *testing.T) {
	var _ EncodedOutput = (*Endpoint)(nil)
	var _ ParticipantOutput = (*Endpoint)(nil)
	a, b := newPhone(t, 1), newPhone(t, 2)
	r := relayFor(t, newAllocator(t), a, b, nil)
	ep := r.Endpoint(SideB)
	ep.Unbridge()
	ep.WriteAudio(sine(500, 8000, 0, 160))
	first, _ := b.recv()
	payload := encodeUlaw(sine(500, 8000, 160, 160))
	ep.WriteEncoded(payload)
	p, _ := b.recv()
	if p.SSRC != first.SSRC || p.SequenceNumber != first.SequenceNumber+1 || p.Timestamp != first.Timestamp+160 || p.Marker {
		t.Fatalf("not the same stream: %+v after %+v", p.Header, first.Header)
	}
	if p.PayloadType != PayloadPCMU || !slices.Equal(p.Payload, payload) {
		t.Fatal("payload changed")
	}
	ep.WriteAudio(sine(500, 8000, 320, 160))
	if q, _ := b.recv(); q.Timestamp != p.Timestamp+160 || q.SequenceNumber != p.SequenceNumber+1 {
		t.Fatalf("WriteAudio after WriteEncoded: %+v", q.Header)
	}
}
