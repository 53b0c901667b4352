package dialplan

import (
	"strconv"
	"strings"
	"time"
)

// Parse reads a dial plan and reports every syntax and static error at
// once, sorted by position: bad syntax, patterns, destinations, times,
// dates and time zones; unknown or duplicate names; goto loops; rules and
// statements that can never run; a missing internal context. The plan is
// nil when there is any error.
func Parse(src string) (*Plan, ErrorList) {
	p := &parser{plan: &Plan{
		loc:    time.UTC,
		hours:  map[string]*hours{},
		byName: map[string]*context{},
	}}
	p.toks = lex(src, &p.errs)
	p.parseFile()
	validate(p.plan, &p.errs)
	if len(p.errs) > 0 {
		return nil, p.errs.sortDedup()
	}
	return p.plan, nil
}

type parser struct {
	toks  []token
	pos   int
	errs  ErrorList
	plan  *Plan
	tzAt  token   // the first timezone statement, for duplicates
	words []token // wordList's buffer, reused
	stack []stmt  // statements of the blocks being parsed
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) {
	p.errs.add(t.line, t.col, format, args...)
}

// arg returns the next token if it is a word or string on the line of
// after (a statement's arguments stay on its line); otherwise it reports
// "what" as missing at after.
func (p *parser) arg(after token, what string) (token, bool) {
	t := p.peek()
	if (t.kind == tWord || t.kind == tString) && t.line == after.line {
		return p.next(), true
	}
	p.errs.add(after.line, after.col, "%s needs %s", after.text, what)
	return t, false
}

// skipBalanced skips one token, or a whole {...} block.
func (p *parser) skipBalanced() {
	if p.next().kind != tLBrace {
		return
	}
	for depth := 1; depth > 0; {
		switch p.next().kind {
		case tEOF:
			return
		case tLBrace:
			depth++
		case tRBrace:
			depth--
		}
	}
}

// syncLine skips the rest of line (balanced), stopping before a '}'.
func (p *parser) syncLine(line int) {
	for {
		t := p.peek()
		if t.kind == tEOF || t.kind == tRBrace || t.line > line {
			return
		}
		p.skipBalanced()
	}
}

func isTopKeyword(t token) bool {
	return t.is("timezone") || t.is("hours") || t.is("context")
}

func (p *parser) parseFile() {
	for {
		t := p.peek()
		switch {
		case t.kind == tEOF:
			return
		case t.is("timezone"):
			p.parseTimezone()
		case t.is("hours"):
			p.parseHours()
		case t.is("context"):
			p.parseContext()
		default:
			p.errorf(t, "expected timezone, hours or context, found %s", t.describe())
			for p.skipBalanced(); p.peek().kind != tEOF && !isTopKeyword(p.peek()); {
				p.skipBalanced()
			}
		}
	}
}

// isIdent reports whether s can name a context or hours: a letter, then
// letters, digits, '-', '_' or '.', at most 64 characters.
func isIdent(s string) bool {
	if !IsName(s) {
		return false
	}
	c := s[0]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *parser) parseTimezone() {
	kw := p.next()
	t, ok := p.arg(kw, `a time zone name, e.g. timezone "Europe/Berlin"`)
	if !ok {
		p.syncLine(kw.line)
		return
	}
	if p.tzAt.line != 0 {
		p.errorf(kw, "duplicate timezone (first on line %d)", p.tzAt.line)
		return
	}
	p.tzAt = kw
	name := t.text
	loc, err := time.LoadLocation(name)
	if name == "" || name == "Local" || err != nil || strings.ContainsAny(name, `\"`) {
		p.errorf(t, "unknown time zone %q: use an IANA name such as \"Europe/Berlin\" or \"UTC\"", name)
		return
	}
	p.plan.tz, p.plan.loc = name, loc
}

