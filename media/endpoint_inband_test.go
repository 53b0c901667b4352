package media

import (
	"encoding/binary"
	"testing"
	"time"
)

// inBandEndpoint starts an endpoint for phone p with codec pt, sending
// the digits it reports to the returned channel.
func inBandEndpoint(t *testing.T, p *phone, pt uint8, inBand bool) (*Endpoint, chan Digit) {
	t.Helper()
	ports, err := newAllocator(t).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	digits := make(chan Digit, 32)
	e, err := NewEndpoint(EndpointConfig{
		Leg:        LegConfig{Ports: ports, Remote: p.addr(), PayloadType: pt, EventPayloadType: 101},
		OnDigit:    func(d Digit) { digits <- d },
		InBandDTMF: inBand,
	})
	if err != nil {
		ports.Release()
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, digits
}

// sendTones sends keys as in-band tones from tone sources (each frequency
// at -10 dBm0, 100 ms on, 100 ms off) in packets of codec pt.
func sendTones(t *testing.T, p *phone, e *Endpoint, pt uint8, keys string) {
	t.Helper()
	srcs := make([]Source, 0, len(keys))
	for _, k := range keys {
		lo, hi := dtmfFreqsOf(t, k)
		srcs = append(srcs, NewToneSource(ToneSpec{Freq1: lo, Freq2: hi, Level: -10,
			Cadence: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}, Repeats: 1}))
	}
	src := Concat(srcs...)
	pcm := make([]int16, FrameSamples)
	payload := make([]byte, FrameSamples)
	for {
		n, err := src.Read(pcm)
		if n > 0 {
			clear(pcm[n:])
			m := EncodePCM(payload, pcm, pt)
			p.send(e.Local(), pt, payload[:m])
		}
		if err != nil {
			return
		}
	}
}

// sendEvent sends one RFC 4733 press of event: a start and an end packet.
func sendEvent(p *phone, e *Endpoint, event uint8) {
	p.sendRaw(e.Local(), p.packet(101, []byte{event, 10, 0, 160}, true, 0))
	p.sendRaw(e.Local(), p.packet(101, []byte{event, 0x80 | 10, 3, 32}, false, 800))
}

// recvDigits waits for n digits.
func recvDigits(t *testing.T, ch chan Digit, n int) []Digit {
	t.Helper()
	var got []Digit
	for range n {
		select {
		case d := <-ch:
			got = append(got, d)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v, then no digit for 5 s", got)
		}
	}
	return got
}

func digitString(ds []Digit) string {
	var s []byte
	for _, d := range ds {
		if d.InBand {
			s = append(s, '~') // in-band marker
		}
		s = append(s, d.String()...)
	}
	return string(s)
}

// A phone that sends its keys as tones in G.711 audio is heard by
// OnDigit, until it sends an RFC 4733 event: from then on its keys are
// taken from the events only.
func TestEndpointInBandDTMF(t *testing.T) {
	for _, pt := range []uint8{PayloadPCMU, PayloadPCMA} {
		p := newPhone(t, 3)
		e, digits := inBandEndpoint(t, p, pt, true)
		sendTones(t, p, e, pt, "123#")
		if got := digitString(recvDigits(t, digits, 4)); got != "~1~2~3~#" {
			t.Errorf("PT %d: digits %q, want in-band 123#", pt, got)
		}
		// Events mute the in-band detector: the tones of 9 go unreported,
		// the event 7 after them is.
		sendEvent(p, e, 5)
		sendTones(t, p, e, pt, "9")
		sendEvent(p, e, 7)
		if got := digitString(recvDigits(t, digits, 2)); got != "57" {
			t.Errorf("PT %d: after events, digits %q, want 57 (no in-band 9)", pt, got)
		}
		if s := e.Stats(); s.Digits != 6 {
			t.Errorf("PT %d: Stats().Digits %d, want 6", pt, s.Digits)
		}
	}
}

// Without InBandDTMF, tones in the audio are just audio.
func TestEndpointInBandDTMFOff(t *testing.T) {
	p := newPhone(t, 4)
	e, digits := inBandEndpoint(t, p, PayloadPCMU, false)
	sendTones(t, p, e, PayloadPCMU, "4")
	sendEvent(p, e, 8)
	if got := digitString(recvDigits(t, digits, 1)); got != "8" {
		t.Errorf("digits %q, want only the event 8", got)
	}
}

// SetInBandDTMF(false) stops listening (tones pass as audio) and true
// listens again.
func TestEndpointSetInBandDTMF(t *testing.T) {
	p := newPhone(t, 6)
	e, digits := inBandEndpoint(t, p, PayloadPCMU, true)
	e.SetInBandDTMF(false)
	sendTones(t, p, e, PayloadPCMU, "4") // 10 packets
	for deadline := time.Now().Add(5 * time.Second); e.Stats().Packets < 10; {
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint took %d of 10 packets", e.Stats().Packets)
		}
		time.Sleep(time.Millisecond) // polls the endpoint's own count
	}
	e.SetInBandDTMF(true)
	sendTones(t, p, e, PayloadPCMU, "6")
	if got := digitString(recvDigits(t, digits, 1)); got != "~6" {
		t.Errorf("digits %q, want only the in-band 6 sent while listening", got)
	}
	select {
	case d := <-digits:
		t.Errorf("another digit %v", d)
	default:
	}
}

// The in-band detector adds no allocation to the packet path.
func TestEndpointInBandNoAllocs(t *testing.T) {
	e := newEndpoint(EndpointConfig{Leg: LegConfig{PayloadType: PayloadPCMU, EventPayloadType: 101}, InBandDTMF: true, OnDigit: func(Digit) {}})
	p := newPhone(t, 5)
	pcm := dtmfKeysAudio(t, "1", 0, 100*ms, 100*ms, -10, 0)
	pkts := make([][]byte, 0, len(pcm)/FrameSamples)
	for i := 0; i+FrameSamples <= len(pcm); i += FrameSamples {
		pkts = append(pkts, p.packet(PayloadPCMU, encodeUlaw(pcm[i:i+FrameSamples]), false, FrameSamples))
	}
	from := p.addr()
	buf := make([]byte, maxPacket)
	var now time.Duration
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		n := copy(buf, pkts[i%len(pkts)])
		i++
		now += 20 * time.Millisecond
		e.process(buf[:n], from, now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per packet, want 0", allocs)
	}
}

// BenchmarkRelayProcessInBand is BenchmarkRelayProcess with in-band DTMF
// detection on the receiving endpoint.
func BenchmarkRelayProcessInBand(b *testing.B) {
	p := newPhone(b, 5)
	d := newEndpoint(EndpointConfig{Leg: LegConfig{PayloadType: PayloadPCMU, EventPayloadType: 101}, InBandDTMF: true, OnDigit: func(Digit) {}})
	Bridge(d, newEndpoint(EndpointConfig{Leg: LegConfig{PayloadType: PayloadPCMA, EventPayloadType: 96}}))
	from := p.addr()
	src := p.packet(PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)), false, 160)
	pkt := make([]byte, len(src))
	var now time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		copy(pkt, src)
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		now += 20 * time.Millisecond
		d.process(pkt, from, now)
	}
}
