// Package conference is the call application of conference rooms
// (conference:NNN): a caller enters the room's PIN if it has one (the
// moderator PIN makes them a moderator), hears "you are the only
// participant" when the room is empty, and is then mixed with everyone
// else in the room by one media.Mixer: each hears all but themself. In the
// room, *6 toggles the caller's own mute; a moderator's *7 locks and
// unlocks the room and *8 mutes and unmutes everyone else. The
// administrator sees the live participants and mutes or removes them
// through the App's methods (the REST API). It uses only the callapp seam,
// media/ and the store.
package conference

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
)

// Prompts the application plays.
const (
	promptPIN          = "conference-pin"
	promptWrongPIN     = "wrong-pin"
	promptGoodbye      = "goodbye"
	promptOnly         = "only-participant"
	promptJoined       = "joined-conference"
	promptLocked       = "conference-locked"
	promptFull         = "conference-full"
	promptMuted        = "muted"
	promptUnmuted      = "unmuted"
	promptNowLocked    = "conference-now-locked"
	promptNowUnlocked  = "conference-now-unlocked"
	promptOthersMuted  = "others-muted"
	promptOthersSpeak  = "others-unmuted"
	promptMusicOnHold  = store.PromptMusicOnHold
	maxPINTries        = 3
	maxPINDigits       = 12
	pinFirstDigit      = 8 * time.Second
	pinInterDigit      = 4 * time.Second
	commandInterDigit  = 3 * time.Second
	talkingPollPeriod  = 200 * time.Millisecond
	defaultJitterFrame = 2
)

// Three-way calls: AdHocCode dialed by an extension reaches that
// extension's own temporary room, made when the first caller joins and gone
// when the last leaves. A phone in "network conference" mode calls it and
// then transfers (REFER) both of its other calls' parties to the same code,
// which from that phone means the same room.
const (
	AdHocCode          = "*3"
	adHocPrefix        = "adhoc-"
	adHocParticipants  = 10
	adHocNameFormatter = "Three-way call of %s"
)

// AdHocRoom is the target of owner's temporary room.
func AdHocRoom(owner string) string { return adHocPrefix + owner }

// In-call key commands.
const (
	KeyMute       = "*6" // toggle own mute
	KeyLock       = "*7" // moderator: lock or unlock the room
	KeyMuteOthers = "*8" // moderator: mute or unmute everyone else
)

// Causes written to the call record.
const (
	CauseNoRoom   = "no such conference room"
	CauseWrongPIN = "wrong conference PIN"
	CauseLocked   = "conference locked"
	CauseFull     = "conference full"
	CauseKicked   = "removed from conference"
	CauseClosed   = "conferences shut down"
)

// Errors of the live-room methods.
var (
	// ErrNoParticipant: the room is not live or has no such participant.
	ErrNoParticipant = errors.New("no such participant")
)

// Participant is one caller in a live room, as the API shows it.
type Participant struct {
	ID        string // the call's ID
	Number    string // caller ID number
	Name      string // caller ID name
	JoinedAt  time.Time
	Muted     bool
	Talking   bool
	Moderator bool
}

// App runs conference rooms on one mixer.
type App struct {
	Store *store.Store
	Log   *slog.Logger
	// Mixer options (tests shorten nothing here; zero takes defaults).
	MixerOptions media.MixerOptions

	musicOnce    sync.Once
	builtinMusic []int16

	startOnce sync.Once
	mixer     *media.Mixer
	stop      context.CancelFunc

	mu       sync.Mutex
	rooms    map[string]*room // live rooms by number
	watchers map[chan struct{}]struct{}
	polling  bool // the talking poller runs
	closed   bool
}

// room is a live conference room.
type room struct {
	number      string
	mix         *media.Room
	members     []*member // in join order; admitted ones too, not yet mixed
	locked      bool
	othersMuted bool               // a moderator muted everyone else
	music       *media.Participant // music for a lone participant, or nil
	musicPCM    []int16            // what music plays
	conf        store.Conference
}

// member is one call in a room.
type member struct {
	call      callapp.Call
	joinedAt  time.Time
	moderator bool
	p         *media.Participant // nil until mixed
	kick      context.CancelFunc
	kicked    bool
}

// New returns the application; its mixer starts with the first room.
func New(st *store.Store, log *slog.Logger) *App {
	if log == nil {
		log = slog.Default()
	}
	return &App{Store: st, Log: log}
}

func (a *App) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

