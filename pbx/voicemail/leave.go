package voicemail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
)

// Causes written to the call record.
const (
	CauseMessageLeft = "voicemail: message left"
	CauseNoMessage   = "voicemail: no message"
	CauseMailboxFull = "voicemail: mailbox full"
	CauseUnavailable = "voicemail: box not available"
)

// leave takes a message for mailbox: the greeting (recorded, else built
// from prompts), the beep, then the caller's audio until it hangs up,
// presses #, is silent for the silence time, or reaches the box's maximum
// length. A message shorter than the minimum is dropped.
func (a *App) leave(call callapp.Call, mailbox string) {
	ctx := call.Context()
	log := a.log.With("call", call.ID(), "mailbox", mailbox)
	ext, err := a.Store.GetExtension(ctx, mailbox)
	if err != nil || !ext.Voicemail.Enabled {
		log.Info("voicemail: no such box, or it is off", "error", err)
		a.say(call, false, "not-available", "goodbye")
		call.Hangup(CauseUnavailable)
		return
	}
	counts, err := a.Store.VoicemailCounts(ctx, mailbox)
	if err != nil {
		log.Error("voicemail counts", "error", err)
		call.Hangup(CauseUnavailable)
		return
	}
	if max := ext.Voicemail.MaxMessages; max > 0 && counts.New+counts.Old >= max {
		log.Info("voicemail: box full", "messages", counts.New+counts.Old)
		a.say(call, false, "mailbox-full", "goodbye")
		call.Hangup(CauseMailboxFull)
		return
	}
	// The greeting: a key skips it (#) or asks for the operator (0).
	if interrupted, err := a.playGreeting(call, mailbox); err != nil {
		return
	} else if interrupted {
		keys, _ := call.Collect(ctx, media.CollectOptions{Max: 1})
		if keys == "0" && ext.Voicemail.Operator != "" {
			log.Info("voicemail: caller asks for the operator", "operator", ext.Voicemail.Operator)
			if err := call.Connect(ctx, ext.Voicemail.Operator); err == nil {
				return
			}
		}
	}
	call.FlushDigits()
	if _, err := a.say(call, false, "beep"); err != nil {
		return
	}
	maxLen := time.Duration(ext.Voicemail.MaxSeconds) * time.Second
	if maxLen <= 0 {
		maxLen = DefaultMaxMessage
	}
	a.record(call, mailbox, maxLen, log)
}

// playGreeting plays the box's recorded greeting, else the built-in one,
// with barge-in.
func (a *App) playGreeting(call callapp.Call, mailbox string) (bool, error) {
	ctx := call.Context()
	if f, err := a.Store.OpenGreeting(ctx, mailbox); err == nil {
		audio, rerr := media.ReadWAV(f)
		f.Close()
		if rerr == nil {
			return call.Play(ctx, audio.NewSource(), true)
		}
		a.log.Warn("voicemail greeting unreadable; playing the built-in one", "mailbox", mailbox, "error", rerr)
	} else if !errors.Is(err, store.ErrNotFound) {
		a.log.Warn("voicemail greeting", "mailbox", mailbox, "error", err)
	}
	names := append([]string{"person-at-extension"}, media.SayDigits(mailbox)...)
	names = append(names, "is-unavailable", "leave-message")
	return a.say(call, true, names...)
}

// record records the caller into a new message of mailbox.
func (a *App) record(call callapp.Call, mailbox string, maxLen time.Duration, log *slog.Logger) {
	ctx := call.Context()
	f, err := a.Store.CreateVoicemailFile(mailbox)
	if err != nil {
		log.Error("voicemail: cannot record", "error", err)
		a.failures.Add(1)
		call.Hangup(CauseNoMessage)
		return
	}
	w, err := media.NewWAVWriter(f)
	if err != nil {
		log.Error("voicemail: cannot record", "error", err)
		a.failures.Add(1)
		a.Store.DiscardVoicemailFile(f)
		call.Hangup(CauseNoMessage)
		return
	}
	rec := newRecorder(w)
	started := time.Now()
	call.Record(rec)
	maxTimer := time.NewTimer(maxLen)
	defer maxTimer.Stop()
	keyed := make(chan struct{})
	keyCtx, stopKeys := context.WithCancel(ctx)
	go func() {
		defer close(keyed)
		for {
			keys, err := call.Collect(keyCtx, media.CollectOptions{Max: 1})
			if err != nil || keys == "#" {
				return
			}
		}
	}()
	ended := ""
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for ended == "" {
		select {
		case <-ctx.Done():
			ended = "hung up"
		case <-keyed:
			ended = "#"
			if ctx.Err() != nil {
				ended = "hung up"
			}
		case <-tick.C:
			if rec.quietFor() >= a.silence() {
				ended = "silence"
			}
		case <-maxTimer.C:
			ended = "maximum length"
		}
	}
	stopKeys()
	<-keyed
	call.Record(nil)
	length := rec.close()
	if err := rec.err; err != nil {
		log.Error("voicemail: recording failed", "error", err)
		a.failures.Add(1)
		a.Store.DiscardVoicemailFile(f)
		call.Hangup(CauseNoMessage)
		return
	}
	if length < a.minMessage() {
		log.Info("voicemail: message too short; dropped", "length", length, "ended_by", ended)
		a.Store.DiscardVoicemailFile(f)
		call.Hangup(CauseNoMessage)
		return
	}
	caller := call.Caller()
	m := &store.VoicemailMessage{Mailbox: mailbox, Caller: caller.Number, CallerName: caller.Name,
		ReceivedAt: started, Duration: length}
	// The caller may be gone: the message is committed all the same.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.Store.CommitVoicemail(cctx, f, m); err != nil {
		log.Error("voicemail: message not stored", "error", err)
		a.failures.Add(1)
		call.Hangup(CauseNoMessage)
		return
	}
	log.Info("voicemail: message left", "id", m.ID, "length", length, "ended_by", ended, "frames", rec.frames)
	if ctx.Err() == nil {
		a.say(call, false, "saved", "goodbye")
	}
	call.Hangup(CauseMessageLeft)
}

// recorder is the sink of a message being recorded: it writes to the WAV
// file, counts frames, and notes when the caller last made a sound, so
// that silence (quiet frames, or none at all from a phone that stops
// sending) ends the message. Safe against the media goroutine writing
// while the application closes it.
type recorder struct {
	mu       sync.Mutex
	w        *media.WAVWriter
	closed   bool
	frames   int
	lastLoud time.Time
	err      error
}

// silenceFloor is the mean-square level (about -50 dBFS) under which a
// frame counts as silence.
const silenceFloor = 100.0

func newRecorder(w *media.WAVWriter) *recorder {
	return &recorder{w: w, lastLoud: time.Now()}
}

// WriteAudio implements media.AudioSink.
func (r *recorder) WriteAudio(pcm []int16) {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.w.WriteAudio(pcm)
	r.frames++
	if len(pcm) > 0 && sum/float64(len(pcm)) >= silenceFloor {
		r.lastLoud = time.Now()
	}
}

// quietFor is how long the caller has made no sound.
func (r *recorder) quietFor() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(r.lastLoud)
}

// close finishes the WAV file and returns the length recorded.
func (r *recorder) close() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.err = r.w.Close()
	return r.w.Duration()
}
