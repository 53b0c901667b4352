// Package ivr is the call application of IVR menus (auto attendants): the
// caller hears the menu's greeting, presses a key (or dials an extension
// directly when the menu allows it) and is sent to that option's
// destination; no key or a wrong one is retried with a prompt, then sent
// to the menu's timeout or invalid destination. A key stops the prompt
// playing (barge-in). It uses only the callapp seam and the store.
package ivr

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
)

// Built-in prompts a menu falls back to.
const (
	DefaultGreeting      = "welcome"
	DefaultInvalidPrompt = "invalid-option"
	DefaultTimeoutPrompt = "no-input"
	unavailablePrompt    = "not-available"
	goodbyePrompt        = "goodbye"
)

// interDigit is how long the menu waits for the next key of a directly
// dialed extension number.
const interDigit = 3 * time.Second

// Causes written to the call record.
const (
	CauseNoMenu = "no such IVR menu"
	CauseHangup = "hung up by IVR"
)

// App runs IVR menus.
type App struct {
	Store *store.Store
	Log   *slog.Logger
}

// menu is one run of a menu on a call.
type menu struct {
	m    store.IVR
	call callapp.Call
	log  *slog.Logger
	// extensions are the numbers a caller may dial directly (nil unless
	// the menu allows it).
	extensions map[string]bool
	longest    int
}

// Run plays menu number to the call until the caller is sent on or the
// menu gives up.
func (a App) Run(call callapp.Call, number string) {
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("call", call.ID(), "ivr", number)
	ctx := call.Context()
	m, err := a.Store.GetIVR(ctx, number)
	if err != nil {
		log.Error("IVR menu", "error", err)
		call.Hangup(CauseNoMenu)
		return
	}
	r := &menu{m: m, call: call, log: log}
	if m.DirectDial {
		if err := r.loadExtensions(ctx, a.Store); err != nil {
			log.Error("IVR direct dial: extensions", "error", err)
		}
	}
	r.run(ctx)
}

func (r *menu) loadExtensions(ctx context.Context, st *store.Store) error {
	r.extensions = map[string]bool{}
	after := ""
	for {
		exts, next, err := st.ListExtensions(ctx, store.ListOptions{After: after, Limit: 500})
		if err != nil {
			return err
		}
		for _, e := range exts {
			r.extensions[e.Number] = true
			r.longest = max(r.longest, len(e.Number))
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

func (r *menu) run(ctx context.Context) {
	m := r.m
	greeting := orDefault(m.Greeting, DefaultGreeting)
	for try := 0; ; try++ {
		if _, err := r.play(ctx, greeting); err != nil {
			return
		}
		keys, err := r.call.Collect(ctx, media.CollectOptions{
			Max:         max(r.longest, 1),
			Terminators: "#",
			FirstDigit:  time.Duration(max(m.TimeoutSeconds, 1)) * time.Second,
			InterDigit:  interDigit,
			Accept:      r.complete,
		})
		if err != nil {
			return // the caller hung up
		}
		var dest, problem string
		switch {
		case keys == "":
			problem = orDefault(m.TimeoutPrompt, DefaultTimeoutPrompt)
			if try >= m.Retries {
				r.log.Info("IVR: no input; retries exhausted", "destination", m.OnTimeout)
				r.finish(ctx, m.OnTimeout)
				return
			}
		case m.Options[keys] != "":
			dest = m.Options[keys]
		case r.extensions[keys]:
			dest = "extension:" + keys
		default:
			problem = orDefault(m.InvalidPrompt, DefaultInvalidPrompt)
			if try >= m.Retries {
				r.log.Info("IVR: invalid input; retries exhausted", "keys", keys, "destination", m.OnInvalid)
				r.finish(ctx, m.OnInvalid)
				return
			}
		}
		if dest != "" {
			r.log.Info("IVR choice", "keys", keys, "destination", dest)
			if r.connect(ctx, dest) {
				return
			}
			if ctx.Err() != nil {
				return
			}
			problem = unavailablePrompt
		}
		r.call.FlushDigits()
		if _, err := r.play(ctx, problem); err != nil {
			return
		}
	}
}

// complete reports whether keys pressed so far are a whole choice: an
// option that no extension number continues (when direct dial is on), or
// an extension number no longer one continues.
func (r *menu) complete(keys string) bool {
	continued := false
	for n := range r.extensions {
		if len(n) > len(keys) && strings.HasPrefix(n, keys) {
			continued = true
			break
		}
	}
	if continued {
		return false
	}
	return r.m.Options[keys] != "" || r.extensions[keys] || len(r.extensions) == 0
}

// play plays prompts with barge-in; an unknown prompt is logged and
// skipped, so a deleted upload never leaves callers in silence forever.
func (r *menu) play(ctx context.Context, names ...string) (bool, error) {
	src, err := r.call.Prompt(names...)
	if err != nil {
		r.log.Warn("IVR prompt", "error", err)
		return false, ctx.Err()
	}
	return r.call.Play(ctx, src, true)
}

// connect sends the caller to dest; false if nobody took the call.
func (r *menu) connect(ctx context.Context, dest string) bool {
	if dest == "" || dest == "hangup" {
		return r.hangup(ctx)
	}
	err := r.call.Connect(ctx, dest)
	if err == nil {
		return true
	}
	if !errors.Is(err, callapp.ErrHungUp) {
		r.log.Info("IVR destination did not take the call", "destination", dest, "error", err)
	}
	return false
}

// finish sends the caller to a menu's last-resort destination, hanging up
// if that fails too.
func (r *menu) finish(ctx context.Context, dest string) {
	if !r.connect(ctx, dest) && ctx.Err() == nil {
		r.hangup(ctx)
	}
}

// hangup says goodbye and hangs up.
func (r *menu) hangup(ctx context.Context) bool {
	if src, err := r.call.Prompt(goodbyePrompt); err == nil {
		r.call.Play(ctx, src, false)
	}
	r.call.Hangup(CauseHangup)
	return true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