// start runs the mixer, once.
func (a *App) start() {
	a.startOnce.Do(func() {
		a.mixer = media.NewMixer(a.MixerOptions)
		ctx, cancel := context.WithCancel(context.Background())
		a.stop = cancel
		a.mixer.Start(ctx)
	})
}

// Close stops the mixer; calls still in rooms hear nothing more. For
// shutdown, after the engine has ended the calls.
func (a *App) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.startOnce.Do(func() {}) // no mixer starts from now on
	if a.mixer != nil {
		a.stop()
		a.mixer.Stop()
	}
}

// Run puts the call in room number until the caller hangs up or is
// removed.
func (a *App) Run(call callapp.Call, number string) {
	log := a.log().With("call", call.ID(), "conference", number)
	ctx := call.Context()
	conf, err := a.room(ctx, number)
	if err != nil {
		log.Error("conference room", "error", err)
		call.Hangup(CauseNoRoom)
		return
	}
	moderator, ok := a.authenticate(call, conf, log)
	if !ok {
		if ctx.Err() == nil {
			a.say(call, promptGoodbye)
			call.Hangup(CauseWrongPIN)
		}
		return
	}
	a.start()
	m, r, refused := a.admit(call, conf, moderator)
	if refused != "" {
		prompt, cause := promptLocked, refused
		if refused == CauseFull {
			prompt = promptFull
		}
		log.Info("conference refused the caller", "cause", cause)
		if refused != CauseClosed {
			a.say(call, prompt, promptGoodbye)
		}
		call.Hangup(cause)
		return
	}
	mctx, kick := context.WithCancel(ctx)
	m.kick = kick
	defer a.leave(r, m)
	adHoc := strings.HasPrefix(number, adHocPrefix)
	if conf.Announce && !adHoc && a.alone(r, m) {
		a.say(call, promptOnly)
	} else if conf.PIN != "" || conf.ModeratorPIN != "" {
		a.say(call, promptJoined)
	}
	if mctx.Err() != nil {
		return
	}
	var music []int16
	if conf.MusicWhenAlone {
		music = a.musicPCM(call)
	}
	muted, ok := a.join(r, m, music)
	if !ok {
		return
	}
	log.Info("joined conference", "moderator", moderator, "muted", muted)
	if muted {
		a.private(m, promptMuted)
	}
	a.commands(mctx, r, m)
	if a.wasKicked(m) && ctx.Err() == nil {
		call.Hangup(CauseKicked)
	}
}

// room is the settings of room number: stored, or those of a temporary
// three-way room.
func (a *App) room(ctx context.Context, number string) (store.Conference, error) {
	if owner, ok := strings.CutPrefix(number, adHocPrefix); ok && owner != "" {
		return store.Conference{Number: number, Name: fmt.Sprintf(adHocNameFormatter, owner),
			MaxParticipants: adHocParticipants, Announce: true}, nil
	}
	return a.Store.GetConference(ctx, number)
}

// authenticate asks for the PIN when the room has one (or a moderator
// PIN): the moderator PIN makes a moderator. With only a moderator PIN
// set, an empty entry (# or no key) joins as an ordinary participant.
func (a *App) authenticate(call callapp.Call, conf store.Conference, log *slog.Logger) (moderator, ok bool) {
	if conf.PIN == "" && conf.ModeratorPIN == "" {
		return false, true
	}
	ctx := call.Context()
	for try := 0; try < maxPINTries; try++ {
		if try > 0 {
			a.say(call, promptWrongPIN)
		}
		if src, err := call.Prompt(promptPIN); err == nil {
			if _, err := call.Play(ctx, src, true); err != nil {
				return false, false
			}
		}
		pin, err := call.Collect(ctx, media.CollectOptions{Max: maxPINDigits, Terminators: "#",
			FirstDigit: pinFirstDigit, InterDigit: pinInterDigit})
		if err != nil {
			return false, false
		}
		switch {
		case conf.ModeratorPIN != "" && pin == conf.ModeratorPIN:
			return true, true
		case conf.PIN != "" && pin == conf.PIN:
			return false, true
		case conf.PIN == "" && pin == "":
			return false, true
		}
		log.Info("wrong conference PIN", "try", try+1)
	}
	return false, false
}

