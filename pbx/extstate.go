package pbx

import (
	"slices"

	"github.com/officepbx/pbx/pbx/store"
)

// extState is what event subscribers see of one extension: whether it
// exists, has a registered phone, is on do-not-disturb, its calls as
// dialogs, and (for message-summary only) its voicemail counts. It is
// derived from the live calls, the location service, the extension's
// settings and the voicemail store, never stored.
type extState struct {
	known      bool // the extension exists
	registered bool // at least one phone has a live binding
	dnd        bool
	dialogs    []dialogState
	mailbox    mailboxCounts // filled only when a mailbox package watches
}

// dialogState is one call of the extension as RFC 4235 sees it.
type dialogState struct {
	id         string // unique per call and side, stable for the call's life
	state      string // dialogEarly or dialogConfirmed
	direction  string // dialogInitiator (its call) or dialogRecipient (a call to it)
	remote     string // the other party's number
	remoteName string // the other party's display name, when known
}

// RFC 4235 dialog states and directions the PBX reports.
const (
	dialogEarly     = "early"
	dialogConfirmed = "confirmed"
	dialogInitiator = "initiator"
	dialogRecipient = "recipient"
)

// onCall reports whether the extension talks or places a call (as
// opposed to only being rung).
func (s extState) onCall() bool {
	for _, d := range s.dialogs {
		if d.state == dialogConfirmed || d.direction == dialogInitiator {
			return true
		}
	}
	return false
}

// extensionOnCall reports whether extension number talks or places a call
// among the live calls (what call waiting asks).
func (e *Engine) extensionOnCall(number string) bool {
	return extState{dialogs: callDialogs(e.Calls())[number]}.onCall()
}

// extensionCalls counts the calls extension number is on among the live
// calls: those it places and those it answered (not those that only ring
// it), for its max_calls limit.
func (e *Engine) extensionCalls(number string) int {
	n := 0
	for _, d := range callDialogs(e.Calls())[number] {
		if d.state == dialogConfirmed || d.direction == dialogInitiator {
			n++
		}
	}
	return n
}

// atCallLimit reports whether ext is on as many calls as its max_calls
// allows (never, without a limit).
func (e *Engine) atCallLimit(ext store.Extension) bool {
	return ext.MaxCalls > 0 && e.extensionCalls(ext.Number) >= ext.MaxCalls
}

// ringing reports whether a call rings the extension.
func (s extState) ringing() bool {
	for _, d := range s.dialogs {
		if d.state == dialogEarly && d.direction == dialogRecipient {
			return true
		}
	}
	return false
}

type numberState struct{ number, state string }

// callDialogs returns the dialogs of every extension among the live
// calls, by number, in one pass: the calls an extension places (while
// they are set up, ring or talk) and the calls that ring one of its
// phones or that it answered. Calls being hung up count as gone, so the
// lamp goes off with the BYE.
func callDialogs(calls []CallInfo) map[string][]dialogState {
	out := map[string][]dialogState{}
	var callee []numberState
	for _, c := range calls {
		if c.State == CallEnding {
			continue
		}
		st := dialogEarly
		if c.State == CallAnswered {
			st = dialogConfirmed
		}
		// An outside caller's number is no extension's, even when it
		// looks like one: it neither lights a lamp nor uses up a limit.
		if c.FromTrunk == "" {
			out[c.From] = append(out[c.From], dialogState{id: c.ID + "-out", state: st, direction: dialogInitiator, remote: c.To})
		}
		// The callee's state over its phones (a ring group rings several
		// numbers, an extension several phones): answered beats ringing.
		callee = callee[:0]
		for _, l := range c.Legs {
			if l.Role != "callee" {
				continue
			}
			ls := ""
			switch l.State {
			case "answered":
				ls = st // confirmed once the caller has the answer too
			case "trying", "ringing":
				ls = dialogEarly
			}
			i := slices.IndexFunc(callee, func(n numberState) bool { return n.number == l.Number })
			switch {
			case i < 0:
				callee = append(callee, numberState{l.Number, ls})
			case ls != "" && (callee[i].state == "" || l.State == "answered"):
				callee[i].state = ls
			}
		}
		for _, n := range callee {
			if n.state != "" {
				out[n.number] = append(out[n.number], dialogState{id: c.ID + "-in", state: n.state, direction: dialogRecipient,
					remote: c.From, remoteName: c.FromName})
			}
		}
	}
	return out
}
