package dialplan

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// bigPlan generates a plan of n rules in context internal: three of four
// are exact numbers, every fourth is a pattern; the rules use hours,
// caller conditions, number manipulation and variables.
func bigPlan(n int) string {
	var b strings.Builder
	b.WriteString("timezone \"Europe/Berlin\"\nhours office {\n    mon-fri 08:30-17:00\n    closed 2026-12-24..2026-12-26\n}\n")
	b.WriteString("context internal {\n")
	for i := 0; i < n; i++ {
		if i%4 == 3 {
			fmt.Fprintf(&b, "    rule _7%03dNXX. {\n        require national\n        strip 4\n        prefix \"0\"\n        dial trunk:pstn:${number} ring 30\n    }\n", i)
			continue
		}
		fmt.Fprintf(&b, "    rule 5%06d {\n        if caller _1XX dial extension:%d\n        if office { dial ringgroup:600 ring 20 }\n        callerid name \"ACME ${caller_name}\"\n        dial voicemail:%d\n    }\n", i, 100+i, 100+i)
	}
	b.WriteString("}\n")
	return b.String()
}

func TestBigPlan(t *testing.T) {
	p, errs := Parse(bigPlan(1000))
	if errs != nil {
		t.Fatal(errs)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if r := p.Route(Call{Number: "5000998", CallerNumber: "200", Time: at}); attempts(r) != "ringgroup:600/20s voicemail:1098" {
		t.Errorf("exact near the end: %v", attempts(r))
	}
	if r := p.Route(Call{Number: "79995551234", Class: "national", Time: at}); attempts(r) != "trunk:pstn:05551234/30s" {
		t.Errorf("pattern at the end: %v %v", r.Outcome, attempts(r))
	}
	if r := p.Route(Call{Number: "6000000", Time: at}); r.Outcome != OutcomeNoMatch {
		t.Errorf("miss: %v", r.Outcome)
	}
}

func BenchmarkParse1000Rules(b *testing.B) {
	src := bigPlan(1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, errs := Parse(src); errs != nil {
			b.Fatal(errs)
		}
	}
}

func BenchmarkRoute1000Rules(b *testing.B) {
	p, errs := Parse(bigPlan(1000))
	if errs != nil {
		b.Fatal(errs)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name string
		call Call
	}{
		{"exact-near-end", Call{Number: "5000998", CallerNumber: "200", CallerName: "Bob", Time: at}},
		{"pattern-at-end", Call{Number: "79995551234", Class: "national", Time: at}},
		{"miss", Call{Number: "6000000", Time: at}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Route(bc.call)
			}
		})
	}
}