// admit reserves the caller's place in the live room (made if need be),
// or says why not (CauseLocked, CauseFull).
func (a *App) admit(call callapp.Call, conf store.Conference, moderator bool) (*member, *room, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.mixer == nil {
		return nil, nil, CauseClosed
	}
	if a.rooms == nil {
		a.rooms = map[string]*room{}
	}
	r := a.rooms[conf.Number]
	if r == nil {
		r = &room{number: conf.Number, mix: a.mixer.NewRoom()}
		a.rooms[conf.Number] = r
	}
	r.conf = conf // the newest settings apply to who joins now
	switch {
	case r.locked && !moderator:
		a.dropIfEmpty(r)
		return nil, nil, CauseLocked
	case len(r.members) >= conf.MaxParticipants:
		a.dropIfEmpty(r)
		return nil, nil, CauseFull
	}
	m := &member{call: call, moderator: moderator}
	r.members = append(r.members, m)
	a.signal()
	return m, r, ""
}

// dropIfEmpty closes a room nobody is in; a.mu held.
func (a *App) dropIfEmpty(r *room) {
	if len(r.members) > 0 {
		return
	}
	r.mix.Close()
	r.music = nil
	if a.rooms[r.number] == r {
		delete(a.rooms, r.number)
	}
}

// alone reports whether m is the only one in r.
func (a *App) alone(r *room, m *member) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(r.members) == 1 && r.members[0] == m
}

// join mixes m into the room: it hears the others and is heard. It
// reports whether m joined muted (a moderator muted everyone else); not
// ok if the caller has gone. music is what plays while m is alone.
func (a *App) join(r *room, m *member, music []int16) (muted, ok bool) {
	out := m.call.AudioOut()
	if out == nil {
		return false, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.musicPCM == nil {
		r.musicPCM = music
	}
	muted = r.othersMuted && !m.moderator
	m.p = r.mix.Join(out, media.JoinOptions{Muted: muted, JitterFrames: defaultJitterFrame})
	m.joinedAt = time.Now()
	m.call.Record(m.p)
	mixed := r.mixedCount()
	if r.conf.Announce && mixed > 1 {
		r.mix.Play(media.NewToneSource(joinTone()))
	}
	a.updateMusic(r, mixed)
	a.signal()
	return muted, true
}

// leave takes m out of the room; the last one out closes it.
func (a *App) leave(r *room, m *member) {
	m.call.Record(nil)
	a.mu.Lock()
	defer a.mu.Unlock()
	if m.kick != nil {
		m.kick()
	}
	wasMixed := m.p != nil
	if wasMixed {
		m.p.Leave()
	}
	r.members = slices.DeleteFunc(r.members, func(x *member) bool { return x == m })
	mixed := r.mixedCount()
	if wasMixed && r.conf.Announce && mixed > 0 {
		r.mix.Play(media.NewToneSource(leaveTone()))
	}
	a.updateMusic(r, mixed)
	a.dropIfEmpty(r)
	a.signal()
}

// mixedCount is how many members are in the mix; a.mu held.
func (r *room) mixedCount() int {
	n := 0
	for _, m := range r.members {
		if m.p != nil {
			n++
		}
	}
	return n
}

// updateMusic plays music to a lone participant of a room that wants it
// and stops it when someone joins; a.mu held.
func (a *App) updateMusic(r *room, mixed int) {
	want := r.conf.MusicWhenAlone && mixed == 1
	switch {
	case want && r.music == nil:
		if len(r.musicPCM) > 0 {
			r.music = r.mix.Play(&loop{pcm: r.musicPCM})
		}
	case !want && r.music != nil:
		r.music.Leave()
		r.music = nil
	}
}

// maxMusic bounds an uploaded music-on-hold prompt held for a room.
const maxMusic = 10 * 60 * 8000

// musicPCM is the uploaded music-on-hold prompt, else the built-in music,
// decoded whole so the mixer's clock never waits on a file.
func (a *App) musicPCM(call callapp.Call) []int16 {
	if src, err := call.Prompt(promptMusicOnHold); err == nil {
		var pcm []int16
		buf := make([]int16, media.FrameSamples)
		for len(pcm) < maxMusic {
			n, err := src.Read(buf)
			pcm = append(pcm, buf[:n]...)
			if err != nil || n == 0 {
				break
			}
		}
		if len(pcm) > 0 {
			return pcm
		}
	}
	a.musicOnce.Do(func() { a.builtinMusic = media.NewMusicOnHold().Samples() })
	return a.builtinMusic
}

// loop plays pcm again and again; its Read does not allocate.
type loop struct {
	pcm []int16
	pos int
}

func (l *loop) Read(dst []int16) (int, error) {
	for i := range dst {
		if l.pos >= len(l.pcm) {
			l.pos = 0
		}
		dst[i] = l.pcm[l.pos]
		l.pos++
	}
	return len(dst), nil
}

// commands reads the caller's key commands until ctx ends.
func (a *App) commands(ctx context.Context, r *room, m *member) {
	for ctx.Err() == nil {
		keys, err := m.call.Collect(ctx, media.CollectOptions{Max: 2, InterDigit: commandInterDigit,
			Accept: func(k string) bool { return k[0] != '*' || len(k) == 2 }})
		if err != nil {
			return
		}
		switch keys {
		case KeyMute:
			muted := !m.p.Muted()
			m.p.SetMuted(muted)
			a.signal()
			if muted {
				a.private(m, promptMuted)
			} else {
				a.private(m, promptUnmuted)
			}
		case KeyLock:
			if !m.moderator {
				continue
			}
			a.mu.Lock()
			r.locked = !r.locked
			locked := r.locked
			a.mu.Unlock()
			a.signal()
			if locked {
				a.private(m, promptNowLocked)
			} else {
				a.private(m, promptNowUnlocked)
			}
		case KeyMuteOthers:
			if !m.moderator {
				continue
			}
			a.mu.Lock()
			r.othersMuted = !r.othersMuted
			on := r.othersMuted
			for _, x := range r.members {
				if x != m && x.p != nil && !x.moderator {
					x.p.SetMuted(on)
				}
			}
			a.mu.Unlock()
			a.signal()
			if on {
				a.private(m, promptOthersMuted)
			} else {
				a.private(m, promptOthersSpeak)
			}
		}
	}
}

// private plays prompts to m alone: the room is paused for m meanwhile
// (m is still heard).
func (a *App) private(m *member, names ...string) {
	src, err := m.call.Prompt(names...)
	if err != nil {
		a.log().Warn("conference prompt", "error", err)
		return
	}
	m.p.PauseOutput(true)
	defer m.p.PauseOutput(false)
	_, _ = m.call.Play(m.call.Context(), src, false)
}

// say plays prompts to a caller not in the mix; an unknown prompt is
// logged and skipped.
func (a *App) say(call callapp.Call, names ...string) {
	src, err := call.Prompt(names...)
	if err != nil {
		a.log().Warn("conference prompt", "error", err)
		return
	}
	_, _ = call.Play(call.Context(), src, false)
}

func (a *App) wasKicked(m *member) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return m.kicked
}

