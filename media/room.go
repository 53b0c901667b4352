package media

import (
	"sync"
	"sync/atomic"
)

// Room is one conference on a Mixer: its participants hear each other.
type Room struct {
	m      *Mixer
	mu     sync.Mutex // guards parts and closed; held while the room mixes
	parts  []*Participant
	index  int // in m.rooms, under m.mu
	closed bool

	// The tick's work, under mu.
	talkers []*Participant // the loudest talkers this tick, at most m.loudest
	prev    []*Participant // last tick's talkers
	mixing  []*Participant // talkers and those fading out: in the sum
	sum     [FrameSamples]int32
	full    [FrameSamples]int16 // the full mix: what everyone else hears
	silent  bool                // full is all zero
	enc     [2][FrameSamples]byte
	encDone [2]bool // enc[i] holds this tick's full mix in codec i
}

// JoinOptions configures a participant.
type JoinOptions struct {
	// Muted joins muted: heard by no one until SetMuted(false).
	Muted bool
	// JitterFrames is how many frames the jitter buffer holds before it
	// plays (at the start and after an underrun); 2 by default, at most 5.
	JitterFrames int
}

// Participant is one party in a Room. It is the AudioSink for the
// party's decoded audio (set it on their Endpoint with SetSink); what the
// party hears goes to the ParticipantOutput it joined with.
type Participant struct {
	room *Room
	out  ParticipantOutput
	enc  EncodedOutput // out, if it takes encoded frames

	muted   atomic.Bool
	talking atomic.Bool
	paused  atomic.Bool // hears nothing from the room for now
	jb      jitterBuffer

	// feed, for a participant Play made, is read each tick instead of the
	// jitter buffer; done is closed when it ends.
	feed     Source
	done     chan struct{}
	feedDone bool

	// The tick's state, under room.mu.
	index       int // in room.parts
	left        bool
	frame       [FrameSamples]int16
	power       int64               // mean square of frame
	level       int64               // power, falling slowly: the ranking of talkers
	hang        int                 // frames of talking left
	key         int64               // level, with a bonus for a talker already mixed
	selected    bool                // among the loudest talkers this tick
	wasSelected bool                // and the tick before
	mixed       bool                // in this tick's sum (a talker, or fading out)
	contrib     [FrameSamples]int16 // what it adds to the sum: frame, faded in or out
	own         [FrameSamples]int16
	ownEnc      [FrameSamples]byte
}

// Join adds a participant who hears through out. Joining a closed room
// returns a participant that is not in any room (Leave does nothing).
func (r *Room) Join(out ParticipantOutput, opts JoinOptions) *Participant {
	p := &Participant{room: r, out: out}
	p.enc, _ = out.(EncodedOutput)
	p.muted.Store(opts.Muted)
	p.jb.init(opts.JitterFrames)
	r.add(p)
	return p
}

// add puts p in the room, which the mixer's next tick reads: p must be
// complete before.
func (r *Room) add(p *Participant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		p.left = true
		return
	}
	p.index = len(r.parts)
	r.parts = append(r.parts, p)
	r.m.nParted.Add(1)
}

// Play joins a participant whose audio is src, read one frame each tick
// on the mixer's clock, and who hears nothing: tones and announcements
// for everyone in the room, music for a lone participant. Its Done channel
// closes when src ends; Leave removes it (at once, or once done).
func (r *Room) Play(src Source) *Participant {
	p := &Participant{room: r, out: discardOutput{}, feed: src, done: make(chan struct{})}
	p.jb.init(0)
	r.add(p)
	return p
}

type discardOutput struct{}

func (discardOutput) WriteAudio([]int16) {}

// Done is closed when the source of a participant Play made has ended; it
// is nil for a participant that joined.
func (p *Participant) Done() <-chan struct{} { return p.done }

// Participants returns the room's participants now, in no set order.
func (r *Room) Participants() []*Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Participant(nil), r.parts...)
}

