package dialplan

import "time"

// Plan is a parsed and validated dial plan. It is immutable: Route, Check
// and the accessors may be called from many goroutines at once.
type Plan struct {
	tz       string // as written; "" means UTC
	loc      *time.Location
	hours    map[string]*hours
	contexts []*context
	byName   map[string]*context
	dests    []*destLit // every destination literal, in file order
}

// Reference is one destination literal in a plan, for "what uses this
// extension?" questions and for checking that targets exist.
type Reference struct {
	Raw  string      // as written, e.g. "trunk:pstn:${number}"
	Dest Destination // the parsed destination; zero when the number has variables
	Kind string      // the destination kind, always known
	// Trunk is the trunk name of a trunk destination when it is written out
	// (not a variable), even if the number has variables.
	Trunk     string
	Line, Col int
}

// context is one "context NAME { rules }" block with its match index.
type context struct {
	name      string
	line, col int
	rules     []rule
	exact     map[string]int32 // exact number -> index of the first rule naming it
	pats      []ctxPattern     // every pattern of every rule, in rule order
	byLen     [maxNumberLen + 1][]int32
}

// ctxPattern is a pattern and the rule it belongs to.
type ctxPattern struct {
	pat  *pattern
	rule int32
}

// rule is "rule MATCHERS { statements }".
type rule struct {
	line, col int
	text      string // the matchers as written, joined by ", "
	matchers  []matcher
	body      []stmt
}

// matcher is one exact number or pattern of a rule or caller condition.
type matcher struct {
	line, col int
	exact     string   // the number, when pat is nil
	pat       *pattern // the pattern, when it is one
}

func (m *matcher) text() string {
	if m.pat != nil {
		return m.pat.text
	}
	return m.exact
}

type opcode uint8

const (
	opDial opcode = iota + 1
	opGoto
	opHangup
	opStrip
	opPrefix
	opCallerNumber
	opCallerName
	opRequire
	opIf
)

// stmt is one statement; which fields matter depends on op.
type stmt struct {
	op        opcode
	line, col int
	n         int           // strip count; require class
	ring      time.Duration // dial; 0 = the destination's own ring time
	dest      *destLit      // dial
	jump      *jump         // goto
	text      *template     // prefix, callerid
	cond      *cond         // if
}

// jump is a goto's target.
type jump struct {
	name      string
	line, col int
	target    *context // resolved after parsing
}

// cond is the condition of an if.
type cond struct {
	not       bool
	text      string // as written without "not", e.g. "office" or "caller _1XX"
	name      string // hours name
	line, col int    // of the hours name or of "caller"
	hours     *hours // resolved after parsing
	callers   []matcher
	then, els []stmt
}

// classRank ranks an outbound class, lowest first; "" and unknown classes
// rank as internal. ok is false for unknown names.
func classRank(s string) (rank int, ok bool) {
	switch s {
	case "internal":
		return 0, true
	case "local":
		return 1, true
	case "national":
		return 2, true
	case "international":
		return 3, true
	}
	return 0, false
}

// alwaysAnswers reports whether a dial of this kind never falls through.
func alwaysAnswers(kind string) bool {
	switch kind {
	case KindIVR, KindVoicemail, KindConference, KindHangup:
		return true
	}
	return false
}

// Contexts returns the context names in the order they are written.
func (p *Plan) Contexts() []string {
	if p == nil {
		return nil
	}
	out := make([]string, len(p.contexts))
	for i, c := range p.contexts {
		out[i] = c.name
	}
	return out
}

// HasContext reports whether the plan has a context of that name, e.g. to
// validate a trunk's inbound context.
func (p *Plan) HasContext(name string) bool {
	if p == nil {
		return false
	}
	_, ok := p.byName[name]
	return ok
}

// TimeZone returns the plan's time zone name ("UTC" when not set).
func (p *Plan) TimeZone() string {
	if p == nil || p.tz == "" {
		return "UTC"
	}
	return p.tz
}

// References returns every destination literal of the plan in file order.
func (p *Plan) References() []Reference {
	if p == nil {
		return nil
	}
	refs := make([]Reference, len(p.dests))
	for i, d := range p.dests {
		refs[i] = d.reference()
	}
	return refs
}

func (d *destLit) reference() Reference {
	r := Reference{Raw: d.raw, Kind: d.kind, Trunk: d.trunk, Line: d.line, Col: d.col}
	if d.isFixed {
		r.Dest = d.fixed
	}
	return r
}
