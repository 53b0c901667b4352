package dialplan

// lookup returns the index of the first rule of c matching number, or -1.
// An exact number is one map lookup; patterns are tried in rule order among
// those whose length range admits the number, and only up to the rule the
// exact match names.
func (c *context) lookup(number string) int {
	best := -1
	if i, ok := c.exact[number]; ok {
		best = int(i)
	}
	if len(number) <= maxNumberLen {
		for _, pi := range c.byLen[len(number)] {
			cp := &c.pats[pi]
			if best >= 0 && int(cp.rule) >= best {
				break
			}
			if cp.pat.match(number) {
				return int(cp.rule)
			}
		}
		return best
	}
	for i := range c.pats {
		cp := &c.pats[i]
		if best >= 0 && int(cp.rule) >= best {
			break
		}
		if cp.pat.match(number) {
			return int(cp.rule)
		}
	}
	return best
}

// matchAny reports whether number matches one of ms (a caller condition).
func matchAny(ms []matcher, number string) bool {
	for i := range ms {
		m := &ms[i]
		if m.pat != nil {
			if m.pat.match(number) {
				return true
			}
		} else if m.exact == number {
			return true
		}
	}
	return false
}