// Close removes the room and its participants from the mixer; nothing
// more is sent to their outputs once Close returns. It is idempotent.
func (r *Room) Close() {
	m := r.m
	m.mu.Lock() // waits for a tick in progress
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		m.mu.Unlock()
		return
	}
	r.closed = true
	last := len(m.rooms) - 1
	m.rooms[r.index] = m.rooms[last]
	m.rooms[r.index].index = r.index
	m.rooms[last] = nil
	m.rooms = m.rooms[:last]
	m.nRooms.Add(-1)
	m.nParted.Add(-int64(len(r.parts)))
	for _, p := range r.parts {
		p.left = true
	}
	r.parts = nil
	r.mu.Unlock()
	m.mu.Unlock()
}

// Leave removes the participant from its room; nothing more is sent to
// its output once Leave returns. It is idempotent.
func (p *Participant) Leave() {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.left {
		return
	}
	p.left = true
	last := len(r.parts) - 1
	r.parts[p.index] = r.parts[last]
	r.parts[p.index].index = p.index
	r.parts[last] = nil
	r.parts = r.parts[:last]
	r.m.nParted.Add(-1)
}

// WriteAudio takes the party's decoded audio (AudioSink), in frames of any
// size. It copies into the jitter buffer and never waits for the mix.
func (p *Participant) WriteAudio(pcm []int16) { p.jb.write(pcm) }

// PauseOutput stops (on) or resumes sending the room to the participant's
// output, while they stay in the room and are still heard: for playing
// them something of their own (a prompt) in between.
func (p *Participant) PauseOutput(on bool) { p.paused.Store(on) }

// SetMuted mutes or unmutes the participant: a muted party is heard by no
// one but still hears the room.
func (p *Participant) SetMuted(on bool) { p.muted.Store(on) }

// Muted reports whether the participant is muted.
func (p *Participant) Muted() bool { return p.muted.Load() }

// Talking reports whether the participant's audio was above the talking
// level within the last 200 ms (whether muted or not).
func (p *Participant) Talking() bool { return p.talking.Load() }

// mix runs the room's tick: read, rank, mix, limit, deliver.
func (r *Room) mix() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.talkers = r.talkers[:0]
	threshold := r.m.threshold
	for _, p := range r.parts {
		p.power = 0
		if p.feed != nil {
			if p.readFeed() {
				p.power = framePower(&p.frame)
			}
		} else if p.jb.pop(&p.frame) {
			p.power = framePower(&p.frame)
		}
		if p.power > threshold {
			p.hang = talkHangover
		} else if p.hang > 0 {
			p.hang--
		}
		if talking := p.hang > 0; talking != p.talking.Load() {
			p.talking.Store(talking)
		}
		// The ranking level follows a rise at once and falls by about
		// 0.6 dB a frame, so a talker's pauses between syllables do not
		// hand their place to a quieter one.
		p.level = max(p.power, p.level-p.level/8)
		p.wasSelected = p.selected
		p.selected, p.mixed = false, false
		p.key = p.level
		if p.wasSelected {
			p.key += p.level // +3 dB for a talker already mixed
		}
		if p.hang > 0 && !p.muted.Load() {
			r.rank(p)
		}
	}
	for i := range r.encDone {
		r.encDone[i] = false
	}
	// What is summed: the talkers, a new one fading in over its first
	// frame, and last tick's talkers that are out now (displaced, muted,
	// silent) fading out over this one, so nobody enters or leaves the mix
	// with a click.
	r.mixing = r.mixing[:0]
	for _, t := range r.talkers {
		t.selected = true
	}
	for _, t := range r.talkers {
		if t.wasSelected {
			t.contrib = t.frame
		} else {
			fadeIn(&t.contrib, &t.frame)
		}
		r.mixing = append(r.mixing, t)
	}
	for _, p := range r.prev {
		if !p.selected && !p.left {
			fadeOut(&p.contrib, &p.frame)
			r.mixing = append(r.mixing, p)
		}
	}
	r.prev = append(r.prev[:0], r.talkers...)
	if len(r.mixing) == 0 {
		if !r.silent {
			r.full = [FrameSamples]int16{}
			r.silent = true
		}
	} else {
		r.silent = false
		for i, s := range r.mixing[0].contrib {
			r.sum[i] = int32(s)
		}
		for _, t := range r.mixing[1:] {
			for i, s := range t.contrib {
				r.sum[i] += int32(s)
			}
		}
		limitFrame(&r.full, &r.sum)
		for _, t := range r.mixing {
			t.mixed = true
			limitFrameMinus(&t.own, &r.sum, &t.contrib)
		}
	}
	for _, p := range r.parts {
		r.deliver(p)
	}
}

