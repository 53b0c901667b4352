package dialplan

import "strings"

// A pattern is Asterisk's extension pattern without the leading '_': one
// character class per position (X = 0-9, Z = 1-9, N = 2-9, [..] a set, or a
// literal digit, '*', '#' or '+'), optionally ended by '.' (one or more
// characters of any kind) or '!' (zero or more).
type pattern struct {
	text    string   // as written, with the leading '_'
	classes []uint16 // one bit per dial character, see charBit
	tail    byte     // 0, '.' or '!'
	lit     string   // the one number a fixed pattern of single characters matches
}

// maxNumberLen is the longest exact number a rule may name.
const maxNumberLen = 32

// charBit maps a dial character to its bit in a class: '0'-'9' are bits
// 0-9, '*' 10, '#' 11 and '+' 12. Other characters have no bit, so only
// a '.' or '!' tail matches them.
func charBit(c byte) uint16 {
	switch {
	case c >= '0' && c <= '9':
		return 1 << (c - '0')
	case c == '*':
		return 1 << 10
	case c == '#':
		return 1 << 11
	case c == '+':
		return 1 << 12
	}
	return 0
}

const (
	classX   uint16 = 0x3FF // 0-9
	classZ   uint16 = 0x3FE // 1-9
	classN   uint16 = 0x3FC // 2-9
	classAny uint16 = 0x1FFF
)

// patternError is a problem at a byte offset of the pattern text.
type patternError struct {
	off int
	msg string
}

// compilePattern compiles text, which starts with '_'.
func compilePattern(text string) (*pattern, *patternError) {
	p := &pattern{text: text}
	body := text[1:]
	if body == "" {
		return nil, &patternError{0, "empty pattern " + text + ": write _ and then X, Z, N, [set], digits, . or !"}
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		off := i + 1
		if p.tail != 0 {
			return nil, &patternError{off - 1, "pattern " + text + ": " + string(p.tail) + " must be the last character"}
		}
		switch c {
		case 'X', 'x':
			p.classes = append(p.classes, classX)
		case 'Z', 'z':
			p.classes = append(p.classes, classZ)
		case 'N', 'n':
			p.classes = append(p.classes, classN)
		case '.', '!':
			p.tail = c
		case '[':
			end := strings.IndexByte(body[i:], ']')
			if end < 0 {
				return nil, &patternError{off, "pattern " + text + ": [ without ]"}
			}
			set, perr := compileSet(text, body[i+1:i+end], off+1)
			if perr != nil {
				return nil, perr
			}
			p.classes = append(p.classes, set)
			i += end
		default:
			b := charBit(c)
			if b == 0 {
				return nil, &patternError{off, "pattern " + text + ": unexpected " + quoteChar(body[i:]) +
					" (use X, Z, N, [set], 0-9, *, #, +, . or !)"}
			}
			p.classes = append(p.classes, b)
		}
	}
	if len(p.classes) > maxNumberLen {
		return nil, &patternError{0, "pattern " + text + " is longer than 32 characters"}
	}
	if p.tail == 0 {
		var b strings.Builder
		for _, m := range p.classes {
			if m&(m-1) != 0 {
				return p, nil
			}
			b.WriteByte(bitChar(m))
		}
		p.lit = b.String()
	}
	return p, nil
}

// compileSet compiles the inside of a [..] set starting at byte offset off
// of the pattern text.
func compileSet(text, set string, off int) (uint16, *patternError) {
	if set == "" {
		return 0, &patternError{off - 1, "pattern " + text + ": empty set []"}
	}
	var m uint16
	for i := 0; i < len(set); i++ {
		b := charBit(set[i])
		if b == 0 {
			return 0, &patternError{off + i, "pattern " + text + ": unexpected " + quoteChar(set[i:]) +
				" in a set (use digits, ranges like 3-7, *, # or +)"}
		}
		if i+2 < len(set) && set[i+1] == '-' {
			lo, hi := set[i], set[i+2]
			if lo < '0' || lo > '9' || hi < '0' || hi > '9' || hi < lo {
				return 0, &patternError{off + i, "pattern " + text + ": bad range " + set[i:i+3] + " in a set"}
			}
			for d := lo; d <= hi; d++ {
				m |= charBit(d)
			}
			i += 2
			continue
		}
		m |= b
	}
	return m, nil
}

// quoteChar names the first character of s for an error message.
func quoteChar(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// bitChar is charBit's inverse for a single bit.
func bitChar(m uint16) byte {
	for c := byte('0'); c <= '9'; c++ {
		if charBit(c) == m {
			return c
		}
	}
	switch m {
	case 1 << 10:
		return '*'
	case 1 << 11:
		return '#'
	}
	return '+'
}

// match reports whether s matches p. The length test comes first, so most
// patterns reject a number without looking at its characters.
func (p *pattern) match(s string) bool {
	n := len(p.classes)
	switch p.tail {
	case 0:
		if len(s) != n {
			return false
		}
	case '.':
		if len(s) <= n {
			return false
		}
	default:
		if len(s) < n {
			return false
		}
	}
	for i, m := range p.classes {
		if charBit(s[i])&m == 0 {
			return false
		}
	}
	return true
}

// minLen and maxLen bound the lengths of the numbers p matches; maxLen is
// -1 when unbounded.
func (p *pattern) minLen() int {
	if p.tail == '.' {
		return len(p.classes) + 1
	}
	return len(p.classes)
}

func (p *pattern) maxLen() int {
	if p.tail != 0 {
		return -1
	}
	return len(p.classes)
}

// classAt is the class of position i, "any character" in the tail.
func (p *pattern) classAt(i int) uint16 {
	if i < len(p.classes) {
		return p.classes[i]
	}
	return classAny
}

// within reports whether every number p matches is matched by q too.
// Numbers of one length form a product of per-position classes in both
// patterns, so inclusion is a length test plus a class test per position.
// (A '.' or '!' tail also matches characters outside the dial alphabet,
// which a class never does; that only makes within answer false more.)
func (p *pattern) within(q *pattern) bool {
	pMin, pMax, qMin, qMax := p.minLen(), p.maxLen(), q.minLen(), q.maxLen()
	if pMin < qMin {
		return false
	}
	if qMax >= 0 && (pMax < 0 || pMax > qMax) {
		return false
	}
	if pMax >= 0 && p.tail == 0 && q.tail == 0 && pMax != qMax {
		return false
	}
	if p.tail != 0 && q.tail == 0 {
		return false
	}
	if p.tail != 0 && len(q.classes) > len(p.classes) {
		// q constrains positions where p allows any character.
		return false
	}
	n := len(p.classes)
	if len(q.classes) > n {
		n = len(q.classes)
	}
	for i := 0; i < n; i++ {
		if pMax >= 0 && i >= pMax {
			break
		}
		pc := p.classAt(i)
		if pc&^q.classAt(i) != 0 {
			return false
		}
	}
	return true
}
