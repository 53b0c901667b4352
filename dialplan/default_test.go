package dialplan

import (
	"strings"
	"testing"
)

func TestDefaultParses(t *testing.T) {
	p, errs := Parse(Default)
	if errs != nil {
		t.Fatalf("Default: %v", errs)
	}
	if got := p.Contexts(); len(got) != 1 || got[0] != "internal" {
		t.Errorf("Contexts() = %v, want [internal]", got)
	}
	if r := p.Route(Call{Number: "5551234"}); r.Outcome != OutcomeNoMatch {
		t.Errorf("Default routes 5551234: %v", r.Outcome)
	}
}

// TestDefaultExamples uncomments the commented examples of Default (the
// lines whose comment text is code, i.e. indented by "# " plus a keyword
// or deeper) and checks the result is a valid plan too.
func TestDefaultExamples(t *testing.T) {
	var out []string
	for _, line := range strings.Split(Default, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := line[:len(line)-len(trimmed)]
		if rest, ok := strings.CutPrefix(trimmed, "# "); ok && looksLikeCode(rest) {
			line = indent + rest
		}
		out = append(out, line)
	}
	src := strings.Join(out, "\n")
	p, errs := Parse(src)
	if errs != nil {
		t.Fatalf("uncommented Default:\n%s\nerrors: %v", src, errs)
	}
	if !p.HasContext("from-pstn") || p.TimeZone() != "Europe/Berlin" {
		t.Fatalf("examples not uncommented:\n%s", src)
	}
	if r := p.Route(Call{Number: "95551234", Class: "national"}); r.Outcome != OutcomeRoute || r.Attempts[0].Dest.String() != "trunk:pstn:5551234" {
		t.Errorf("9 + number: %+v", r)
	}
}

func looksLikeCode(s string) bool {
	for _, kw := range []string{"timezone ", "hours ", "context ", "rule ", "}", "    "} {
		if strings.HasPrefix(s, kw) {
			return true
		}
	}
	return false
}