// readFeed reads the next frame of a played source into p.frame; false
// once it has ended (the frame is then silence).
func (p *Participant) readFeed() bool {
	if p.feedDone {
		return false
	}
	n := 0
	for n < FrameSamples {
		m, err := p.feed.Read(p.frame[n:])
		n += m
		if err != nil || m == 0 {
			clear(p.frame[n:])
			p.feedDone = true
			close(p.done)
			return n > 0
		}
	}
	return true
}

// rank inserts p among the room's loudest talkers if it is loud enough.
// A talker already in the mix ranks 3 dB louder, so two talkers of about
// the same level do not swap places every frame.
func (r *Room) rank(p *Participant) {
	n := len(r.talkers)
	if n == cap(r.talkers) {
		if p.key <= r.talkers[n-1].key {
			return
		}
		n-- // the quietest makes room
	} else {
		r.talkers = r.talkers[:n+1]
	}
	i := n
	for i > 0 && p.key > r.talkers[i-1].key {
		r.talkers[i] = r.talkers[i-1]
		i--
	}
	r.talkers[i] = p
}

// deliver hands p this tick's frame: its own mix-minus if it is in the sum,
// else the room's shared full mix; encoded once per codec for outputs
// that take encoded frames.
func (r *Room) deliver(p *Participant) {
	if p.paused.Load() {
		return
	}
	if p.mixed {
		if p.enc != nil {
			pt := p.enc.PayloadType()
			if n := EncodePCM(p.ownEnc[:], p.own[:], pt); n > 0 {
				p.enc.WriteEncoded(p.ownEnc[:n])
				return
			}
		}
		p.out.WriteAudio(p.own[:])
		return
	}
	if p.enc != nil {
		pt := p.enc.PayloadType()
		if c := codecIndex(pt); c >= 0 {
			if !r.encDone[c] {
				EncodePCM(r.enc[c][:], r.full[:], pt)
				r.encDone[c] = true
			}
			p.enc.WriteEncoded(r.enc[c][:])
			return
		}
	}
	p.out.WriteAudio(r.full[:])
}

// codecIndex numbers the codecs a room encodes its shared mix in.
func codecIndex(pt uint8) int {
	switch pt {
	case PayloadPCMU:
		return 0
	case PayloadPCMA:
		return 1
	}
	return -1
}

// fadeIn writes src rising linearly from silence over the frame.
func fadeIn(dst, src *[FrameSamples]int16) {
	for i, s := range src {
		dst[i] = int16(int32(s) * int32(i+1) / FrameSamples)
	}
}

// fadeOut writes src falling linearly to silence over the frame.
func fadeOut(dst, src *[FrameSamples]int16) {
	for i, s := range src {
		dst[i] = int16(int32(s) * int32(FrameSamples-1-i) / FrameSamples)
	}
}

// framePower is a frame's mean square.
func framePower(f *[FrameSamples]int16) int64 {
	var s int64
	for _, x := range f {
		s += int64(x) * int64(x)
	}
	return s / FrameSamples
}
