package dialplan

import (
	"fmt"
	"strings"
)

// validate resolves names and finds the errors that need the whole plan:
// unknown hours and contexts, goto loops, unreachable rules and
// statements, a missing internal context. It also builds each context's
// match index.
func validate(pl *Plan, errs *ErrorList) {
	if pl.byName["internal"] == nil {
		errs.add(1, 1, "missing context internal: calls from extensions start there (an empty context internal { } will do)")
	}
	for _, c := range pl.contexts {
		for i := range c.rules {
			r := &c.rules[i]
			resolve(pl, r.body, errs)
			unreachableStmts(r.body, errs)
		}
		index(c, errs)
	}
	gotoLoops(pl, errs)
}

// resolve links goto targets and hours conditions.
func resolve(pl *Plan, body []stmt, errs *ErrorList) {
	for i := range body {
		s := &body[i]
		switch s.op {
		case opGoto:
			if s.jump.target = pl.byName[s.jump.name]; s.jump.target == nil {
				errs.add(s.jump.line, s.jump.col, "unknown context %s", s.jump.name)
			}
		case opIf:
			if s.cond.callers == nil && s.cond.name != "" {
				if s.cond.hours = pl.hours[s.cond.name]; s.cond.hours == nil {
					errs.add(s.cond.line, s.cond.col, "unknown hours %s", s.cond.name)
				}
			}
			resolve(pl, s.cond.then, errs)
			resolve(pl, s.cond.els, errs)
		}
	}
}

// unreachableStmts reports the first statement of each block that can
// never run, and returns the statement that ends the block (nil if the
// block may fall through).
func unreachableStmts(body []stmt, errs *ErrorList) *stmt {
	var end *stmt
	for i := range body {
		s := &body[i]
		if end != nil {
			errs.add(s.line, s.col, "unreachable statement: %s", endsWhy(end))
			return end
		}
		switch s.op {
		case opGoto, opHangup:
			end = s
		case opDial:
			if alwaysAnswers(s.dest.kind) {
				end = s
			}
		case opIf:
			a := unreachableStmts(s.cond.then, errs)
			b := unreachableStmts(s.cond.els, errs)
			if a != nil && b != nil {
				end = s
			}
		}
	}
	return end
}

// endsWhy says why statement s ends its block.
func endsWhy(s *stmt) string {
	switch s.op {
	case opGoto:
		return fmt.Sprintf("the goto on line %d ends the rule", s.line)
	case opHangup:
		return fmt.Sprintf("the hangup on line %d ends the call", s.line)
	case opDial:
		return fmt.Sprintf("%s on line %d always answers", s.dest.raw, s.line)
	}
	return fmt.Sprintf("both branches of the if on line %d end the rule", s.line)
}

// index builds the context's exact-number map and pattern lists, and
// reports rules (and numbers of rules) that an earlier rule always matches
// first.
func index(c *context, errs *ErrorList) {
	for ri := range c.rules {
		r := &c.rules[ri]
		if len(r.matchers) == 0 {
			continue
		}
		shadow := make([]*rule, len(r.matchers))
		covered := 0
		for mi := range r.matchers {
			if shadow[mi] = c.shadowedBy(&r.matchers[mi], ri); shadow[mi] != nil {
				covered++
			}
		}
		if covered == len(r.matchers) && shadow[0] != r {
			errs.add(r.line, r.col, "unreachable rule: rule %s on line %d matches every number it matches", shadow[0].text, shadow[0].line)
		} else {
			for mi, by := range shadow {
				m := &r.matchers[mi]
				switch {
				case by == r:
					errs.add(m.line, m.col, "%s is repeated in this rule", m.text())
				case by != nil:
					errs.add(m.line, m.col, "%s never matches here: rule %s on line %d matches it first", m.text(), by.text, by.line)
				}
			}
		}
		for mi := range r.matchers {
			m := &r.matchers[mi]
			if m.pat == nil {
				if _, dup := c.exact[m.exact]; !dup {
					c.exact[m.exact] = int32(ri)
				}
				continue
			}
			pi := int32(len(c.pats))
			c.pats = append(c.pats, ctxPattern{pat: m.pat, rule: int32(ri)})
			for n := 0; n <= maxNumberLen; n++ {
				if n >= m.pat.minLen() && (m.pat.maxLen() < 0 || n <= m.pat.maxLen()) {
					c.byLen[n] = append(c.byLen[n], pi)
				}
			}
		}
	}
}

// shadowedBy returns the earlier rule (or rule ri itself, for a repeat
// within it) that matches every number m matches, or nil.
func (c *context) shadowedBy(m *matcher, ri int) *rule {
	r := &c.rules[ri]
	for j := range r.matchers {
		o := &r.matchers[j]
		if o == m {
			break
		}
		if o.text() == m.text() {
			return r
		}
	}
	if m.pat == nil || m.pat.lit != "" {
		num := m.exact
		if m.pat != nil {
			num = m.pat.lit
		}
		if i := c.lookup(num); i >= 0 {
			return &c.rules[i]
		}
		return nil
	}
	for _, cp := range c.pats {
		if m.pat.within(cp.pat) {
			return &c.rules[cp.rule]
		}
	}
	return nil
}

// gotoLoops reports every goto that closes a cycle between contexts.
func gotoLoops(pl *Plan, errs *ErrorList) {
	const (
		white = iota
		grey
		black
	)
	color := map[*context]int{}
	var stack []*context
	var visit func(c *context)
	var walk func(body []stmt, from *context)
	walk = func(body []stmt, from *context) {
		for i := range body {
			s := &body[i]
			switch s.op {
			case opGoto:
				if s.jump.target == nil {
					continue
				}
				switch color[s.jump.target] {
				case white:
					visit(s.jump.target)
				case grey:
					var path []string
					for k := len(stack) - 1; k >= 0; k-- {
						if stack[k] == s.jump.target {
							for _, c := range stack[k:] {
								path = append(path, c.name)
							}
							break
						}
					}
					path = append(path, s.jump.target.name)
					errs.add(s.line, s.col, "goto loop: %s", strings.Join(path, " -> "))
				}
			case opIf:
				walk(s.cond.then, from)
				walk(s.cond.els, from)
			}
		}
	}
	visit = func(c *context) {
		color[c] = grey
		stack = append(stack, c)
		for i := range c.rules {
			walk(c.rules[i].body, c)
		}
		stack = stack[:len(stack)-1]
		color[c] = black
	}
	for _, c := range pl.contexts {
		if color[c] == white {
			visit(c)
		}
	}
}
