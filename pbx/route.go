package pbx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// defaultRingTime is how long an extension rings when it sets no time.
const defaultRingTime = 20 * time.Second

// target is phones to ring: one extension's (following its forwards), or
// a ring group's members'.
type target struct {
	ext      store.Extension
	bindings []store.Registration
	// phones, when set, are rung instead of bindings, each named as its
	// own extension (a ring group's members).
	phones   []ringPhone
	ringTime time.Duration
	// noForward: a failure is not followed by the extension's busy or
	// no-answer forward (a ring group's member).
	noForward bool
	// redirect, when set, is where the extension forwards the call instead
	// of ringing: a destination other than an extension (a ring group, an
	// IVR menu, a number through the dial plan), which dialing takes on.
	redirect *dialplan.Destination
}

// ringPhone is one phone to ring and the extension it belongs to.
type ringPhone struct {
	b   store.Registration
	who party
	// trunk, when set, makes this "phone" a provider: the INVITE carries
	// the office's caller ID and answers the provider's challenge.
	trunk *store.Trunk
}

// route finds the phones of extension dialed, following forward-always
// and do-not-disturb (to the busy forward) from extension to extension.
// Errors wrap errUnknownNumber, errNotRegistered, errDND or errBusy.
func (e *Engine) route(ctx context.Context, dialed string, now time.Time) (target, error) {
	// Follow forward-always and do-not-disturb (to the busy forward) from
	// extension to extension, a few hops at most and never in a loop.
	seen := map[string]bool{}
	for hop := 0; ; hop++ {
		ext, err := e.exts.get(ctx, dialed)
		if errors.Is(err, store.ErrNotFound) {
			return target{}, fmt.Errorf("%w: %s", errUnknownNumber, dialed)
		}
		if err != nil {
			return target{}, fmt.Errorf("route %s: %w", dialed, err)
		}
		seen[dialed] = true
		next := ext.Forward.Always
		// Without call waiting, an extension on a call is busy, as with DND
		// (a forward-always that is followed still wins).
		busy := !ext.DND && ((!ext.CallWaiting && e.extensionOnCall(ext.Number)) || e.atCallLimit(ext))
		if to, ok := forwardTarget(next); busy && ok && !seen[to] && hop < maxForwardHops {
			busy = false
		} else if _, ok := forwardRedirect(next); busy && ok {
			busy = false
		}
		if ext.DND || busy {
			next = ext.Forward.Busy
		}
		if to, ok := forwardTarget(next); ok && !seen[to] && hop < maxForwardHops {
			dialed = to
			continue
		} else if d, ok := forwardRedirect(next); ok {
			return target{ext: ext, redirect: &d}, nil
		}
		if ext.DND {
			return target{}, fmt.Errorf("%w: extension %s", errDND, ext.Number)
		}
		if busy {
			return target{}, fmt.Errorf("%w: extension %s is on a call (call waiting off)", errBusy, ext.Number)
		}
		t := target{ext: ext, ringTime: defaultRingTime}
		if ext.RingSeconds > 0 {
			t.ringTime = time.Duration(ext.RingSeconds) * time.Second
		}
		t.bindings = e.loc.lookup(dialed, now)
		if len(t.bindings) == 0 {
			return t, fmt.Errorf("%w: extension %s", errNotRegistered, dialed)
		}
		return t, nil
	}
}

// maxForwardHops bounds a chain of forwards.
const maxForwardHops = 5

// forwardRedirect reads a forward destination that is not an extension
// (a ring group, IVR menu, voicemail box, conference room, number through
// the dial plan, trunk, or hangup): the call's dialing goes on there.
func forwardRedirect(dest string) (dialplan.Destination, bool) {
	d, err := dialplan.ParseDestination(dest)
	if err != nil || d.Kind == dialplan.KindExtension {
		return dialplan.Destination{}, false
	}
	return d, true
}

// forwardTarget reads a forward destination the router follows from
// extension to extension.
func forwardTarget(dest string) (string, bool) {
	d, err := dialplan.ParseDestination(dest)
	if err != nil || d.Kind != dialplan.KindExtension {
		return "", false
	}
	return d.Number, true
}
