package dialplan

import (
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // tests must not depend on the machine's zoneinfo
)

const routePlan = `# comment to end of line
timezone "Europe/Berlin"

hours office {
    mon-fri 08:30-12:00, 13:00-17:00
    sat 09:00-12:00
    closed 2026-12-24, 2026-12-28..2026-12-31
}

hours night {
    fri-mon 00:00-06:00
}

context internal {
    rule 112, 911 {
        dial trunk:pstn:${number}
    }
    rule _9NXX. {
        require national
        strip 1
        prefix "0"
        callerid number "4930123456"
        callerid name "ACME ${caller_name}"
        dial trunk:pstn:${number} ring 60
    }
    rule _00X. {
        require international
        dial trunk:pstn:${number}
    }
    rule 700 {
        if office { dial ivr:500 } else { dial voicemail:101 }
    }
    rule 701 {
        if not office dial voicemail:101
        if caller _1XX, 555 dial extension:102
        dial ringgroup:600 ring 20
        dial voicemail:101
    }
    rule 702 {
        dial extension:101
        hangup
    }
    rule 703 { hangup }
    rule 704 {
        if caller 1 dial extension:101
    }
    rule 705 {
        strip 10
        dial extension:${number}
        dial extension:${dialed}0
    }
    rule 706 {
        if night { dial extension:101 } else { dial hangup }
    }
    rule _8[1-3]XX, _*#! {
        dial number:${dialed}
        goto other
    }
    rule _[*#]X! { dial trunk:${trunk}:${caller} }
}

context other {
    rule _8. { strip 1 goto last }
}

context from-pstn {
    rule 4930123456 {
        if office dial ivr:500
        dial voicemail:101
    }
    rule _X. { goto internal }
}

context last {
    rule 123 { dial extension:123 }
}
`

// berlin returns a time in Europe/Berlin.
func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func attempts(r Route) string {
	var s []string
	for _, a := range r.Attempts {
		x := a.Dest.String()
		if a.Ring > 0 {
			x += "/" + a.Ring.String()
		}
		s = append(s, x)
	}
	return strings.Join(s, " ")
}

