package dialplan

import (
	"strings"
	"unicode/utf8"
)

// Variables usable in strings and destination literals.
type varID uint8

const (
	varNone varID = iota
	varNumber
	varDialed
	varCaller
	varCallerName
	varTrunk
)

func lookupVar(name string) varID {
	switch name {
	case "number":
		return varNumber
	case "dialed":
		return varDialed
	case "caller":
		return varCaller
	case "caller_name":
		return varCallerName
	case "trunk":
		return varTrunk
	}
	return varNone
}

const varList = "${number}, ${dialed}, ${caller}, ${caller_name}, ${trunk}"

// segment is literal text or one variable.
type segment struct {
	lit string
	v   varID
}

// template is text with ${variables}, split at parse time so that expanding
// it is one concatenation.
type template struct {
	segs    []segment
	lit     string // the whole text when there are no variables
	hasVars bool
}

// env is what variables expand to during routing.
type env struct {
	number, dialed, caller, callerName, trunk string
}

func (e *env) get(v varID) string {
	switch v {
	case varNumber:
		return e.number
	case varDialed:
		return e.dialed
	case varCaller:
		return e.caller
	case varCallerName:
		return e.callerName
	case varTrunk:
		return e.trunk
	}
	return ""
}

func (t *template) expand(e *env) string {
	if !t.hasVars {
		return t.lit
	}
	if len(t.segs) == 1 {
		return e.get(t.segs[0].v)
	}
	n := 0
	for _, s := range t.segs {
		n += len(s.lit) + len(e.get(s.v))
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range t.segs {
		if s.v != varNone {
			b.WriteString(e.get(s.v))
		} else {
			b.WriteString(s.lit)
		}
	}
	return b.String()
}

// fill expands every variable to ph, for checking the fixed parts of a
// destination at parse time.
func (t *template) fill(ph string) string {
	if !t.hasVars {
		return t.lit
	}
	var b strings.Builder
	for _, s := range t.segs {
		if s.v != varNone {
			b.WriteString(ph)
		} else {
			b.WriteString(s.lit)
		}
	}
	return b.String()
}

// parseTemplate splits a word or string token into a template. In strings a
// backslash takes the next character literally (\" \\ \$). Errors go to
// errs at the exact column.
func parseTemplate(tok token, errs *ErrorList) (template, bool) {
	var t template
	s := tok.text
	col := tok.col
	if tok.kind == tString {
		col++ // the opening quote
	}
	// Literal text is a substring of s unless it has escapes; only then
	// is it copied into esc.
	var esc []byte
	hasEsc, start := false, 0
	lit := func(end int) string {
		if hasEsc {
			out := string(append(esc, s[start:end]...))
			esc, hasEsc = esc[:0], false
			return out
		}
		return s[start:end]
	}
	ok := true
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && tok.kind == tString && i+1 < len(s):
			esc = append(append(esc, s[start:i]...), s[i+1])
			hasEsc = true
			i += 2
			start = i
			col += 2
			continue
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				errs.add(tok.line, col, "unterminated ${: write ${number} and the like")
				return t, false
			}
			name := s[i+2 : i+end]
			v := lookupVar(name)
			if v == varNone {
				errs.add(tok.line, col, "unknown variable ${%s} (known: %s)", name, varList)
				ok = false
			}
			if l := lit(i); l != "" {
				t.segs = append(t.segs, segment{lit: l})
			}
			t.segs = append(t.segs, segment{v: v})
			t.hasVars = true
			col += utf8.RuneCountInString(s[i : i+end+1])
			i += end + 1
			start = i
			continue
		}
		if c&0xC0 != 0x80 {
			col++
		}
		i++
	}
	l := lit(len(s))
	if !t.hasVars {
		t.lit = l
		return t, ok
	}
	if l != "" {
		t.segs = append(t.segs, segment{lit: l})
	}
	return t, ok
}

// has reports whether t uses variable v.
func (t *template) has(v varID) bool {
	for _, s := range t.segs {
		if s.v == v {
			return true
		}
	}
	return false
}
