// Package voicemail is the call application of voice mailboxes: callers
// leave messages (voicemail:NNN, and an extension's unanswered calls), and
// owners listen to them with *97 (their own box) and *98 (any box, with
// its PIN). Messages are kept by the store (audio under DATA, metadata in
// SQLite, committed so that a crash leaves a whole message or none). It
// uses only the callapp seam and the store.
package voicemail

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
)

// Feature codes the application answers.
const (
	CodeOwnBox = "*97" // the caller's own box
	CodeAnyBox = "*98" // any box: number and PIN asked
)

// IsCode reports whether dialed is a voicemail feature code.
func IsCode(dialed string) bool { return dialed == CodeOwnBox || dialed == CodeAnyBox }

// Defaults of the App's settings.
const (
	DefaultMaxMessage = 2 * time.Minute
	DefaultMinMessage = time.Second
	DefaultSilence    = 5 * time.Second
	// maxPINTries wrong PINs end a call; lockoutFailures wrong PINs for one
	// box within lockoutWindow lock it for lockoutWindow.
	maxPINTries     = 3
	lockoutFailures = 6
	lockoutWindow   = 15 * time.Minute
)

// App is the voicemail application.
type App struct {
	Store *store.Store
	Log   *slog.Logger
	// MinMessage is the shortest message kept; Silence ends a message
	// after that long without sound. Zero takes the defaults.
	MinMessage, Silence time.Duration
	// Now is the clock of the dates announced; nil: time.Now.
	Now func() time.Time

	log      *slog.Logger
	failures atomic.Int64 // recordings that could not be stored

	mu    sync.Mutex
	wrong map[string][]time.Time // recent wrong PINs by box
}

// New returns the application with its settings' defaults filled in.
func New(st *store.Store, log *slog.Logger) *App {
	if log == nil {
		log = slog.Default()
	}
	return &App{Store: st, Log: log, log: log, wrong: map[string][]time.Time{}}
}

// RecordingFailures counts messages that could not be recorded or
// stored, for the metrics.
func (a *App) RecordingFailures() int64 { return a.failures.Load() }

// WriteMetrics writes the application's metrics in Prometheus text format.
func (a *App) WriteMetrics(w io.Writer) {
	fmt.Fprintf(w, "# HELP pbx_voicemail_recording_failures_total Messages that could not be recorded or stored.\n"+
		"# TYPE pbx_voicemail_recording_failures_total counter\npbx_voicemail_recording_failures_total %d\n", a.failures.Load())
}

// Run leaves a message in box target, or, for *97 and *98, lets the
// caller listen to a box.
func (a *App) Run(call callapp.Call, target string) {
	if a.log == nil {
		a.log = a.Log
		if a.log == nil {
			a.log = slog.Default()
		}
	}
	switch target {
	case CodeOwnBox:
		a.listen(call, call.Caller().Number, true)
	case CodeAnyBox:
		a.listen(call, "", false)
	default:
		a.leave(call, target)
	}
}

func (a *App) minMessage() time.Duration {
	if a.MinMessage > 0 {
		return a.MinMessage
	}
	return DefaultMinMessage
}

func (a *App) silence() time.Duration {
	if a.Silence > 0 {
		return a.Silence
	}
	return DefaultSilence
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// say plays prompts; an unknown prompt is logged and skipped.
func (a *App) say(call callapp.Call, bargeIn bool, names ...string) (bool, error) {
	src, err := call.Prompt(names...)
	if err != nil {
		a.log.Warn("voicemail prompt", "error", err)
		return false, call.Context().Err()
	}
	return call.Play(call.Context(), src, bargeIn)
}

// locked reports whether box is locked after too many wrong PINs.
func (a *App) locked(box string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.recentWrong(box)) >= lockoutFailures
}

// wrongPIN notes a wrong PIN for box.
func (a *App) wrongPIN(box string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.wrong == nil {
		a.wrong = map[string][]time.Time{}
	}
	a.wrong[box] = append(a.recentWrong(box), a.now())
}

// recentWrong is box's wrong PINs within the lockout window; a.mu held.
func (a *App) recentWrong(box string) []time.Time {
	cut := a.now().Add(-lockoutWindow)
	var out []time.Time
	for _, t := range a.wrong[box] {
		if t.After(cut) {
			out = append(out, t)
		}
	}
	if a.wrong != nil {
		a.wrong[box] = out
	}
	return out
}

// collect reads keys ended by # (or a pause).
func (a *App) collect(call callapp.Call, max int) (string, error) {
	return call.Collect(call.Context(), media.CollectOptions{Max: max, Terminators: "#",
		FirstDigit: 6 * time.Second, InterDigit: 4 * time.Second})
}