// name reads the name after "hours" or "context".
func (p *parser) name(kw token) (token, bool) {
	t, ok := p.arg(kw, "a name")
	if !ok {
		return t, false
	}
	if t.kind != tWord || !isIdent(t.text) {
		p.errorf(t, "bad %s name %s: use a letter, then letters, digits, -, _ or .", kw.text, t.describe())
		return t, false
	}
	return t, true
}

// open expects the '{' of a block after the header of kw.
func (p *parser) open(kw token, what string) bool {
	if t := p.peek(); t.kind != tLBrace {
		p.errorf(t, "expected { after %s, found %s", what, t.describe())
		// Resynchronise on a '{' later on the same line, if any.
		for t.kind != tEOF && t.kind != tLBrace && t.kind != tRBrace && t.line == kw.line {
			p.next()
			t = p.peek()
		}
		if t.kind != tLBrace {
			return false
		}
	}
	p.next()
	return true
}

// wordList reads WORD {, WORD}; a comma may end a line to continue the list.
func (p *parser) wordList(first token) []token {
	list := append(p.words[:0], first)
	defer func() { p.words = list[:0] }()
	for p.peek().kind == tComma {
		p.next()
		t := p.peek()
		if t.kind != tWord {
			p.errorf(t, "expected a value after ',', found %s", t.describe())
			break
		}
		list = append(list, p.next())
	}
	return list
}

func (p *parser) parseHours() {
	kw := p.next()
	nameTok, ok := p.name(kw)
	h := &hours{name: nameTok.text, line: nameTok.line, col: nameTok.col}
	if ok {
		switch {
		case nameTok.text == "caller" || nameTok.text == "not":
			p.errorf(nameTok, "%s is a reserved word and cannot name hours", nameTok.text)
		case p.plan.hours[h.name] != nil:
			p.errorf(nameTok, "duplicate hours %s (first on line %d)", h.name, p.plan.hours[h.name].line)
		default:
			p.plan.hours[h.name] = h
		}
	}
	if !ok && p.peek().kind != tLBrace && p.peek().line != kw.line {
		return
	}
	if !p.open(kw, "the hours name") {
		p.syncLine(kw.line)
		return
	}
	openTok := p.toks[p.pos-1]
	entries := 0
	for {
		t := p.peek()
		switch {
		case t.kind == tRBrace:
			p.next()
			return
		case t.kind == tEOF:
			p.errorf(openTok, "unclosed { of hours %s", h.name)
			return
		case t.kind != tWord:
			p.errorf(t, "expected days (mon-fri) or closed, found %s", t.describe())
			p.skipBalanced()
			continue
		}
		entries++
		p.next()
		if t.is("closed") {
			first, ok := p.arg(t, "dates, e.g. closed 2026-12-24, 2026-12-25..2026-12-26")
			if !ok {
				p.syncLine(t.line)
				continue
			}
			for _, d := range p.wordList(first) {
				ds, msg := parseDateSpan(d.text)
				if msg != "" {
					p.errorf(d, "%s", msg)
					continue
				}
				h.closed = append(h.closed, ds)
			}
			continue
		}
		var days []time.Weekday
		for _, d := range p.wordList(t) {
			ds, msg := parseDays(d.text)
			if msg != "" {
				p.errorf(d, "%s", msg)
			}
			days = append(days, ds...)
		}
		last := p.toks[p.pos-1]
		first := p.peek()
		if first.kind != tWord || first.line != last.line {
			p.errorf(last, "expected opening times after %s, e.g. 08:30-17:00", last.text)
			p.syncLine(last.line)
			continue
		}
		p.next()
		for _, s := range p.wordList(first) {
			sp, msg := parseSpan(s.text)
			if msg != "" {
				p.errorf(s, "%s", msg)
				continue
			}
			for _, d := range days {
				h.week[d] = append(h.week[d], sp)
			}
		}
	}
}

