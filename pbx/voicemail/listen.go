package voicemail

import (
	"context"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
)

// Causes written to the call record.
const (
	CauseListened = "voicemail: listened"
	CauseWrongPIN = "voicemail: wrong PIN"
	CauseLocked   = "voicemail: box locked"
)

// listen logs the caller in to box (asked for when ""), then runs the
// main menu: 1 listens to the messages, 0 the box's options, # or * ends.
// own is *97: the box is the caller's own extension, whose PIN is asked
// unless the box lets its own phone in without.
func (a *App) listen(call callapp.Call, box string, own bool) {
	ctx := call.Context()
	log := a.log.With("call", call.ID(), "caller", call.Caller().Number)
	if box == "" {
		if _, err := a.say(call, true, "enter-mailbox"); err != nil {
			return
		}
		var err error
		if box, err = a.collect(call, 10); err != nil {
			return
		}
	}
	ext, err := a.Store.GetExtension(ctx, box)
	if err != nil || !ext.Voicemail.Enabled {
		log.Info("voicemail login: no such box, or it is off", "box", box, "error", err)
		a.say(call, false, "invalid-extension", "goodbye")
		call.Hangup(CauseUnavailable)
		return
	}
	if !a.login(call, ext, own) {
		return
	}
	log.Info("voicemail login", "box", box)
	a.mainMenu(call, ext)
	a.say(call, false, "goodbye")
	call.Hangup(CauseListened)
}

// login asks for the box's PIN unless the caller is the box's own
// extension and the box allows that. A box without a PIN is open only to
// its own extension. Wrong PINs are logged; three end the call, and too
// many for one box lock it for a while.
func (a *App) login(call callapp.Call, ext store.Extension, own bool) bool {
	box := ext.Number
	fromOwn := call.Caller().Number == box
	if fromOwn && (own && ext.Voicemail.SkipPINOwn || ext.Voicemail.PIN == "") {
		return true
	}
	log := a.log.With("call", call.ID(), "caller", call.Caller().Number, "box", box)
	if ext.Voicemail.PIN == "" || a.locked(box) {
		log.Warn("voicemail login refused: no PIN set, or the box is locked after wrong PINs")
		a.say(call, false, "wrong-pin", "goodbye")
		call.Hangup(CauseLocked)
		return false
	}
	for try := 1; try <= maxPINTries; try++ {
		if _, err := a.say(call, true, "enter-pin"); err != nil {
			return false
		}
		pin, err := a.collect(call, 16)
		if err != nil {
			return false
		}
		if pin == ext.Voicemail.PIN {
			return true
		}
		a.wrongPIN(box)
		log.Warn("voicemail: wrong PIN", "try", try)
		if a.locked(box) {
			break
		}
		if _, err := a.say(call, false, "wrong-pin"); err != nil {
			return false
		}
	}
	a.say(call, false, "wrong-pin", "goodbye")
	call.Hangup(CauseWrongPIN)
	return false
}

// mainMenu announces the counts and takes the caller's choices until it
// ends the session.
func (a *App) mainMenu(call callapp.Call, ext store.Extension) {
	ctx := call.Context()
	for idle := 0; idle < 3 && ctx.Err() == nil; {
		counts, err := a.Store.VoicemailCounts(ctx, ext.Number)
		if err != nil {
			a.log.Error("voicemail counts", "error", err)
			return
		}
		if _, err := a.say(call, true, countPrompts(counts)...); err != nil {
			return
		}
		key, err := a.menuKey(call, 6*time.Second, "main-menu")
		if err != nil {
			return
		}
		switch key {
		case "1":
			idle = 0
			a.playMessages(call, ext.Number)
		case "0":
			idle = 0
			a.options(call, ext)
		case "#", "*":
			return
		case "":
			idle++
		default:
			a.say(call, false, "invalid-option")
		}
	}
}

// menuKey plays a menu's prompts (a key stops them) and returns the key
// pressed within wait after them ("" for none); keys beyond it are dropped.
func (a *App) menuKey(call callapp.Call, wait time.Duration, names ...string) (string, error) {
	if _, err := a.say(call, true, names...); err != nil {
		return "", err
	}
	key, err := call.Collect(call.Context(), media.CollectOptions{Max: 1, FirstDigit: wait})
	call.FlushDigits()
	return key, err
}

