package media

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// mixOut records what a participant hears.
type mixOut struct {
	mu     sync.Mutex
	pcm    []int16
	last   []int16 // the slice passed last (shared buffers are compared by address)
	frames int
	closed atomic.Bool // set once the participant has left: no more writes
	t      testing.TB
}

func (o *mixOut) WriteAudio(pcm []int16) {
	if o.closed.Load() {
		o.t.Error("a frame after Leave or Close returned")
	}
	o.mu.Lock()
	o.pcm = append(o.pcm, pcm...)
	o.last = pcm
	o.frames++
	o.mu.Unlock()
}

// lastFrame is the last frame heard.
func (o *mixOut) lastFrame() []int16 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pcm[len(o.pcm)-FrameSamples:]
}

// encOut takes encoded frames.
type encOut struct {
	mixOut
	pt      uint8
	payload []byte
	encoded int
}

func (o *encOut) PayloadType() uint8 { return o.pt }
func (o *encOut) WriteEncoded(p []byte) {
	o.payload = p
	o.encoded++
}

// testRoom is a mixer (not started: the test ticks it) with one room.
func testRoom(t testing.TB, loudest int) (*Mixer, *Room) {
	m := NewMixer(MixerOptions{Loudest: loudest})
	return m, m.NewRoom()
}

// join adds a participant with a one-frame jitter buffer, so a frame
// written before a tick is mixed in that tick.
func join(t testing.TB, r *Room) (*Participant, *mixOut) {
	o := &mixOut{t: t}
	return r.Join(o, JoinOptions{JitterFrames: 1}), o
}

// tone is one participant's test signal.
type tone struct {
	p    *Participant
	freq float64
	amp  float64
}

// run feeds each tone's next frame and ticks, n times.
func run(m *Mixer, tones []tone, n int) {
	for i := range n {
		for _, tn := range tones {
			tn.p.WriteAudio(sine(tn.freq, tn.amp, i*FrameSamples, FrameSamples))
		}
		m.tick()
	}
}

func TestMixerSumsAndMixMinus(t *testing.T) {
	m, r := testRoom(t, 3)
	a, oa := join(t, r)
	b, ob := join(t, r)
	c, oc := join(t, r)
	_ = c
	// The first frame fades the talkers in; the second is the plain sum.
	run(m, []tone{{a, 440, 6000}, {b, 1000, 6000}}, 2)
	sa, sb := sine(440, 6000, FrameSamples, FrameSamples), sine(1000, 6000, FrameSamples, FrameSamples)
	for i := range FrameSamples {
		if got, want := oc.lastFrame()[i], sa[i]+sb[i]; got != want {
			t.Fatalf("listener sample %d = %d, want the sum %d", i, got, want)
		}
		if oa.lastFrame()[i] != sb[i] || ob.lastFrame()[i] != sa[i] {
			t.Fatalf("sample %d: A heard %d (want B's %d), B heard %d (want A's %d)", i, oa.lastFrame()[i], sb[i], ob.lastFrame()[i], sa[i])
		}
	}
}

// Three talkers with different tones: each hears the other two, not
// themself, measured per frequency.
func TestMixerEachHearsOthersNotThemself(t *testing.T) {
	m, r := testRoom(t, 3)
	freqs := []float64{440, 770, 1209}
	var tones []tone
	var outs []*mixOut
	for _, f := range freqs {
		p, o := join(t, r)
		tones = append(tones, tone{p, f, 8000})
		outs = append(outs, o)
	}
	run(m, tones, 25)
	for i, o := range outs {
		own := Goertzel(o.pcm, freqs[i])
		for j, f := range freqs {
			if p := Goertzel(o.pcm, f); i != j && (p < 1e6 || db(p/own) < 50) {
				t.Errorf("participant %d: %g Hz at %.0f dB over its own %g Hz", i, f, db(p/own), freqs[i])
			}
		}
	}
}