func TestRoute(t *testing.T) {
	p, errs := Parse(routePlan)
	if errs != nil {
		t.Fatal(errs)
	}
	tue := berlin(t, "2026-12-01 10:00") // a Tuesday, open
	tests := []struct {
		name     string
		call     Call
		outcome  Outcome
		attempts string
		reason   string
		context  string
		number   string
		caller   string // CallerNumber/CallerName after routing
	}{
		{"emergency from internal class", Call{Number: "911", Time: tue}, OutcomeRoute, "trunk:pstn:911", "", "internal", "911", "/"},
		{"emergency 112", Call{Number: "112", Class: "internal"}, OutcomeRoute, "trunk:pstn:112", "", "internal", "112", "/"},
		{"9 + number national", Call{Number: "95551234", Class: "national", CallerNumber: "101", CallerName: "Bob"},
			OutcomeRoute, "trunk:pstn:05551234/1m0s", "", "internal", "05551234", "4930123456/ACME Bob"},
		{"9 + number international class", Call{Number: "95551234", Class: "international"},
			OutcomeRoute, "trunk:pstn:05551234/1m0s", "", "internal", "05551234", "4930123456/ACME "},
		{"9 + number refused", Call{Number: "95551234", Class: "local", CallerNumber: "101"},
			OutcomeRefused, "", "outbound class local may not dial national", "internal", "95551234", "101/"},
		{"unknown class is internal", Call{Number: "95551234", Class: "galactic"},
			OutcomeRefused, "", "outbound class internal may not dial national", "internal", "95551234", "/"},
		{"international refused", Call{Number: "0044207", Class: "national"},
			OutcomeRefused, "", "outbound class national may not dial international", "internal", "0044207", "/"},
		{"international allowed", Call{Number: "0044207", Class: "international"},
			OutcomeRoute, "trunk:pstn:0044207", "", "internal", "0044207", "/"},
		{"no match", Call{Number: "5551234"}, OutcomeNoMatch, "", "no rule in context internal matches 5551234", "internal", "5551234", "/"},
		{"empty number", Call{Number: ""}, OutcomeNoMatch, "", `no rule in context internal matches ""`, "internal", "", "/"},
		{"office open", Call{Number: "700", Time: tue}, OutcomeRoute, "ivr:500", "", "internal", "700", "/"},
		{"lunch break", Call{Number: "700", Time: berlin(t, "2026-12-01 12:30")}, OutcomeRoute, "voicemail:101", "", "internal", "700", "/"},
		{"closing minute", Call{Number: "700", Time: berlin(t, "2026-12-01 17:00")}, OutcomeRoute, "voicemail:101", "", "internal", "700", "/"},
		{"opening minute", Call{Number: "700", Time: berlin(t, "2026-12-01 08:30")}, OutcomeRoute, "ivr:500", "", "internal", "700", "/"},
		{"saturday morning", Call{Number: "700", Time: berlin(t, "2026-12-05 10:00")}, OutcomeRoute, "ivr:500", "", "internal", "700", "/"},
		{"sunday", Call{Number: "700", Time: berlin(t, "2026-12-06 10:00")}, OutcomeRoute, "voicemail:101", "", "internal", "700", "/"},
		{"holiday", Call{Number: "700", Time: berlin(t, "2026-12-24 10:00")}, OutcomeRoute, "voicemail:101", "", "internal", "700", "/"},
		{"holiday range", Call{Number: "700", Time: berlin(t, "2026-12-30 10:00")}, OutcomeRoute, "voicemail:101", "", "internal", "700", "/"},
		{"after holiday range", Call{Number: "700", Time: berlin(t, "2027-01-04 10:00")}, OutcomeRoute, "ivr:500", "", "internal", "700", "/"},
		{"time zone applies", Call{Number: "700", Time: time.Date(2026, 12, 1, 7, 45, 0, 0, time.UTC)}, OutcomeRoute, "ivr:500", "", "internal", "700", "/"},
		{"fallbacks", Call{Number: "701", Time: tue, CallerNumber: "200"}, OutcomeRoute, "ringgroup:600/20s voicemail:101", "", "internal", "701", "200/"},
		{"caller pattern", Call{Number: "701", Time: tue, CallerNumber: "101"}, OutcomeRoute, "extension:102 ringgroup:600/20s voicemail:101", "", "internal", "701", "101/"},
		{"caller exact", Call{Number: "701", Time: tue, CallerNumber: "555"}, OutcomeRoute, "extension:102 ringgroup:600/20s voicemail:101", "", "internal", "701", "555/"},
		{"not office", Call{Number: "701", Time: berlin(t, "2026-12-01 20:00"), CallerNumber: "101"}, OutcomeRoute, "voicemail:101", "", "internal", "701", "101/"},
		{"hangup after attempts", Call{Number: "702"}, OutcomeRoute, "extension:101 hangup", "", "internal", "702", "/"},
		{"hangup", Call{Number: "703"}, OutcomeHangup, "", "", "internal", "703", "/"},
		{"no destination", Call{Number: "704", CallerNumber: "2"}, OutcomeNoMatch, "", "rule 704 (line 44) in context internal gave no destination for 704", "internal", "704", "2/"},
		{"bad runtime destination skipped", Call{Number: "705"}, OutcomeRoute, "extension:7050", "", "internal", "", "/"},
		{"night wraps the week", Call{Number: "706", Time: berlin(t, "2026-12-07 05:00")}, OutcomeRoute, "extension:101", "", "internal", "706", "/"},
		{"dial hangup", Call{Number: "706", Time: berlin(t, "2026-12-08 05:00")}, OutcomeHangup, "", "", "internal", "706", "/"},
		{"goto chain", Call{Number: "8123"}, OutcomeRoute, "number:8123 extension:123", "", "last", "123", "/"},
		{"set in pattern", Call{Number: "8423"}, OutcomeNoMatch, "", "no rule in context internal matches 8423", "internal", "8423", "/"},
		{"bang pattern", Call{Number: "*#"}, OutcomeNoMatch, "", "no rule in context other matches *#", "other", "*#", "/"},
		{"variables in trunk", Call{Number: "*1", Trunk: "sip2", CallerNumber: "42"}, OutcomeRoute, "trunk:sip2:42", "", "internal", "*1", "42/"},
		{"variable gives bad trunk", Call{Number: "*1", CallerNumber: "42"}, OutcomeNoMatch, "", "rule _[*#]X! (line 59) in context internal gave no destination for *1", "internal", "*1", "42/"},
		{"inbound open", Call{Context: "from-pstn", Number: "4930123456", Time: tue}, OutcomeRoute, "ivr:500", "", "from-pstn", "4930123456", "/"},
		{"inbound closed", Call{Context: "from-pstn", Number: "4930123456", Time: berlin(t, "2026-12-05 22:00")}, OutcomeRoute, "voicemail:101", "", "from-pstn", "4930123456", "/"},
		{"inbound goto", Call{Context: "from-pstn", Number: "112"}, OutcomeRoute, "trunk:pstn:112", "", "internal", "112", "/"},
		{"unknown context", Call{Context: "nowhere", Number: "1"}, OutcomeNoMatch, "", "no context nowhere", "nowhere", "1", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Route(tt.call)
			if r.Outcome != tt.outcome || attempts(r) != tt.attempts || r.Reason != tt.reason ||
				r.Context != tt.context || r.Number != tt.number || r.CallerNumber+"/"+r.CallerName != tt.caller {
				t.Errorf("Route(%+v) =\n%v %q attempts %q context %s number %q caller %s/%s\nwant\n%v %q attempts %q context %s number %q caller %s",
					tt.call, r.Outcome, r.Reason, attempts(r), r.Context, r.Number, r.CallerNumber, r.CallerName,
					tt.outcome, tt.reason, tt.attempts, tt.context, tt.number, tt.caller)
				for _, s := range r.Steps {
					t.Logf("%d %s: %s", s.Line, s.Context, s.Text)
				}
			}
			if len(r.Steps) == 0 {
				t.Error("no trace")
			}
		})
	}
}