// joinTone is a rising pair of beeps, leaveTone a falling one.
func joinTone() media.ToneSpec {
	return media.ToneSpec{Level: -16, Repeats: 1, Steps: []media.ToneStep{
		{Freq1: 660, Duration: 120 * time.Millisecond}, {Duration: 40 * time.Millisecond},
		{Freq1: 880, Duration: 160 * time.Millisecond}}}
}

func leaveTone() media.ToneSpec {
	return media.ToneSpec{Level: -16, Repeats: 1, Steps: []media.ToneStep{
		{Freq1: 880, Duration: 120 * time.Millisecond}, {Duration: 40 * time.Millisecond},
		{Freq1: 660, Duration: 160 * time.Millisecond}}}
}

// Participants lists room number's participants in join order; nil when
// nobody is in it.
func (a *App) Participants(number string) []Participant {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.rooms[number]
	if r == nil {
		return nil
	}
	out := make([]Participant, 0, len(r.members))
	for _, m := range r.members {
		if m.p == nil {
			continue // still being let in
		}
		out = append(out, toParticipant(m))
	}
	return out
}

func toParticipant(m *member) Participant {
	caller := m.call.Caller()
	return Participant{ID: m.call.ID(), Number: caller.Number, Name: caller.Name, JoinedAt: m.joinedAt,
		Muted: m.p.Muted(), Talking: m.p.Talking(), Moderator: m.moderator}
}

// Live is what the API lists of a room: whether anyone is in it, how
// many, and whether it is locked.
type Live struct {
	Participants int
	Locked       bool
}

// Rooms reports the live rooms by number.
func (a *App) Rooms() map[string]Live {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]Live, len(a.rooms))
	for n, r := range a.rooms {
		out[n] = Live{Participants: r.mixedCount(), Locked: r.locked}
	}
	return out
}

// find is participant id of room number; a.mu held.
func (a *App) find(number, id string) *member {
	r := a.rooms[number]
	if r == nil {
		return nil
	}
	for _, m := range r.members {
		if m.p != nil && m.call.ID() == id {
			return m
		}
	}
	return nil
}