func (p *parser) parseContext() {
	kw := p.next()
	nameTok, ok := p.name(kw)
	c := &context{name: nameTok.text, line: nameTok.line, col: nameTok.col, exact: map[string]int32{}}
	if ok {
		if prev := p.plan.byName[c.name]; prev != nil {
			p.errorf(nameTok, "duplicate context %s (first on line %d)", c.name, prev.line)
		} else {
			p.plan.byName[c.name] = c
			p.plan.contexts = append(p.plan.contexts, c)
		}
	}
	if !ok && p.peek().kind != tLBrace && p.peek().line != kw.line {
		return
	}
	if !p.open(kw, "the context name") {
		p.syncLine(kw.line)
		return
	}
	openTok := p.toks[p.pos-1]
	for {
		t := p.peek()
		switch {
		case t.kind == tRBrace:
			p.next()
			return
		case t.kind == tEOF:
			p.errorf(openTok, "unclosed { of context %s", c.name)
			return
		case t.is("rule"):
			p.parseRule(c)
		case isTopKeyword(t) && t.col == 1:
			p.errorf(openTok, "unclosed { of context %s", c.name)
			return
		default:
			p.errorf(t, "expected rule or }, found %s", t.describe())
			p.syncLine(t.line)
		}
	}
}

func (p *parser) parseRule(c *context) {
	kw := p.next()
	r := rule{line: kw.line, col: kw.col}
	first, ok := p.arg(kw, "numbers or patterns, e.g. rule 112, 911 { or rule _9X. {")
	if ok {
		var texts []string
		for _, t := range p.wordList(first) {
			if m, ok := p.matcher(t); ok {
				r.matchers = append(r.matchers, m)
				texts = append(texts, t.text)
			}
		}
		r.text = strings.Join(texts, ", ")
	}
	if !p.open(kw, "the rule's numbers") {
		p.syncLine(kw.line)
		return
	}
	r.body = p.parseBlockBody(p.toks[p.pos-1])
	// A rule whose numbers are all bad is kept so that its body is still
	// validated; it matches nothing (and the plan is refused anyway).
	c.rules = append(c.rules, r)
}

// matcher reads an exact number or an _pattern.
func (p *parser) matcher(t token) (matcher, bool) {
	m := matcher{line: t.line, col: t.col}
	if t.kind != tWord {
		p.errorf(t, "expected a number or pattern, found %s", t.describe())
		return m, false
	}
	if strings.HasPrefix(t.text, "_") {
		pat, perr := compilePattern(t.text)
		if perr != nil {
			p.errs.add(t.line, t.col+len([]rune(t.text[:perr.off])), "%s", perr.msg)
			return m, false
		}
		m.pat = pat
		return m, true
	}
	if !isExact(t.text) {
		p.errorf(t, "bad number %s: use up to 32 digits, *, # or + (patterns start with _)", t.text)
		return m, false
	}
	m.exact = t.text
	return m, true
}

func isExact(s string) bool {
	if len(s) == 0 || len(s) > maxNumberLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charBit(s[i]) == 0 {
			return false
		}
	}
	return true
}

// parseBlockBody reads statements up to the '}' closing open.
// Statements collect on the parser's stack (nested blocks above their
// parent's) and each block gets one exactly sized copy.
func (p *parser) parseBlockBody(open token) []stmt {
	base := len(p.stack)
	done := func() []stmt {
		var body []stmt
		if n := len(p.stack) - base; n > 0 {
			body = make([]stmt, n)
			copy(body, p.stack[base:])
		}
		p.stack = p.stack[:base]
		return body
	}
	for {
		t := p.peek()
		switch {
		case t.kind == tRBrace:
			p.next()
			return done()
		case t.kind == tEOF:
			p.errorf(open, "unclosed {")
			return done()
		case t.is("rule") || (isTopKeyword(t) && t.col == 1):
			// A forgotten '}': let the context see the next rule.
			p.errorf(open, "unclosed { (found %s on line %d)", t.text, t.line)
			return done()
		}
		if s, ok := p.parseStmt(); ok {
			p.stack = append(p.stack, s)
		}
	}
}