func TestMixerMutedNotHeard(t *testing.T) {
	m, r := testRoom(t, 3)
	a, oa := join(t, r)
	b, _ := join(t, r)
	_, oc := join(t, r)
	a.SetMuted(true)
	run(m, []tone{{a, 440, 8000}, {b, 1000, 8000}}, 10)
	if d := db(Goertzel(oc.pcm, 1000) / Goertzel(oc.pcm, 440)); d < 50 {
		t.Errorf("the muted tone is heard, %.0f dB under the other", d)
	}
	if Goertzel(oc.pcm, 1000) < 1e6 || Goertzel(oa.pcm, 1000) < 1e6 {
		t.Error("the unmuted talker is not heard, or the muted party does not hear")
	}
	if !a.Talking() || !a.Muted() {
		t.Error("a muted talker should still show as talking and muted")
	}
	a.SetMuted(false)
	oc.pcm = nil
	run(m, []tone{{a, 440, 8000}, {b, 1000, 8000}}, 10)
	if Goertzel(oc.pcm, 440) < 1e6 {
		t.Error("unmuted talker not heard")
	}
}

// A talker enters the mix fading in and leaves it (muted here) fading
// out, so neither makes a click; then it is gone.
func TestMixerFadesTalkersInAndOut(t *testing.T) {
	m, r := testRoom(t, 3)
	a, _ := join(t, r)
	_, o := join(t, r)
	flat := slices.Repeat([]int16{8000}, FrameSamples)
	for i := range 4 {
		if i == 2 {
			a.SetMuted(true)
		}
		a.WriteAudio(flat)
		m.tick()
		f := o.lastFrame()
		switch i {
		case 0: // in: rising from near 0 to the full level
			if f[0] > 100 || f[FrameSamples-1] != 8000 || !slices.IsSorted(f) {
				t.Fatalf("fade in: %d … %d", f[0], f[FrameSamples-1])
			}
		case 1:
			if f[0] != 8000 || f[FrameSamples-1] != 8000 {
				t.Fatal("not the talker's level")
			}
		case 2: // out: falling from the full level to 0
			if f[0] < 7900 || f[FrameSamples-1] != 0 {
				t.Fatalf("fade out: %d … %d", f[0], f[FrameSamples-1])
			}
		case 3:
			if slices.Max(f) != 0 {
				t.Fatal("the muted talker is still heard")
			}
		}
	}
}

func TestLimiter(t *testing.T) {
	// Small signals pass unchanged, the curve is monotonic, odd and
	// never reaches full scale.
	for x := int32(-limitKnee); x <= limitKnee; x++ {
		if limit(x) != int16(x) {
			t.Fatalf("limit(%d) = %d", x, limit(x))
		}
	}
	prev := limit(-400000)
	for x := int32(-400000); x <= 400000; x++ {
		y := limit(x)
		if y < prev || y >= 32767 || y <= -32767 || limit(-x) != -y {
			t.Fatalf("limit(%d) = %d after %d, limit(-x) = %d", x, y, prev, limit(-x))
		}
		prev = y
	}

	// Two full-scale tones in phase (peaks of twice full scale), and two
	// of different frequencies: no clipping, no flat tops.
	for _, f2 := range []float64{440, 697} {
		m, r := testRoom(t, 3)
		a, _ := join(t, r)
		b, _ := join(t, r)
		_, oc := join(t, r)
		run(m, []tone{{a, 440, 32767}, {b, f2, 32767}}, 10)
		peak, run := 0, 0
		for i, s := range oc.pcm {
			peak = max(peak, int(math.Abs(float64(s))))
			if i > 0 && s == oc.pcm[i-1] && math.Abs(float64(s)) > limitKnee {
				run++
				if run >= 2 {
					t.Fatalf("%g+%g Hz: a flat top at sample %d (%d)", 440.0, f2, i, s)
				}
			} else {
				run = 0
			}
		}
		if peak >= 32767 || peak < 25000 {
			t.Errorf("%g+%g Hz: peak %d, want loud but below full scale", 440.0, f2, peak)
		}
	}
}