func TestRouteTrace(t *testing.T) {
	p, errs := Parse(routePlan)
	if errs != nil {
		t.Fatal(errs)
	}
	tests := []struct {
		call Call
		want []string // "LINE CONTEXT: TEXT"
	}{
		{Call{Number: "95551234", Class: "national", CallerName: "Bob"}, []string{
			"18 internal: context internal: rule _9NXX. matches 95551234",
			"19 internal: require national: class national allowed",
			"20 internal: strip 1: 5551234",
			"21 internal: prefix 0: 05551234",
			"22 internal: callerid number: 4930123456",
			"23 internal: callerid name: ACME Bob",
			"24 internal: dial trunk:pstn:05551234 ring 60s",
		}},
		{Call{Number: "95551234"}, []string{
			"18 internal: context internal: rule _9NXX. matches 95551234",
			"19 internal: require national: refused, outbound class internal may not dial national",
		}},
		{Call{Context: "from-pstn", Number: "4930123456", Time: berlin(t, "2026-12-05 22:00")}, []string{
			"67 from-pstn: context from-pstn: rule 4930123456 matches 4930123456",
			"68 from-pstn: if office: false (Sat 2026-12-05 22:00 Europe/Berlin)",
			"69 from-pstn: dial voicemail:101",
		}},
		{Call{Number: "701", CallerNumber: "101", Time: berlin(t, "2026-12-01 10:00")}, []string{
			"33 internal: context internal: rule 701 matches 701",
			"34 internal: if not office: false (Tue 2026-12-01 10:00 Europe/Berlin)",
			"35 internal: if caller _1XX, 555: true (101)",
			"35 internal: dial extension:102",
			"36 internal: dial ringgroup:600 ring 20s",
			"37 internal: dial voicemail:101",
		}},
		{Call{Number: "8123"}, []string{
			"55 internal: context internal: rule _8[1-3]XX, _*#! matches 8123",
			"56 internal: dial number:8123",
			"57 internal: goto other",
			"63 other: context other: rule _8. matches 8123",
			"63 other: strip 1: 123",
			"63 other: goto last",
			"75 last: context last: rule 123 matches 123",
			"75 last: dial extension:123",
		}},
		{Call{Number: "705"}, []string{
			"47 internal: context internal: rule 705 matches 705",
			`48 internal: strip 10: ""`,
			`49 internal: dial extension:${number}: skipped, invalid destination "extension:": extension needs a number of digits`,
			"50 internal: dial extension:7050",
		}},
		{Call{Number: "703"}, []string{
			"43 internal: context internal: rule 703 matches 703",
			"43 internal: hangup",
		}},
		{Call{Number: "555"}, []string{
			"14 internal: context internal: no rule matches 555",
		}},
	}
	for _, tt := range tests {
		r := p.Route(tt.call)
		var got []string
		for _, s := range r.Steps {
			got = append(got, strconv.Itoa(s.Line)+" "+s.Context+": "+s.Text)
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("Route(%+v) trace:\n%s\nwant:\n%s", tt.call, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

func TestRouteNilPlan(t *testing.T) {
	var p *Plan
	if r := p.Route(Call{Number: "1"}); r.Outcome != OutcomeNoMatch || r.Reason != "no dial plan" {
		t.Errorf("nil plan: %+v", r)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{OutcomeRoute: "route", OutcomeNoMatch: "no match", OutcomeRefused: "refused", OutcomeHangup: "hangup", 9: "outcome(9)"} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(o), o.String(), want)
		}
	}
}

// TestRouteConcurrent routes on one plan from several goroutines; with
// -race it checks that routing never writes to the plan.
func TestRouteConcurrent(t *testing.T) {
	p, errs := Parse(routePlan)
	if errs != nil {
		t.Fatal(errs)
	}
	at := berlin(t, "2026-12-01 10:00")
	done := make(chan string)
	for g := 0; g < 4; g++ {
		go func() {
			var got string
			for i := 0; i < 200; i++ {
				r := p.Route(Call{Context: "from-pstn", Number: "4930123456", Time: at})
				got = attempts(r)
				p.References()
				p.Check(office)
			}
			done <- got
		}()
	}
	for g := 0; g < 4; g++ {
		if got := <-done; got != "ivr:500" {
			t.Errorf("goroutine routed to %q", got)
		}
	}
}

func TestStringEscapesAndVariables(t *testing.T) {
	p, errs := Parse(stmts(`callerid name "a \"b\" \\ \${x} ${caller_name}/${caller}/${trunk}/${dialed}/${number}"
callerid number "${caller}0"
dial extension:1`))
	if errs != nil {
		t.Fatal(errs)
	}
	r := p.Route(Call{Number: "1", CallerName: "Zoë", CallerNumber: "42", Trunk: "pstn"})
	if want := `a "b" \ ${x} Zoë/42/pstn/1/1`; r.CallerName != want {
		t.Errorf("CallerName = %q, want %q", r.CallerName, want)
	}
	if r.CallerNumber != "420" {
		t.Errorf("CallerNumber = %q", r.CallerNumber)
	}
}

// TestRouteGotoDepth: loops are refused by Parse, but a long chain of
// contexts is valid and routing stops after maxGotos of them.
func TestRouteGotoDepth(t *testing.T) {
	var b strings.Builder
	b.WriteString("context internal { rule _X. { goto c1 } }\n")
	for i := 1; i <= 40; i++ {
		b.WriteString("context c" + strconv.Itoa(i) + " { rule _X. { goto c" + strconv.Itoa(i+1) + " } }\n")
	}
	b.WriteString("context c41 { rule _X. { dial extension:101 } }\n")
	p, errs := Parse(b.String())
	if errs != nil {
		t.Fatal(errs)
	}
	r := p.Route(Call{Number: "12"})
	if r.Outcome != OutcomeNoMatch || r.Reason != "more than 32 gotos" {
		t.Errorf("Route = %v %q", r.Outcome, r.Reason)
	}
	short := strings.Replace(b.String(), "goto c11 ", "goto c41 ", 1)
	if p, errs = Parse(short); errs != nil {
		t.Fatal(errs)
	}
	if r := p.Route(Call{Number: "12"}); attempts(r) != "extension:101" || r.Context != "c41" {
		t.Errorf("short chain: %v %q in %s", r.Outcome, attempts(r), r.Context)
	}
}