// parseStmt reads one statement.
func (p *parser) parseStmt() (stmt, bool) {
	kw := p.next()
	s := stmt{line: kw.line, col: kw.col}
	if kw.kind != tWord {
		p.errorf(kw, "expected a statement, found %s", kw.describe())
		if kw.kind == tLBrace {
			p.pos--
			p.skipBalanced()
		}
		return s, false
	}
	ok := true
	switch kw.text {
	case "dial":
		s.op = opDial
		t, ok1 := p.arg(kw, "a destination, e.g. dial extension:101")
		if ok = ok1; ok {
			s.dest, ok = p.destination(t)
		}
		if ok && p.peek().is("ring") && p.peek().line == kw.line {
			rk := p.next()
			n, ok2 := p.arg(rk, "seconds, e.g. ring 30")
			if ok = ok2; ok {
				secs, err := strconv.Atoi(n.text)
				if err != nil || n.kind != tWord || secs < 1 || secs > 600 {
					p.errorf(n, "bad ring time %s: want seconds from 1 to 600", n.describe())
					ok = false
				}
				s.ring = time.Duration(secs) * time.Second
			}
		}
	case "goto":
		s.op = opGoto
		t, ok1 := p.arg(kw, "a context name")
		if ok = ok1; ok {
			s.jump = &jump{name: t.text, line: t.line, col: t.col}
		}
	case "hangup":
		s.op = opHangup
	case "strip":
		s.op = opStrip
		t, ok1 := p.arg(kw, "a count of digits, e.g. strip 1")
		if ok = ok1; ok {
			n, err := strconv.Atoi(t.text)
			switch {
			case t.kind != tWord || err != nil && !strings.HasPrefix(t.text, "-"):
				p.errorf(t, "strip needs a count of digits, found %s", t.describe())
				ok = false
			case n < 0 || strings.HasPrefix(t.text, "-"):
				p.errorf(t, "strip cannot remove a negative count (%s)", t.text)
				ok = false
			case n > maxNumberLen:
				p.errorf(t, "strip %d is more than the 32 digits a number may have", n)
				ok = false
			}
			s.n = n
		}
	case "prefix":
		s.op = opPrefix
		t, ok1 := p.arg(kw, `digits, e.g. prefix "0"`)
		if ok = ok1; ok {
			if !isExact(t.text) {
				p.errorf(t, "prefix needs digits, *, # or +, found %s", t.describe())
				ok = false
			}
			s.text = &template{lit: t.text}
		}
	case "callerid":
		t, ok1 := p.arg(kw, `number or name, e.g. callerid name "ACME ${caller_name}"`)
		if ok = ok1; ok {
			switch {
			case t.is("number"):
				s.op = opCallerNumber
			case t.is("name"):
				s.op = opCallerName
			default:
				p.errorf(t, "callerid sets number or name, found %s", t.describe())
				ok = false
			}
		}
		if ok {
			v, ok2 := p.arg(p.toks[p.pos-1], "a value in quotes")
			if ok = ok2; ok {
				var tm template
				tm, ok = parseTemplate(v, &p.errs)
				s.text = &tm
			}
		}
	case "require":
		s.op = opRequire
		t, ok1 := p.arg(kw, "an outbound class: internal, local, national or international")
		if ok = ok1; ok {
			rank, known := classRank(t.text)
			if !known || t.kind != tWord {
				p.errorf(t, "unknown outbound class %s (internal, local, national, international)", t.describe())
				ok = false
			}
			s.n = rank
		}
	case "if":
		return p.parseIf(kw)
	case "else":
		p.errorf(kw, "else without if")
		p.skipBody()
		return s, false
	default:
		p.errorf(kw, "unknown statement %s (dial, goto, hangup, strip, prefix, callerid, require, if)", kw.describe())
		p.syncLine(kw.line)
		return s, false
	}
	if !ok {
		p.syncLine(kw.line)
	}
	return s, ok
}

// skipBody skips a statement or block.
func (p *parser) skipBody() {
	if p.peek().kind == tLBrace {
		p.skipBalanced()
		return
	}
	p.syncLine(p.peek().line)
}