func TestJitterConcealment(t *testing.T) {
	var j jitterBuffer
	j.init(1)
	var f [FrameSamples]int16
	if j.pop(&f) || f != ([FrameSamples]int16{}) {
		t.Fatal("an empty buffer without history should give silence")
	}
	src := sine(500, 10000, 0, FrameSamples)
	j.write(src)
	if !j.pop(&f) || !slices.Equal(f[:], src) {
		t.Fatal("the frame written is not the frame popped")
	}
	prevPower := framePower((*[FrameSamples]int16)(src))
	for k := range 4 {
		if !j.pop(&f) {
			t.Fatalf("missing frame %d: not concealed", k+1)
		}
		p := framePower(&f)
		// An attenuated repeat: the same waveform, quieter than before.
		if p >= prevPower || p == 0 {
			t.Fatalf("concealed frame %d power %d, before %d", k+1, p, prevPower)
		}
		for i := range f {
			if (f[i] > 0) != (src[i] > 0) && f[i] != 0 {
				t.Fatalf("concealed frame %d is not a repeat at sample %d", k+1, i)
			}
		}
		prevPower = p
	}
	if k := f[FrameSamples-1]; k != 0 {
		t.Fatalf("the fade does not end at silence: %d", k)
	}
	for range 3 {
		if j.pop(&f) || f != ([FrameSamples]int16{}) {
			t.Fatal("after the fade there should be silence")
		}
	}
	// Audio again: played at once (prefill 1), the fade forgotten.
	j.write(src)
	if !j.pop(&f) || !slices.Equal(f[:], src) {
		t.Fatal("audio after silence not played")
	}
}

func TestJitterAbsorbsLateFrameAndBoundsDelay(t *testing.T) {
	var j jitterBuffer
	j.init(2)
	var f [FrameSamples]int16
	frame := func(v int16) []int16 { return slices.Repeat([]int16{v}, FrameSamples) }
	j.write(frame(1))
	if j.pop(&f) {
		t.Fatal("played before the prefill")
	}
	j.write(frame(2))
	j.pop(&f) // 1; 2 is left
	// Frame 3 is a tick late: 2 plays in its place, nothing is concealed.
	if !j.pop(&f) || f[0] != 2 {
		t.Fatalf("got %d, want frame 2", f[0])
	}
	// A burst: 3..9 arrive at once; only the newest four are kept.
	for v := int16(3); v <= 9; v++ {
		j.write(frame(v))
	}
	if !j.pop(&f) || f[0] != 6 || j.dropped != 3 {
		t.Fatalf("after a burst got %d with %d dropped, want 6 and 3", f[0], j.dropped)
	}
	// Odd frame sizes (a 30 ms phone) are reassembled.
	var k jitterBuffer
	k.init(1)
	k.write(frame(7)[:100])
	k.write(frame(7)[:100])
	if !k.pop(&f) || f[0] != 7 || f[159] != 7 {
		t.Fatal("frames of 100 samples not reassembled")
	}
}

// Six talkers at different levels, three mixed: only the three loudest
// are heard.
func TestMixerLoudestTalkers(t *testing.T) {
	m, r := testRoom(t, 3)
	freqs := []float64{350, 500, 700, 1000, 1400, 2000}
	amps := []float64{2000, 9000, 1000, 7000, 3000, 5000} // loudest: 500, 1000, 2000
	var tones []tone
	for i := range freqs {
		p, _ := join(t, r)
		tones = append(tones, tone{p, freqs[i], amps[i]})
	}
	listener, o := join(t, r)
	run(m, tones, 10)
	for i, f := range freqs {
		heard := Goertzel(o.pcm, f) > 1e5
		if want := amps[i] >= 5000; heard != want {
			t.Errorf("%g Hz at %g: heard %v, want %v", f, amps[i], heard, want)
		}
		if !tones[i].p.Talking() {
			t.Errorf("%g Hz: not talking", f)
		}
	}
	if listener.Talking() {
		t.Error("a silent listener shows as talking")
	}
	// Silence: talking ends after the hangover.
	for range len(concealGains()) + talkHangover + 1 {
		m.tick()
	}
	if tones[0].p.Talking() {
		t.Error("still talking after the fade and 220 ms of silence")
	}
}

