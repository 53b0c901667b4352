// Package callapp is the seam between the call engine (package pbx) and
// the applications that handle a call's media themselves: the echo test,
// feature codes, IVR menus, and later voicemail, conferences and trunks.
//
// An application sees one answered call through the small Call interface:
// play audio and prompts, collect keys, record, echo, hand the call on to a
// destination, hang up. It never sees SIP, dialogs or legs, so each
// application lives in its own package under pbx/ importing only this
// package, media/ and the store. Call.Context ends when the caller hangs up
// (or the call leaves the application), which cancels whatever the
// application is waiting for.
package callapp

import (
	"context"
	"errors"

	"github.com/officepbx/pbx/media"
)

// Party is one end of a call as caller ID shows it.
type Party struct {
	Number string
	Name   string
}

// Call is an answered call handed to an application. Its methods are safe
// to call from the application's goroutine; those that wait return when
// ctx (or the call's own Context) ends.
type Call interface {
	// ID is the call's identifier, as the calls API and the CDR show it.
	ID() string
	// Caller is who placed the call (after any caller-ID rewrite).
	Caller() Party
	// Dialed is the number the caller dialed.
	Dialed() string
	// Context ends when the caller hangs up, the call is ended by the
	// PBX (an administrator, shutdown, dead media), or Connect handed it
	// on.
	Context() context.Context

	// Play sends src to the caller until it ends. With bargeIn, a key
	// the caller presses stops it at once (the key stays queued for
	// Collect) and Play reports interrupted.
	Play(ctx context.Context, src media.Source, bargeIn bool) (interrupted bool, err error)
	// Prompt returns the named prompts, played one after another: an
	// uploaded prompt of a name overrides the built-in one. An unknown
	// name is ErrNoPrompt.
	Prompt(names ...string) (media.Source, error)
	// Collect reads keys the caller presses (RFC 4733, SIP INFO or
	// in-band tones) as o says; keys pressed earlier (during a prompt)
	// count. "" with a nil error is a timeout without any key.
	Collect(ctx context.Context, o media.CollectOptions) (string, error)
	// FlushDigits drops keys pressed so far.
	FlushDigits()
	// Echo sends the caller's own audio back to it until the call ends.
	Echo()
	// Record gives the caller's decoded audio to sink (nil stops).
	Record(sink media.AudioSink)
	// AudioOut is where a mixer writes what the caller hears, one frame
	// at a time on its own clock: the caller's media endpoint, which also
	// takes frames already encoded in its codec (media.EncodedOutput). nil
	// once the caller has hung up. Play nothing while a mixer writes.
	AudioOut() media.ParticipantOutput

	// Connect hands the call to a destination ("extension:101",
	// "ringgroup:600", "ivr:501", "number:9555..."), as the routing of a
	// new call would: phones are rung while the caller hears ringback,
	// and the first to answer is connected; another application takes
	// the call over. nil means the call went on there and the
	// application is done with it; an error (ErrNotConnected wrapping why)
	// means nobody took it and the application still has the caller.
	Connect(ctx context.Context, destination string) error
	// Hangup ends the call with a cause for the call record.
	Hangup(cause string)
}

// App is an application: Run handles one call sent to target (the
// destination's number, e.g. "500" for ivr:500, or a feature code) and
// returns when it is done with the call. Run hangs up the call when it
// returns without having connected it elsewhere.
type App interface {
	Run(call Call, target string)
}

// AppFunc adapts a function to App.
type AppFunc func(call Call, target string)

// Run calls f.
func (f AppFunc) Run(call Call, target string) { f(call, target) }

// Sentinel errors of a Call.
var (
	// ErrNoPrompt: no uploaded or built-in prompt has that name.
	ErrNoPrompt = errors.New("no such prompt")
	// ErrNotConnected: Connect found nobody to take the call (busy, no
	// answer, not registered, unknown number).
	ErrNotConnected = errors.New("call not connected")
	// ErrHungUp: the caller hung up (the call's Context ended).
	ErrHungUp = errors.New("caller hung up")
)
