package pbx

import (
	"sort"
	"sync"
	"time"

	"github.com/officepbx/pbx/media"
)

// CallState is where a live call is.
type CallState string

// Call states, in order.
const (
	CallSetup    CallState = "setup"    // authenticated, being routed
	CallRinging  CallState = "ringing"  // the callee's phones were invited
	CallAnswered CallState = "answered" // talking
	CallEnding   CallState = "ending"   // hanging up
)

// CallInfo describes one live call, for the calls API and the dashboard.
type CallInfo struct {
	ID       string
	From     string // caller number
	FromName string // caller name
	// FromTrunk is the trunk the call came in on ("" for a call from an
	// extension): its From is an outside number, whatever it looks like.
	FromTrunk  string
	To         string // dialed number
	State      CallState
	StartedAt  time.Time
	AnsweredAt time.Time // zero until answered
	Legs       []LegInfo
	// CallerDigits and CalleeDigits are the DTMF keys each side pressed
	// while the call was up, as the PBX detected them (RFC 4733 events in
	// the media, or SIP INFO).
	CallerDigits, CalleeDigits string
}

// LegInfo describes one dialog of a call: the caller's, or one per phone
// the call rings (one after the answer).
type LegInfo struct {
	Role    string // "caller" or "callee"
	Number  string
	Contact string // the phone's Contact URI
	Source  string // where the phone's SIP comes from (ip:port)
	State   string // "ringing", "answered", ...
	Codec   string // "PCMU" or "PCMA" once negotiated
	Holding bool   // the phone has put the call on hold
	SRTP    bool   // the leg's media is SRTP
}

// dialogKey names a dialog by its Call-ID and the PBX's tag: the To tag
// of every in-dialog request the PBX receives, whichever side sends it.
type dialogKey struct{ callID, localTag string }

// dialogRef is what an in-dialog request reaches: a dialog of a call, on
// one side of it. A transfer or pickup that moves the dialog re-indexes it.
type dialogRef struct {
	call *call
	side media.Side
	in   *inbound // the dialog, when the PBX is its UAS
	fork *fork    // the dialog, when the PBX is its UAC
}

// dlg is the referenced dialog.
func (r dialogRef) dlg() legDialog {
	if r.in != nil {
		return r.in
	}
	return r.fork
}

// callTable holds the live calls and indexes their dialogs.
type callTable struct {
	mu      sync.Mutex
	calls   map[string]*call
	dialogs map[dialogKey]dialogRef
	// keys lists the dialog keys ever indexed for each call, so that
	// removing a call costs its own few dialogs, not a scan of every
	// live call's (which made each hang-up O(live dialogs) under mu).
	keys    map[*call][]dialogKey
	closing bool
	wg      sync.WaitGroup // one per live call
	watch   *watchers
	// abandon closes when shutdown stops waiting for phones' answers.
	abandon chan struct{}
}

func newCallTable(w *watchers) *callTable {
	return &callTable{calls: map[string]*call{}, dialogs: map[dialogKey]dialogRef{}, keys: map[*call][]dialogKey{}, watch: w, abandon: make(chan struct{})}
}

// add registers a new call; it reports false when the engine is closing.
// The caller's goroutine then owns one count of wg.
func (t *callTable) add(c *call) bool {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return false
	}
	t.calls[c.id] = c
	t.wg.Add(1)
	t.mu.Unlock()
	t.watch.notify()
	return true
}

// remove forgets a call and its dialogs.
func (t *callTable) remove(c *call) {
	t.mu.Lock()
	delete(t.calls, c.id)
	for _, k := range t.keys[c] {
		if t.dialogs[k].call == c {
			delete(t.dialogs, k)
		}
	}
	delete(t.keys, c)
	t.mu.Unlock()
	t.watch.notify()
}

func (t *callTable) addDialog(k dialogKey, r dialogRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dialogs[k] = r
	t.keys[r.call] = append(t.keys[r.call], k)
}

// removeDialog forgets a dialog that left its call, if c still holds it.
func (t *callTable) removeDialog(k dialogKey, c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dialogs[k].call == c {
		delete(t.dialogs, k)
	}
}

func (t *callTable) dialog(k dialogKey) (dialogRef, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.dialogs[k]
	return r, ok
}

func (t *callTable) get(id string) *call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[id]
}

func (t *callTable) list() []*call {
	t.mu.Lock()
	out := make([]*call, 0, len(t.calls))
	for _, c := range t.calls {
		out = append(out, c)
	}
	t.mu.Unlock()
	return out
}

// shutdown refuses new calls, ends the live ones and waits for them. After
// grace it stops waiting for phones to answer CANCEL or BYE.
func (t *callTable) shutdown(grace time.Duration) {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
	for _, c := range t.list() {
		c.stop(causeShutdown)
	}
	timer := time.AfterFunc(grace, func() { close(t.abandon) })
	t.wg.Wait()
	if timer.Stop() {
		close(t.abandon)
	}
}

// Calls returns the live calls, oldest first.
func (e *Engine) Calls() []CallInfo {
	calls := e.calls.list()
	out := make([]CallInfo, len(calls))
	for i, c := range calls {
		out[i] = c.info()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out
}

// Hangup ends a live call: both phones get BYE (or, while it rings, the
// caller a final response and the callee's phones CANCEL). It returns
// ErrCallNotFound for an unknown ID. The call ends asynchronously.
func (e *Engine) Hangup(id string) error {
	c := e.calls.get(id)
	if c == nil {
		return ErrCallNotFound
	}
	c.stop(causeAdminHangup)
	return nil
}

// WatchCalls returns a channel that receives a signal after calls start,
// change state or end (coalesced: read Calls when it fires), and a function
// that ends the subscription.
func (e *Engine) WatchCalls() (<-chan struct{}, func()) {
	return e.callWatch.subscribe()
}

// count is the number of live calls.
func (t *callTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.calls)
}