// Everyone who is not mixed hears one shared buffer, and for encoded
// outputs one payload per codec.
func TestMixerSharedOutput(t *testing.T) {
	m, r := testRoom(t, 3)
	a, oa := join(t, r)
	b, ob := join(t, r)
	var plain []*mixOut
	for range 3 {
		_, o := join(t, r)
		plain = append(plain, o)
	}
	var enc []*encOut
	for i := range 6 {
		o := &encOut{mixOut: mixOut{t: t}, pt: []uint8{PayloadPCMU, PayloadPCMA}[i%2]}
		r.Join(o, JoinOptions{JitterFrames: 1})
		enc = append(enc, o)
	}
	run(m, []tone{{a, 440, 8000}, {b, 1000, 8000}}, 1)
	for _, o := range plain[1:] {
		if &o.last[0] != &plain[0].last[0] {
			t.Fatal("listeners got different buffers")
		}
	}
	if &oa.last[0] == &plain[0].last[0] || &ob.last[0] == &plain[0].last[0] || &oa.last[0] == &ob.last[0] {
		t.Fatal("a talker got the shared buffer")
	}
	for i, o := range enc {
		if o.frames != 0 || o.encoded != 1 {
			t.Fatalf("encoded output %d: %d frames, %d payloads", i, o.frames, o.encoded)
		}
		if &o.payload[0] != &enc[i%2].payload[0] {
			t.Fatalf("encoded output %d did not share its codec's payload", i)
		}
		want := make([]byte, FrameSamples)
		EncodePCM(want, plain[0].last, o.pt)
		if !slices.Equal(o.payload, want) {
			t.Fatalf("encoded output %d: payload is not the full mix", i)
		}
	}
	if &enc[0].payload[0] == &enc[1].payload[0] {
		t.Fatal("PCMU and PCMA share a payload")
	}
}

func TestMixerTickDoesNotAllocate(t *testing.T) {
	m, r := testRoom(t, 3)
	var ps []*Participant
	for i := range 8 {
		var o ParticipantOutput = nopOutput{}
		if i%2 == 0 {
			o = nopEncoded{pt: PayloadPCMA}
		}
		ps = append(ps, r.Join(o, JoinOptions{JitterFrames: 1}))
	}
	frame := sine(440, 8000, 0, FrameSamples)
	if a := testing.AllocsPerRun(100, func() {
		for _, p := range ps[:4] {
			p.WriteAudio(frame)
		}
		m.tick()
	}); a != 0 {
		t.Fatalf("%.1f allocations a tick", a)
	}
}

func TestMixerStats(t *testing.T) {
	m, r := testRoom(t, 3)
	join(t, r)
	p, _ := join(t, r)
	m.NewRoom().Close()
	for range 5 {
		m.tick()
	}
	s := m.Stats()
	if s.Ticks != 5 || s.Rooms != 1 || s.Participants != 2 || s.TotalTickDuration < s.LastTickDuration {
		t.Fatalf("stats %+v", s)
	}
	p.Leave()
	p.Leave()
	r.Close()
	r.Close()
	if s := m.Stats(); s.Rooms != 0 || s.Participants != 0 {
		t.Fatalf("after leave and close: %+v", s)
	}
	h := m.TickHistogram()
	if len(h) != 10 || h[len(h)-1].Count != 5 || h[len(h)-1].UpperBound != math.MaxInt64 {
		t.Fatalf("histogram %+v", h)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Count < h[i-1].Count || h[i].UpperBound <= h[i-1].UpperBound {
			t.Fatalf("histogram not cumulative: %+v", h)
		}
	}
	// A closed room takes no one.
	if q := r.Join(&mixOut{t: t}, JoinOptions{}); len(r.Participants()) != 0 {
		t.Fatal("joined a closed room")
	} else {
		q.Leave()
	}
}

