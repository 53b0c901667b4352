package dialplan

import (
	"strings"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	f.Add(routePlan, "95551234", "101")
	f.Add(checkPlan, "2", "")
	f.Add(Default, "5551234", "")
	f.Add(stmts(`callerid name "x ${caller"`), "1", "1")
	f.Add("context internal { rule _X. { if caller _1XX { hangup } else dial extension:${number} } }", "123", "100")
	f.Add("hours h { mon-fri 08:00-17:00 closed 2026-01-01..2026-01-02 }\ncontext internal { rule 1 { if not h goto a } }\ncontext a { rule _! { dial voicemail:1 } }", "1", "")
	f.Fuzz(func(t *testing.T, src, number, caller string) {
		p, errs := Parse(src)
		lines := strings.Count(src, "\n") + 1
		for i, e := range errs {
			if e.Line < 1 || e.Col < 1 || e.Line > lines || e.Message == "" {
				t.Fatalf("bad error position or message %+v (source has %d lines)", e, lines)
			}
			if i > 0 && (errs[i-1].Line > e.Line || errs[i-1].Line == e.Line && errs[i-1].Col > e.Col) {
				t.Fatalf("errors not sorted: %v", errs)
			}
		}
		if (p == nil) == (errs == nil) {
			t.Fatalf("Parse gave plan %v and errors %v", p != nil, errs)
		}
		if p == nil {
			return
		}
		at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		for _, ctx := range p.Contexts() {
			for _, class := range []string{"", "international"} {
				r := p.Route(Call{Context: ctx, Number: number, CallerNumber: caller, Class: class, Time: at, Trunk: "t"})
				if len(r.Steps) == 0 {
					t.Fatalf("no trace routing %q in %s", number, ctx)
				}
				if (r.Outcome == OutcomeRoute) != (len(r.Attempts) > 0) {
					t.Fatalf("outcome %v with %d attempts", r.Outcome, len(r.Attempts))
				}
				if (r.Outcome == OutcomeNoMatch || r.Outcome == OutcomeRefused) != (r.Reason != "") {
					t.Fatalf("outcome %v with reason %q", r.Outcome, r.Reason)
				}
				for _, a := range r.Attempts {
					if _, err := ParseDestination(a.Dest.String()); err != nil {
						t.Fatalf("attempt %v: %v", a.Dest, err)
					}
				}
			}
		}
		p.Check(office)
	})
}
