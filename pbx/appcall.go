package pbx

import (
	"bufio"
	"context"
	"errors"
	"fmt"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
)

// maxAppHandoffs bounds how often applications may hand a call to another
// application (IVR menus nested in each other) before it is ended.
const maxAppHandoffs = 100

// appCall is the callapp.Call of a call the PBX answered itself: its
// caller's leg (side A), with no phone on side B until Connect rings one.
type appCall struct {
	c      *call
	ctx    context.Context
	cancel context.CancelFunc
	// next is an application destination Connect handed the call to; the
	// application loop runs it once the current one returns.
	next *dialplan.Destination
	// connected is set when Connect bridged the caller to a phone.
	connected bool
}

var _ callapp.Call = (*appCall)(nil)

func (a *appCall) ID() string { return a.c.id }

// Caller is the extension that placed the call, as it authenticated, or
// the party transferred into the application.
func (a *appCall) Caller() callapp.Party {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	if p := a.c.appCaller; p != nil {
		return *p
	}
	return callapp.Party{Number: a.c.caller.Number, Name: a.c.caller.Name}
}

func (a *appCall) Dialed() string { return a.c.dialed }

func (a *appCall) Context() context.Context { return a.ctx }

// endpoint is the caller's media endpoint.
func (a *appCall) endpoint() *media.Endpoint { return a.c.endpoint(media.SideA) }

func (a *appCall) Play(ctx context.Context, src media.Source, bargeIn bool) (bool, error) {
	ep := a.endpoint()
	if ep == nil {
		return false, callapp.ErrHungUp
	}
	var keyed <-chan struct{}
	if bargeIn {
		keyed = a.c.keys.Pending()
	}
	pb := ep.Play(src)
	defer pb.Stop()
	select {
	case <-pb.Done():
		return false, nil
	case <-keyed:
		return true, nil
	case <-a.ctx.Done():
		return false, callapp.ErrHungUp
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (a *appCall) Prompt(names ...string) (media.Source, error) {
	srcs := make([]media.Source, 0, len(names))
	for _, n := range names {
		pcm, err := a.c.e.promptAudio(a.ctx, n)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, media.NewPCMSource(pcm))
	}
	return media.Concat(srcs...), nil
}

func (a *appCall) Collect(ctx context.Context, o media.CollectOptions) (string, error) {
	ctx, cancel := mergeContexts(ctx, a.ctx)
	defer cancel()
	s, err := a.c.keys.Collect(ctx, o)
	if err != nil && a.ctx.Err() != nil {
		return s, callapp.ErrHungUp
	}
	return s, err
}

func (a *appCall) FlushDigits() { a.c.keys.Flush() }

func (a *appCall) Echo() {
	if ep := a.endpoint(); ep != nil {
		media.Bridge(ep, ep)
	}
}

func (a *appCall) Record(sink media.AudioSink) {
	if ep := a.endpoint(); ep != nil {
		ep.SetSink(sink)
	}
}

func (a *appCall) AudioOut() media.ParticipantOutput {
	if ep := a.endpoint(); ep != nil {
		return ep
	}
	return nil
}

func (a *appCall) Hangup(cause string) { a.c.stop(cause) }

// Connect hands the call on: another application's destination is run
// after this one returns; phones are rung with ringback to the caller
// for as long as their ring time (the caller hanging up ends it).
func (a *appCall) Connect(ctx context.Context, destination string) error {
	d, err := dialplan.ParseDestination(destination)
	if err != nil {
		return fmt.Errorf("%w: %w", callapp.ErrNotConnected, err)
	}
	if a.ctx.Err() != nil {
		return callapp.ErrHungUp
	}
	c := a.c
	fail, ok, app := c.dialAnswered([]attempt{{dest: d}})
	if app != nil {
		a.next = app
		a.cancel()
		return nil
	}
	if !ok {
		if c.stopped() {
			return callapp.ErrHungUp
		}
		return fmt.Errorf("%w: %s", callapp.ErrNotConnected, fail.cause)
	}
	a.connected = true
	a.cancel()
	return nil
}

// runApps runs the application of dest on the answered call, then the
// ones it hands the call to, until one connects the call to a phone, the
// caller hangs up, or an application ends it. Without a connection the
// call ends.
func (c *call) runApps(dest dialplan.Destination) {
	if ep := c.endpoint(media.SideA); ep != nil {
		ep.SetInBandDTMF(true) // a phone without RFC 4733 keys in tones
		defer ep.SetInBandDTMF(false)
	}
	for n := 0; ; n++ {
		app := c.e.cfg.Apps[dest.Kind]
		if app == nil || n >= maxAppHandoffs {
			c.log.Warn("call ended: no application, or too many hand-overs", "destination", dest.String(), "handoffs", n)
			c.stop(causeServerError)
			return
		}
		ctx, cancel := context.WithCancel(c.e.ctx)
		a := &appCall{c: c, ctx: ctx, cancel: cancel}
		go func() {
			select {
			case <-c.done:
			case <-ctx.Done():
			}
			cancel()
		}()
		c.log.Info("application", "destination", dest.String())
		app.Run(a, dest.Number)
		cancel()
		switch {
		case a.connected:
			return
		case a.next != nil && !c.stopped():
			c.keys.Flush()
			dest = *a.next
		default:
			c.stop(causeAppDone)
			return
		}
	}
}

// mergeContexts is a context that ends when either parent does.
func mergeContexts(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// promptAudio is the named prompt's 8 kHz audio: the uploaded prompt of
// that name, else the built-in one.
func (e *Engine) promptAudio(ctx context.Context, name string) ([]int16, error) {
	f, _, err := e.cfg.Store.OpenPrompt(ctx, name)
	if err == nil {
		defer f.Close()
		a, err := media.ReadWAV(bufio.NewReader(f))
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", name, err)
		}
		return a.Samples, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if a, ok := media.BuiltinPrompt(name); ok {
		return a.Samples, nil
	}
	return nil, fmt.Errorf("%w: %s", callapp.ErrNoPrompt, name)
}