// countPrompts says "you have N new messages and M old messages".
func countPrompts(c store.VoicemailCounts) []string {
	if c.New == 0 && c.Old == 0 {
		return []string{"you-have", "no-messages"}
	}
	out := []string{"you-have"}
	part := func(n int, kind string) {
		out = append(out, media.SayNumber(n)...)
		out = append(out, kind, plural(n))
	}
	if c.New > 0 || c.Old == 0 {
		part(c.New, "new")
	}
	if c.Old > 0 {
		if c.New > 0 {
			out = append(out, "and")
		}
		part(c.Old, "old")
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return "message"
	}
	return "messages"
}

// playMessages plays the box's messages, new ones first, each announced
// by when it came and who left it; after each: 1 replays, 7 deletes, 9
// saves (keeps it, heard), # (or nothing) goes to the next.
func (a *App) playMessages(call callapp.Call, box string) {
	ctx := call.Context()
	msgs, err := a.messages(ctx, box)
	if err != nil {
		a.log.Error("voicemail list", "error", err)
		return
	}
	for i, m := range msgs {
		first := "next-message"
		if i == 0 {
			first = "first-message"
		}
		if _, err := a.say(call, true, append([]string{first}, a.about(m)...)...); err != nil {
			return
		}
		if !a.playMessage(call, m) {
			return
		}
	}
	a.say(call, true, "no-more-messages")
}

