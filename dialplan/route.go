package dialplan

import (
	"strconv"
	"time"
)

// Call is what the interpreter needs to know about a call being routed.
type Call struct {
	Context      string // "internal" (also when empty) for calls from extensions; a trunk's context for inbound
	Number       string // as dialled
	CallerNumber string
	CallerName   string
	Trunk        string    // the trunk an inbound call came in on ("" otherwise)
	Class        string    // the caller's outbound class ("" = internal)
	Time         time.Time // when the call is routed; hours conditions read it in the plan's time zone
}

// Outcome is how routing ended.
type Outcome int

// Routing outcomes.
const (
	OutcomeRoute   Outcome = iota // Attempts holds where to try, in order
	OutcomeNoMatch                // no rule matched, or the matching rule gave no destination
	OutcomeRefused                // a require statement refused the caller's class
	OutcomeHangup                 // the plan hung up before any attempt
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case OutcomeRoute:
		return "route"
	case OutcomeNoMatch:
		return "no match"
	case OutcomeRefused:
		return "refused"
	case OutcomeHangup:
		return "hangup"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Route is the interpreter's answer for one call.
type Route struct {
	Outcome Outcome
	Reason  string // why, for OutcomeNoMatch and OutcomeRefused

	Context string // the context routing ended in
	Number  string // the number after strip and prefix

	CallerNumber, CallerName string // after callerid statements

	Attempts []Attempt // in order; the PBX tries each until one connects
	Steps    []Step    // the trace: every step taken, in order
}

// Attempt is one destination to try. If it does not answer (busy, no
// answer, unavailable) the PBX tries the next.
type Attempt struct {
	Dest Destination
	Ring time.Duration // 0: the destination's own ring time
	Line int           // the dial statement's line
}

// Step is one line of the routing trace.
type Step struct {
	Line    int
	Context string
	Text    string
}

// maxGotos bounds goto chains; Parse already rejects loops.
const maxGotos = 32

// run is the state of one Route call.
type run struct {
	plan  *Plan
	r     *Route
	env   env
	class int
	time  time.Time
	local time.Time // time in the plan's zone, computed on first use
	hasTZ bool
}

// flow tells the rule loop how a block ended.
type flow uint8

const (
	flowNext flow = iota // fell through: the next statement runs
	flowStop             // routing is over
	flowGoto             // continue in another context
)

// Route decides where a call goes. It is pure (time comes from c.Time),
// never panics, and returns the whole trace.
func (p *Plan) Route(c Call) Route {
	r := Route{
		Context:      c.Context,
		Number:       c.Number,
		CallerNumber: c.CallerNumber,
		CallerName:   c.CallerName,
		Steps:        make([]Step, 0, 6),
	}
	if r.Context == "" {
		r.Context = "internal"
	}
	if p == nil {
		r.Outcome, r.Reason = OutcomeNoMatch, "no dial plan"
		return r
	}
	class, _ := classRank(c.Class)
	st := run{
		plan: p, r: &r, class: class, time: c.Time,
		env: env{number: c.Number, dialed: c.Number, caller: c.CallerNumber, callerName: c.CallerName, trunk: c.Trunk},
	}
	for depth := 0; ; depth++ {
		ctx := p.byName[r.Context]
		if ctx == nil {
			r.Outcome, r.Reason = OutcomeNoMatch, "no context "+r.Context
			st.step(0, r.Reason)
			return r
		}
		if depth > maxGotos {
			r.Outcome, r.Reason = OutcomeNoMatch, "more than "+strconv.Itoa(maxGotos)+" gotos"
			st.step(0, r.Reason)
			return r
		}
		ri := ctx.lookup(st.env.number)
		if ri < 0 {
			st.finish(OutcomeNoMatch, "no rule in context "+ctx.name+" matches "+quoteNumber(st.env.number))
			st.step(ctx.line, "context "+ctx.name+": no rule matches "+quoteNumber(st.env.number))
			return r
		}
		rl := &ctx.rules[ri]
		st.step(rl.line, "context "+ctx.name+": rule "+rl.text+" matches "+st.env.number)
		switch f, target := st.block(rl.body); f {
		case flowGoto:
			r.Context = target.name
			continue
		case flowNext:
			st.finish(OutcomeNoMatch, "rule "+rl.text+" (line "+strconv.Itoa(rl.line)+") in context "+ctx.name+" gave no destination for "+quoteNumber(st.env.number))
			if r.Outcome == OutcomeNoMatch {
				st.step(rl.line, "rule "+rl.text+": no destination")
			}
		}
		return r
	}
}

func quoteNumber(n string) string {
	if n == "" {
		return `""`
	}
	return n
}

// finish ends routing: with attempts it is a route whatever the reason.
func (st *run) finish(o Outcome, reason string) {
	st.r.Number = st.env.number
	if len(st.r.Attempts) > 0 {
		st.r.Outcome = OutcomeRoute
		return
	}
	st.r.Outcome, st.r.Reason = o, reason
}

func (st *run) step(line int, text string) {
	st.r.Steps = append(st.r.Steps, Step{Line: line, Context: st.r.Context, Text: text})
}

// block runs statements until one ends the rule.
func (st *run) block(body []stmt) (flow, *context) {
	for i := range body {
		s := &body[i]
		switch s.op {
		case opDial:
			d := s.dest.fixed
			if !s.dest.isFixed {
				text := s.dest.tmpl.expand(&st.env)
				var err error
				if d, err = ParseDestination(text); err != nil {
					st.step(s.line, "dial "+s.dest.raw+": skipped, "+err.Error())
					continue
				}
			}
			text := "dial " + d.String()
			if s.ring > 0 {
				text += " ring " + strconv.Itoa(int(s.ring/time.Second)) + "s"
			}
			st.step(s.line, text)
			if d.Kind == KindHangup {
				st.hangup()
				return flowStop, nil
			}
			st.r.Attempts = append(st.r.Attempts, Attempt{Dest: d, Ring: s.ring, Line: s.line})
			if alwaysAnswers(d.Kind) {
				st.finish(OutcomeRoute, "")
				return flowStop, nil
			}
		case opGoto:
			st.step(s.line, "goto "+s.jump.target.name)
			return flowGoto, s.jump.target
		case opHangup:
			st.step(s.line, "hangup")
			st.hangup()
			return flowStop, nil
		case opStrip:
			n := st.env.number
			if s.n >= len(n) {
				n = ""
			} else {
				n = n[s.n:]
			}
			st.env.number = n
			st.step(s.line, "strip "+strconv.Itoa(s.n)+": "+quoteNumber(n))
		case opPrefix:
			st.env.number = s.text.lit + st.env.number
			st.step(s.line, "prefix "+s.text.lit+": "+st.env.number)
		case opCallerNumber:
			st.r.CallerNumber = s.text.expand(&st.env)
			st.step(s.line, "callerid number: "+st.r.CallerNumber)
		case opCallerName:
			st.r.CallerName = s.text.expand(&st.env)
			st.step(s.line, "callerid name: "+st.r.CallerName)
		case opRequire:
			have := classNameOf(st.class)
			want := classNameOf(s.n)
			if st.class < s.n {
				reason := "outbound class " + have + " may not dial " + want
				st.step(s.line, "require "+want+": refused, "+reason)
				st.r.Attempts = nil
				st.r.Number = st.env.number
				st.r.Outcome, st.r.Reason = OutcomeRefused, reason
				return flowStop, nil
			}
			st.step(s.line, "require "+want+": class "+have+" allowed")
		case opIf:
			ok, why := st.test(s.cond)
			text := "if "
			if s.cond.not {
				text += "not "
			}
			text += s.cond.text + ": " + strconv.FormatBool(ok) + " (" + why + ")"
			st.step(s.line, text)
			branch := s.cond.els
			if ok {
				branch = s.cond.then
			}
			if f, target := st.block(branch); f != flowNext {
				return f, target
			}
		}
	}
	return flowNext, nil
}

func (st *run) hangup() {
	if len(st.r.Attempts) > 0 {
		st.r.Attempts = append(st.r.Attempts, Attempt{Dest: Destination{Kind: KindHangup}})
		st.finish(OutcomeRoute, "")
		return
	}
	st.finish(OutcomeHangup, "")
}

// test evaluates a condition, with what it looked at for the trace.
func (st *run) test(c *cond) (bool, string) {
	var ok bool
	var why string
	if c.callers != nil {
		ok = matchAny(c.callers, st.env.caller)
		why = quoteNumber(st.env.caller)
	} else {
		if !st.hasTZ {
			st.local = st.time.In(st.plan.loc)
			st.hasTZ = true
		}
		ok = c.hours != nil && c.hours.open(st.local)
		why = st.local.Format("Mon 2006-01-02 15:04") + " " + st.plan.TimeZone()
	}
	if c.not {
		ok = !ok
	}
	return ok, why
}

func classNameOf(rank int) string {
	switch rank {
	case 1:
		return "local"
	case 2:
		return "national"
	case 3:
		return "international"
	}
	return "internal"
}
