package pbx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// ContextInternal is the dial-plan context of calls from extensions.
const ContextInternal = "internal"

// maxNumberHops bounds how often number: destinations may send a call
// through the dial plan again.
const maxNumberHops = 5

// attempt is one destination a call tries; the call tries its attempts in
// order until one connects (the dial plan's fallbacks).
type attempt struct {
	dest dialplan.Destination
	ring time.Duration // 0: the destination's own ring time
	line int           // the dial plan's dial statement; 0 for the numbering plan
	// context is the dial-plan context of that statement ("" for the
	// numbering plan and destinations configured elsewhere).
	context string
	// feature marks a feature code the PBX answers itself.
	feature bool
}

// resolution is where a dialed number goes: a pickup, or attempts.
type resolution struct {
	pickup   *pickupTarget
	attempts []attempt
	// callerNumber and callerName are the caller ID after the dial plan
	// (unchanged if it set none).
	callerNumber, callerName string
	steps                    []TraceStep
	// context and number are where routing ended: the dial plan's
	// context and the number after strip and prefix.
	context, number string
}

// TraceStep is one step of routing, for the trace API.
type TraceStep struct {
	Line    int    // the dial plan's line; 0 for the numbering plan
	Context string // the dial plan's context ("" for the numbering plan)
	Text    string
}

// errForbidden: the dial plan refused the call (a require failed).
var errForbidden = errors.New("forbidden by the dial plan")

// errHangupDest: the dial plan or a destination said hang up.
var errHangupDest = errors.New("hangup destination")

// planHolder is the dial plan in force: parsed from the store at start
// and again after every change, swapped atomically so a call in routing
// keeps the plan it started with.
type planHolder struct {
	p  atomic.Pointer[dialplan.Plan]
	mu sync.Mutex // one load at a time, so the newest text wins
}

// loadPlan parses the stored dial plan; a stored plan that no longer
// parses (it was saved by another version) keeps the one in force.
func (e *Engine) loadPlan(ctx context.Context) {
	e.plan.mu.Lock()
	defer e.plan.mu.Unlock()
	v, err := e.cfg.Store.Dialplan(ctx)
	text := v.Text
	if errors.Is(err, store.ErrNotFound) {
		text = dialplan.Default
	} else if err != nil {
		e.log.Error("read dial plan", "error", err)
		return
	}
	p, errs := dialplan.Parse(text)
	if len(errs) > 0 {
		e.log.Error("stored dial plan does not parse; keeping the one in force", "errors", errs.Error())
		if e.plan.p.Load() == nil {
			p, _ = dialplan.Parse(dialplan.Default)
			e.plan.p.Store(p)
		}
		return
	}
	e.plan.p.Store(p)
}

// now is the engine's clock (tests inject one for time conditions).
func (e *Engine) now() time.Time {
	if e.cfg.Now != nil {
		return e.cfg.Now()
	}
	return time.Now()
}

// resolve decides where a call from caller to dialed goes in the
// internal context: the numbering plan first (feature codes, pickup,
// extensions, ring groups, IVR menus, conference rooms: reachable with no
// dial-plan entry), then the dial plan's rules.
func (e *Engine) resolve(ctx context.Context, caller store.Extension, dialed string, at time.Time) (resolution, error) {
	r := resolution{callerNumber: caller.Number, callerName: caller.Name, context: ContextInternal, number: dialed}
	step := func(text string) { r.steps = append(r.steps, TraceStep{Text: text}) }
	if e.cfg.FeatureCode != nil {
		if app, target, ok := e.cfg.FeatureCode(dialed, caller.Number); ok {
			step("numbering plan: " + dialed + " is a feature code")
			r.attempts = []attempt{{dest: dialplan.Destination{Kind: app, Number: target}, feature: true}}
			return r, nil
		}
	}
	if pt, ok := parsePickupCode(dialed); ok {
		step("numbering plan: " + dialed + " is a pickup code")
		r.pickup = &pt
		return r, nil
	}
	if dialplan.IsNumber(dialed) {
		kind := ""
		if _, err := e.exts.get(ctx, dialed); err == nil {
			kind = dialplan.KindExtension
		} else if !errors.Is(err, store.ErrNotFound) {
			return r, fmt.Errorf("route %s: %w", dialed, err)
		} else if k, err := e.cfg.Store.NumberKind(ctx, dialed); err == nil {
			kind = k
		} else if !errors.Is(err, store.ErrNotFound) {
			return r, fmt.Errorf("route %s: %w", dialed, err)
		}
		if kind != "" {
			step(fmt.Sprintf("numbering plan: %s is %s %s", dialed, kind, dialed))
			r.attempts = []attempt{{dest: dialplan.Destination{Kind: kind, Number: dialed}}}
			return r, nil
		}
	}
	return e.routePlan(r, dialplan.Call{Context: ContextInternal, Number: dialed, CallerNumber: caller.Number,
		CallerName: caller.Name, Class: caller.Outbound, Time: at})
}