// SetMuted mutes or unmutes participant id of room number.
func (a *App) SetMuted(number, id string, muted bool) (Participant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.find(number, id)
	if m == nil {
		return Participant{}, fmt.Errorf("%w %s in conference %s", ErrNoParticipant, id, number)
	}
	m.p.SetMuted(muted)
	a.signal()
	return toParticipant(m), nil
}

// Kick removes participant id from room number and ends their call.
func (a *App) Kick(number, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.find(number, id)
	if m == nil {
		return fmt.Errorf("%w %s in conference %s", ErrNoParticipant, id, number)
	}
	m.kicked = true
	m.kick()
	return nil
}

// WatchConferences signals when a room's participants, their mute or
// talking state, or its lock changed. Signals are coalesced: on one,
// read again. stop ends the watch.
func (a *App) WatchConferences() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	a.mu.Lock()
	if a.watchers == nil {
		a.watchers = map[chan struct{}]struct{}{}
	}
	a.watchers[ch] = struct{}{}
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.watchers, ch)
		a.mu.Unlock()
	}
}

// signal wakes the watchers, and starts the talking poller while rooms
// are live and someone watches; a.mu held.
func (a *App) signal() {
	for ch := range a.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	if !a.polling && len(a.rooms) > 0 && len(a.watchers) > 0 && !a.closed {
		a.polling = true
		go a.pollTalking()
	}
}

// pollTalking signals the watchers when who is talking changes, until no
// room is live or nobody watches.
func (a *App) pollTalking() {
	t := time.NewTicker(talkingPollPeriod)
	defer t.Stop()
	var last []string
	for range t.C {
		a.mu.Lock()
		if len(a.rooms) == 0 || len(a.watchers) == 0 || a.closed {
			a.polling = false
			a.mu.Unlock()
			return
		}
		var now []string
		for n, r := range a.rooms {
			for _, m := range r.members {
				if m.p != nil && m.p.Talking() {
					now = append(now, n+"/"+m.call.ID())
				}
			}
		}
		slices.Sort(now)
		if !slices.Equal(now, last) {
			last = now
			for ch := range a.watchers {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
		a.mu.Unlock()
	}
}

// WriteMetrics writes the conference metrics in Prometheus text format.
func (a *App) WriteMetrics(w io.Writer) {
	a.mu.Lock()
	rooms, parts := len(a.rooms), 0
	for _, r := range a.rooms {
		parts += r.mixedCount()
	}
	mixer := a.mixer
	a.mu.Unlock()
	fmt.Fprintf(w, "# HELP pbx_conference_rooms Conference rooms with someone in them.\n"+
		"# TYPE pbx_conference_rooms gauge\npbx_conference_rooms %d\n", rooms)
	fmt.Fprintf(w, "# HELP pbx_conference_participants Callers in conference rooms.\n"+
		"# TYPE pbx_conference_participants gauge\npbx_conference_participants %d\n", parts)
	var st media.MixerStats
	var hist []media.TickBucket
	if mixer != nil {
		st, hist = mixer.Stats(), mixer.TickHistogram()
	}
	fmt.Fprintf(w, "# HELP pbx_mixer_ticks_total Conference mixer ticks (20 ms frames) run.\n"+
		"# TYPE pbx_mixer_ticks_total counter\npbx_mixer_ticks_total %d\n", st.Ticks)
	fmt.Fprintf(w, "# HELP pbx_mixer_late_ticks_total Mixer ticks that fired over 10 ms late or took longer than a frame.\n"+
		"# TYPE pbx_mixer_late_ticks_total counter\npbx_mixer_late_ticks_total %d\n", st.LateTicks)
	fmt.Fprintf(w, "# HELP pbx_mixer_tick_seconds Time the mixer's work took per tick.\n# TYPE pbx_mixer_tick_seconds histogram\n")
	for _, b := range hist {
		le := "+Inf"
		if b.UpperBound != time.Duration(1<<63-1) {
			le = fmt.Sprintf("%g", b.UpperBound.Seconds())
		}
		fmt.Fprintf(w, "pbx_mixer_tick_seconds_bucket{le=%q} %d\n", le, b.Count)
	}
	if hist == nil {
		fmt.Fprintf(w, "pbx_mixer_tick_seconds_bucket{le=\"+Inf\"} 0\n")
	}
	fmt.Fprintf(w, "pbx_mixer_tick_seconds_sum %g\npbx_mixer_tick_seconds_count %d\n", st.TotalTickDuration.Seconds(), st.Ticks)
}