// parseIf reads "if [not] COND BODY [else BODY]", where BODY is a block
// or a single statement.
func (p *parser) parseIf(kw token) (stmt, bool) {
	s := stmt{op: opIf, line: kw.line, col: kw.col, cond: &cond{}}
	c := s.cond
	ok := true
	t, ok1 := p.arg(kw, "a condition: an hours name or caller NUMBERS")
	if !ok1 {
		p.skipBody()
		return s, false
	}
	if t.is("not") {
		c.not = true
		if t, ok1 = p.arg(t, "a condition: an hours name or caller NUMBERS"); !ok1 {
			p.skipBody()
			return s, false
		}
	}
	c.line, c.col = t.line, t.col
	if t.is("caller") {
		first, ok1 := p.arg(t, "numbers or patterns, e.g. if caller _1XX")
		if !ok1 {
			p.skipBody()
			return s, false
		}
		texts := []string{"caller"}
		for _, mt := range p.wordList(first) {
			m, ok2 := p.matcher(mt)
			ok = ok && ok2
			c.callers = append(c.callers, m)
			texts = append(texts, mt.text)
		}
		c.text = texts[0] + " " + strings.Join(texts[1:], ", ")
	} else {
		if t.kind != tWord || !isIdent(t.text) {
			p.errorf(t, "expected an hours name or caller, found %s", t.describe())
			ok = false
		}
		c.name, c.text = t.text, t.text
	}
	var ok2 bool
	c.then, ok2 = p.parseBody()
	ok = ok && ok2
	if p.peek().is("else") {
		p.next()
		c.els, ok2 = p.parseBody()
		ok = ok && ok2
	}
	return s, ok
}

// parseBody reads a block or a single statement (an if's branch).
func (p *parser) parseBody() ([]stmt, bool) {
	t := p.peek()
	if t.kind == tLBrace {
		p.next()
		return p.parseBlockBody(t), true
	}
	if t.kind != tWord || t.is("rule") || t.is("else") {
		p.errorf(t, "expected a statement or { after the condition, found %s", t.describe())
		return nil, false
	}
	s, ok := p.parseStmt()
	if !ok {
		return nil, false
	}
	return []stmt{s}, true
}

// destination checks a destination literal; variables stand for any
// valid value, so only the fixed parts are checked here.
func (p *parser) destination(t token) (*destLit, bool) {
	d := &destLit{raw: t.text, line: t.line, col: t.col}
	var ok bool
	d.tmpl, ok = parseTemplate(t, &p.errs)
	if !ok {
		return nil, false
	}
	if d.tmpl.has(varCallerName) {
		p.errorf(t, "${caller_name} cannot be part of a destination")
		return nil, false
	}
	filled := d.tmpl.lit
	var fields []string
	if d.tmpl.hasVars {
		fields = strings.SplitN(d.tmpl.fill("\x00"), ":", 3)
		if strings.Contains(fields[0], "\x00") {
			p.errorf(t, "the kind of destination %s cannot be a variable", t.text)
			return nil, false
		}
		filled = d.tmpl.fill("1")
	}
	parsed, err := ParseDestination(filled)
	if err != nil {
		msg := strings.Replace(err.Error(), strconv.Quote(filled), strconv.Quote(t.text), 1)
		p.errorf(t, "%s", msg)
		return nil, false
	}
	d.kind = parsed.Kind
	switch {
	case !d.tmpl.hasVars:
		d.fixed, d.isFixed, d.trunk = parsed, true, parsed.Trunk
	case d.kind == KindTrunk && !strings.Contains(fields[1], "\x00"):
		d.trunk = fields[1]
	}
	p.plan.dests = append(p.plan.dests, d)
	return d, true
}

// destLit is a destination as written, with its fixed parts.
type destLit struct {
	raw       string
	line, col int
	tmpl      template
	fixed     Destination // when isFixed
	isFixed   bool
	kind      string
	trunk     string // "" when not a trunk or the name is a variable
}