// routePlan runs the dial plan's interpreter for a call.
func (e *Engine) routePlan(r resolution, in dialplan.Call) (resolution, error) {
	p := e.plan.p.Load()
	if p == nil {
		return r, fmt.Errorf("%w: %s (no dial plan)", errUnknownNumber, in.Number)
	}
	rt := p.Route(in)
	for _, s := range rt.Steps {
		r.steps = append(r.steps, TraceStep{Line: s.Line, Context: s.Context, Text: s.Text})
	}
	switch rt.Outcome {
	case dialplan.OutcomeNoMatch:
		return r, fmt.Errorf("%w: %s", errUnknownNumber, rt.Reason)
	case dialplan.OutcomeRefused:
		return r, fmt.Errorf("%w: %s", errForbidden, rt.Reason)
	case dialplan.OutcomeHangup:
		return r, fmt.Errorf("%w: %s", errHangupDest, rt.Reason)
	}
	r.callerNumber, r.callerName = rt.CallerNumber, rt.CallerName
	r.context, r.number = rt.Context, rt.Number
	contextOf := map[int]string{} // a statement's line is in one context
	for _, s := range rt.Steps {
		if s.Line > 0 {
			contextOf[s.Line] = s.Context
		}
	}
	for _, a := range rt.Attempts {
		r.attempts = append(r.attempts, attempt{dest: a.Dest, ring: a.Ring, line: a.Line, context: contextOf[a.Line]})
	}
	if len(r.attempts) == 0 {
		return r, fmt.Errorf("%w: %s", errUnknownNumber, in.Number)
	}
	return r, nil
}

// expand turns an attempt into the attempts it stands for: a number:
// destination goes through the numbering and dial plans again (depth
// bounded); any other is itself.
func (e *Engine) expand(ctx context.Context, caller store.Extension, a attempt, depth int) ([]attempt, error) {
	if a.dest.Kind != dialplan.KindNumber {
		return []attempt{a}, nil
	}
	if depth >= maxNumberHops {
		return nil, fmt.Errorf("%w: %s (too many number: hops)", errUnknownNumber, a.dest.Number)
	}
	r, err := e.resolve(ctx, caller, a.dest.Number, e.now())
	if err != nil {
		return nil, err
	}
	if r.pickup != nil {
		return nil, fmt.Errorf("%w: %s", errUnknownNumber, a.dest.Number)
	}
	var out []attempt
	for _, x := range r.attempts {
		if a.ring > 0 && x.ring == 0 {
			x.ring = a.ring
		}
		more, err := e.expand(ctx, caller, x, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// TraceRequest is a call to trace through routing without placing it.
type TraceRequest struct {
	Context string // default "internal"
	Number  string
	From    string // the caller's number (an extension for internal calls)
	At      time.Time
	Trunk   string
}

// TraceResult is where a traced call would go, step by step.
type TraceResult struct {
	Steps []TraceStep
	// Outcome is "route" (Attempts in order), "no_match", "refused",
	// "hangup", "pickup" or "feature".
	Outcome      string
	Reason       string
	Attempts     []TraceAttempt
	CallerNumber string
	CallerName   string
	Context      string // where routing ended
	Number       string // after strip and prefix
}

// TraceAttempt is one destination a traced call would try.
type TraceAttempt struct {
	Destination string
	Ring        time.Duration
	Line        int // the dial plan's line; 0 for the numbering plan
}

// ErrUnknownContext: a trace named a context the dial plan lacks.
var ErrUnknownContext = errors.New("unknown dial-plan context")

// Trace runs the router a call would meet, with the plan in force and
// the same code, and reports its steps; nothing is rung.
func (e *Engine) Trace(ctx context.Context, req TraceRequest) (TraceResult, error) {
	if req.Context == "" {
		req.Context = ContextInternal
	}
	if req.At.IsZero() {
		req.At = e.now()
	}
	var caller store.Extension
	if req.Context == ContextInternal && dialplan.IsNumber(req.From) {
		if ext, err := e.exts.get(ctx, req.From); err == nil {
			caller = ext
		}
	}
	if caller.Number == "" {
		caller = store.Extension{Number: req.From, Outbound: "internal"}
	}
	var r resolution
	var err error
	if req.Context == ContextInternal {
		r, err = e.resolve(ctx, caller, req.Number, req.At)
	} else {
		p := e.plan.p.Load()
		if p == nil || !p.HasContext(req.Context) {
			return TraceResult{}, fmt.Errorf("%w: %s", ErrUnknownContext, req.Context)
		}
		r = resolution{callerNumber: req.From, context: req.Context, number: req.Number}
		r, err = e.routePlan(r, dialplan.Call{Context: req.Context, Number: req.Number, CallerNumber: req.From,
			Trunk: req.Trunk, Class: "internal", Time: req.At})
	}
	out := TraceResult{Steps: r.steps, CallerNumber: r.callerNumber, CallerName: r.callerName,
		Context: r.context, Number: r.number}
	switch {
	case errors.Is(err, errUnknownNumber):
		out.Outcome, out.Reason = "no_match", err.Error()
		return out, nil
	case errors.Is(err, errForbidden):
		out.Outcome, out.Reason = "refused", err.Error()
		return out, nil
	case errors.Is(err, errHangupDest):
		out.Outcome, out.Reason = "hangup", err.Error()
		return out, nil
	case err != nil:
		return out, err
	case r.pickup != nil:
		out.Outcome = "pickup"
		return out, nil
	}
	out.Outcome = "route"
	var inTrunk *store.Trunk
	if req.Context != ContextInternal {
		// A trace from another context is an inbound call's.
		inTrunk = &store.Trunk{Name: req.Trunk, Context: req.Context}
	}
	for _, a := range r.attempts {
		if a.feature {
			out.Outcome = "feature"
		}
		out.Attempts = append(out.Attempts, TraceAttempt{Destination: a.dest.String(), Ring: a.ring, Line: a.line})
		if a.dest.Kind == dialplan.KindTrunk {
			// The trunk's own check at call time (docs/trunks.md).
			text := "trunk " + a.dest.Trunk + ": allowed"
			if err := trunkPermission(inTrunk, caller.Outbound, a, a.dest.Number, e.cfg.EmergencyNumbers); err != nil {
				text = "trunk " + a.dest.Trunk + ": refused at call time, " + err.Error()
			}
			out.Steps = append(out.Steps, TraceStep{Line: a.line, Context: a.context, Text: text})
		}
	}
	return out, nil
}