// messages lists the box's messages, unread first, each oldest first.
func (a *App) messages(ctx context.Context, box string) ([]store.VoicemailMessage, error) {
	var all []store.VoicemailMessage
	after := ""
	for {
		page, next, err := a.Store.ListVoicemail(ctx, box, store.ListOptions{After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		after = next
	}
	var unread, read []store.VoicemailMessage
	for i := len(all) - 1; i >= 0; i-- { // the store lists newest first
		if all[i].Read {
			read = append(read, all[i])
		} else {
			unread = append(unread, all[i])
		}
	}
	return append(unread, read...), nil
}

// playMessage plays one message and its options; false when the caller
// is gone.
func (a *App) playMessage(call callapp.Call, m store.VoicemailMessage) bool {
	ctx := call.Context()
	for replay := true; replay; {
		replay = false
		f, _, err := a.Store.OpenVoicemailAudio(ctx, m.Mailbox, m.ID)
		if err != nil {
			a.log.Error("voicemail audio", "id", m.ID, "error", err)
			return ctx.Err() == nil
		}
		audio, err := media.ReadWAV(f)
		f.Close()
		if err != nil {
			a.log.Error("voicemail audio", "id", m.ID, "error", err)
			return ctx.Err() == nil
		}
		if _, err := call.Play(ctx, audio.NewSource(), true); err != nil {
			return false
		}
		if !m.Read {
			if err := a.Store.SetVoicemailRead(ctx, m.Mailbox, m.ID, true); err != nil {
				a.log.Error("voicemail mark read", "id", m.ID, "error", err)
			}
			m.Read = true
		}
		for tries := 0; tries < 2; tries++ {
			key, err := a.menuKey(call, 5*time.Second, "message-options")
			if err != nil {
				return false
			}
			switch key {
			case "1":
				replay = true
			case "7":
				if err := a.Store.DeleteVoicemail(ctx, m.Mailbox, m.ID); err != nil {
					a.log.Error("voicemail delete", "id", m.ID, "error", err)
				}
				_, err := a.say(call, false, "deleted")
				return err == nil
			case "9":
				_, err := a.say(call, false, "saved")
				return err == nil
			case "#":
				return true
			case "":
				continue
			default:
				if _, err := a.say(call, false, "invalid-option"); err != nil {
					return false
				}
				continue
			}
			break
		}
		if !replay {
			return true
		}
	}
	return true
}

// about says when a message came and from whom: "received from 1 0 1,
// today at 10 15 AM".
func (a *App) about(m store.VoicemailMessage) []string {
	out := []string{"received-from"}
	if m.Caller != "" {
		out = append(out, media.SayDigits(m.Caller)...)
	}
	return append(out, sayWhen(m.ReceivedAt.In(time.Local), a.now().In(time.Local))...)
}

// sayWhen says a time relative to now: today, yesterday, a weekday in the
// last week, else month and day; then the time of day.
func sayWhen(t, now time.Time) []string {
	var out []string
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	day := time.Date(y1, m1, d1, 0, 0, 0, 0, time.UTC)
	today := time.Date(y2, m2, d2, 0, 0, 0, 0, time.UTC)
	switch ago := int(today.Sub(day).Hours() / 24); {
	case ago == 0:
		out = append(out, "today")
	case ago == 1:
		out = append(out, "yesterday")
	case ago > 1 && ago < 7:
		out = append(out, "day-"+itoa(int(t.Weekday())))
	default:
		out = append(out, "month-"+itoa(int(m1)))
		out = append(out, media.SayNumber(d1)...)
	}
	out = append(out, "at")
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	out = append(out, media.SayNumber(h)...)
	switch min := t.Minute(); {
	case min == 0:
		out = append(out, "oclock")
	case min < 10:
		out = append(out, "digit-0")
		out = append(out, media.SayNumber(min)...)
	default:
		out = append(out, media.SayNumber(min)...)
	}
	if t.Hour() < 12 {
		return append(out, "am")
	}
	return append(out, "pm")
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}

// options is the box's options menu: 1 records the greeting, 2 changes
// the PIN, 3 removes the recorded greeting; anything else goes back.
func (a *App) options(call callapp.Call, ext store.Extension) {
	ctx := call.Context()
	key, err := a.menuKey(call, 6*time.Second, "mailbox-options")
	if err != nil {
		return
	}
	switch key {
	case "1":
		a.recordGreeting(call, ext.Number)
	case "2":
		a.changePIN(call, ext)
	case "3":
		if err := a.Store.DeleteGreeting(ctx, ext.Number); err != nil {
			a.log.Info("voicemail greeting delete", "box", ext.Number, "error", err)
		}
		a.say(call, false, "deleted")
	}
}

// recordGreeting records the box's greeting: after the beep until # (or
// silence, or two minutes).
func (a *App) recordGreeting(call callapp.Call, box string) {
	ctx := call.Context()
	if _, err := a.say(call, false, "record-greeting", "beep"); err != nil {
		return
	}
	f, err := a.Store.CreateGreetingFile(box)
	if err != nil {
		a.log.Error("voicemail greeting file", "error", err)
		return
	}
	w, err := media.NewWAVWriter(f)
	if err != nil {
		a.Store.DiscardVoicemailFile(f)
		return
	}
	rec := newRecorder(w)
	call.Record(rec)
	keyCtx, stop := context.WithTimeout(ctx, DefaultMaxMessage)
	for {
		keys, err := call.Collect(keyCtx, media.CollectOptions{Max: 1})
		if err != nil || keys == "#" {
			break
		}
	}
	stop()
	call.Record(nil)
	length := rec.close()
	if ctx.Err() != nil || rec.err != nil || length < a.minMessage() {
		a.Store.DiscardVoicemailFile(f)
		return
	}
	if err := a.Store.CommitGreeting(context.WithoutCancel(ctx), f, box); err != nil {
		a.log.Error("voicemail greeting", "error", err)
		return
	}
	a.say(call, false, "greeting-saved")
}

// changePIN takes a new PIN of 4 to 10 digits, entered twice.
func (a *App) changePIN(call callapp.Call, ext store.Extension) {
	ctx := call.Context()
	if _, err := a.say(call, true, "enter-pin"); err != nil {
		return
	}
	pin, err := a.collect(call, 10)
	if err != nil || len(pin) < 4 {
		a.say(call, false, "invalid-option")
		return
	}
	if _, err := a.say(call, true, "enter-pin"); err != nil {
		return
	}
	again, err := a.collect(call, 10)
	if err != nil || again != pin {
		a.say(call, false, "wrong-pin")
		return
	}
	e, err := a.Store.GetExtension(ctx, ext.Number)
	if err != nil {
		return
	}
	e.Voicemail.PIN = pin
	if err := a.Store.UpdateExtension(ctx, &e); err != nil {
		a.log.Error("voicemail PIN change", "box", ext.Number, "error", err)
		return
	}
	a.log.Info("voicemail PIN changed", "box", ext.Number)
	a.say(call, false, "saved")
}

var _ callapp.App = (*App)(nil)