// Joining, leaving and closing while the clock runs and phones write:
// for the race detector, and nothing is written to an output after Leave
// or Close returns.
func TestMixerLeaveAndCloseWhileTicking(t *testing.T) {
	m := NewMixer(MixerOptions{Period: time.Millisecond})
	m.Start(context.Background())
	m.Start(context.Background()) // a no-op
	defer m.Stop()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				r := m.NewRoom()
				var outs []*mixOut
				var ps []*Participant
				for range 4 {
					p, o := join(t, r)
					outs, ps = append(outs, o), append(ps, p)
				}
				for i := range 10 {
					for _, p := range ps {
						p.WriteAudio(sine(300+float64(g)*100, 5000, i*FrameSamples, FrameSamples))
					}
					_ = r.Participants()
					_ = ps[0].Talking()
					time.Sleep(200 * time.Microsecond) // let ticks interleave
				}
				ps[0].Leave()
				outs[0].closed.Store(true)
				ps[0].WriteAudio(make([]int16, FrameSamples)) // harmless after Leave
				r.Close()
				for _, o := range outs {
					o.closed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	m.Stop()
	if s := m.Stats(); s.Ticks == 0 || s.Rooms != 0 || s.Participants != 0 {
		t.Fatalf("stats %+v", s)
	}
}

type nopOutput struct{}

func (nopOutput) WriteAudio([]int16) {}

type nopEncoded struct{ pt uint8 }

func (nopEncoded) WriteAudio([]int16)    {}
func (o nopEncoded) PayloadType() uint8  { return o.pt }
func (nopEncoded) WriteEncoded(p []byte) {}

// slowOutput overruns the tick, as a stuck output would.
type slowOutput struct{ d time.Duration }

func (o slowOutput) WriteAudio([]int16) { time.Sleep(o.d) }

func TestMixerCountsLateTicks(t *testing.T) {
	m := NewMixer(MixerOptions{Period: 2 * time.Millisecond})
	r := m.NewRoom()
	r.Join(slowOutput{5 * time.Millisecond}, JoinOptions{})
	m.Start(context.Background())
	waitFor(t, "late ticks", func() bool { return m.Stats().LateTicks >= 3 })
	m.Stop()
	m.Stop() // idempotent
	if s := m.Stats(); s.LateTicks > s.Ticks || s.LastTickDuration < 5*time.Millisecond {
		t.Fatalf("stats %+v", s)
	}
}

// A played source is heard by everyone in the room for as long as it
// lasts, then its Done closes and it adds nothing.
func TestRoomPlay(t *testing.T) {
	m, r := testRoom(t, 3)
	_, oa := join(t, r)
	_, ob := join(t, r)
	src := NewPCMSource(sine(1000, 8000, 0, 5*FrameSamples+40)) // a partial last frame
	fp := r.Play(src)
	for range 6 {
		m.tick()
	}
	select {
	case <-fp.Done():
	default:
		t.Fatal("Done not closed after the source ended")
	}
	for i, o := range []*mixOut{oa, ob} {
		if p := Goertzel(o.pcm[FrameSamples:5*FrameSamples], 1000); p < 1e6 {
			t.Errorf("participant %d did not hear the played tone: %g", i, p)
		}
	}
	fp.Leave()
	m.tick()
	if p := Goertzel(oa.lastFrame(), 1000); p > 1 {
		t.Errorf("tone still heard after it ended: %g", p)
	}
	if got := len(r.Participants()); got != 2 {
		t.Errorf("%d participants after the player left, want 2", got)
	}
}

// A paused output hears nothing, while its party is still heard.
func TestParticipantPauseOutput(t *testing.T) {
	m, r := testRoom(t, 3)
	a, oa := join(t, r)
	b, ob := join(t, r)
	a.PauseOutput(true)
	run(m, []tone{{a, 440, 8000}, {b, 1000, 8000}}, 3)
	if oa.frames != 0 {
		t.Errorf("paused participant got %d frames", oa.frames)
	}
	if p := Goertzel(ob.pcm, 440); p < 1e6 {
		t.Errorf("a paused participant is no longer heard: %g", p)
	}
	a.PauseOutput(false)
	run(m, []tone{{b, 1000, 8000}}, 2)
	if oa.frames != 2 || Goertzel(oa.pcm, 1000) < 1e6 {
		t.Errorf("after resume: %d frames, 1000 Hz %g", oa.frames, Goertzel(oa.pcm, 1000))
	}
}
