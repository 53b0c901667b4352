package dialplan

import (
	"strings"
	"testing"
)

// stmts wraps statements (starting on line 3, column 1) in a valid plan.
func stmts(body string) string {
	return "context internal {\nrule 1 {\n" + body + "\n}\n}\n"
}

// rules wraps rules (starting on line 2, column 1) in context internal.
func rules(body string) string {
	return "context internal {\n" + body + "\n}\n"
}

const internal = "\ncontext internal { }\n"

// TestParseErrors covers every error message Parse can give, with its
// exact position.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// Lexer and templates.
		{"unterminated string", stmts(`callerid name "ACME`),
			[]string{`3:15: unterminated string: the closing " is missing on this line`}},
		{"unterminated var", stmts(`callerid name "x ${caller"`),
			[]string{`3:18: unterminated ${: write ${number} and the like`}},
		{"unknown var", stmts(`callerid name "é ${foo}"`),
			[]string{`3:18: unknown variable ${foo} (known: ${number}, ${dialed}, ${caller}, ${caller_name}, ${trunk})`}},
		{"unknown var after escape", stmts(`callerid name "\"${foo}"`),
			[]string{`3:18: unknown variable ${foo} (known: ${number}, ${dialed}, ${caller}, ${caller_name}, ${trunk})`}},
		{"unknown var in destination", stmts(`dial trunk:pstn:${nmber}`),
			[]string{`3:17: unknown variable ${nmber} (known: ${number}, ${dialed}, ${caller}, ${caller_name}, ${trunk})`}},

		// Patterns and numbers.
		{"empty pattern", rules(`rule _ { hangup }`),
			[]string{`2:6: empty pattern _: write _ and then X, Z, N, [set], digits, . or !`}},
		{"tail not last", rules(`rule _9.X { hangup }`),
			[]string{`2:8: pattern _9.X: . must be the last character`}},
		{"bang not last", rules(`rule _!1 { hangup }`),
			[]string{`2:7: pattern _!1: ! must be the last character`}},
		{"unclosed set", rules(`rule _9[12 { hangup }`),
			[]string{`2:8: pattern _9[12: [ without ]`}},
		{"bad char", rules(`rule _9Q { hangup }`),
			[]string{`2:8: pattern _9Q: unexpected Q (use X, Z, N, [set], 0-9, *, #, +, . or !)`}},
		{"long pattern", rules(`rule _` + strings.Repeat("X", 33) + ` { hangup }`),
			[]string{`2:6: pattern _` + strings.Repeat("X", 33) + ` is longer than 32 characters`}},
		{"empty set", rules(`rule _9[] { hangup }`),
			[]string{`2:8: pattern _9[]: empty set []`}},
		{"bad char in set", rules(`rule _[1a] { hangup }`),
			[]string{`2:9: pattern _[1a]: unexpected a in a set (use digits, ranges like 3-7, *, # or +)`}},
		{"bad range", rules(`rule _[17-3] { hangup }`),
			[]string{`2:9: pattern _[17-3]: bad range 7-3 in a set`}},
		{"bad number", rules(`rule 12a { hangup }`),
			[]string{`2:6: bad number 12a: use up to 32 digits, *, # or + (patterns start with _)`}},
		{"quoted number", rules(`rule "12" { hangup }`),
			[]string{`2:6: expected a number or pattern, found "12"`}},
		{"caller pattern", stmts(`if caller _1Y hangup`),
			[]string{`3:13: pattern _1Y: unexpected Y (use X, Z, N, [set], 0-9, *, #, +, . or !)`}},

		// Top level.
		{"stray top level", "rule 1 { hangup }\n" + internal,
			[]string{`1:1: expected timezone, hours or context, found rule`}},
		{"timezone missing", "timezone\n" + internal,
			[]string{`1:1: timezone needs a time zone name, e.g. timezone "Europe/Berlin"`}},
		{"timezone unknown", `timezone "Mars/Olympus"` + internal,
			[]string{`1:10: unknown time zone "Mars/Olympus": use an IANA name such as "Europe/Berlin" or "UTC"`}},
		{"timezone local", `timezone Local` + internal,
			[]string{`1:10: unknown time zone "Local": use an IANA name such as "Europe/Berlin" or "UTC"`}},
		{"timezone twice", "timezone UTC\ntimezone \"Europe/Berlin\"" + internal,
			[]string{`2:1: duplicate timezone (first on line 1)`}},
		{"context without name", "context\n" + internal,
			[]string{`1:1: context needs a name`}},
		{"bad context name", "context 9x { }" + internal,
			[]string{`1:9: bad context name 9x: use a letter, then letters, digits, -, _ or .`}},
		{"context without brace", "context other\n" + internal,
			[]string{`3:1: expected { after the context name, found context`}},
		{"duplicate context", "context internal { }\ncontext internal { }\n",
			[]string{`2:9: duplicate context internal (first on line 1)`}},
		{"unclosed context", "context internal {\nrule 1 { hangup }\n",
			[]string{`1:18: unclosed { of context internal`}},
		{"unclosed context before next", "context other {\nrule 1 { hangup }\ncontext internal { }\n",
			[]string{`1:15: unclosed { of context other`}},
		{"junk in context", rules(`dial extension:101`),
			[]string{`2:1: expected rule or }, found dial`}},
		{"missing internal", "context other { }\n",
			[]string{`1:1: missing context internal: calls from extensions start there (an empty context internal { } will do)`}},

		// Hours.
		{"hours without name", "hours {\n}" + internal,
			[]string{`1:1: hours needs a name`}},
		{"hours reserved", "hours caller { mon 08:00-09:00 }" + internal,
			[]string{`1:7: caller is a reserved word and cannot name hours`}},
		{"duplicate hours", "hours a { mon 08:00-09:00 }\nhours a { tue 08:00-09:00 }" + internal,
			[]string{`2:7: duplicate hours a (first on line 1)`}},
		{"unclosed hours", "hours a {\nmon 08:00-09:00\n",
			[]string{`1:1: missing context internal: calls from extensions start there (an empty context internal { } will do)`, `1:9: unclosed { of hours a`}},
		{"hours junk", "hours a {\n{ }\n}" + internal,
			[]string{`2:1: expected days (mon-fri) or closed, found {`}},
		{"unknown day", "hours a {\nmon-fry 08:00-09:00\n}" + internal,
			[]string{`2:1: unknown day fry (mon, tue, wed, thu, fri, sat, sun)`}},
		{"unknown day in list", "hours a {\nmon, Tue 08:00-09:00\n}" + internal,
			[]string{`2:6: unknown day Tue (mon, tue, wed, thu, fri, sat, sun)`}},
		{"no times", "hours a {\nmon-fri\nsat 09:00-12:00\n}" + internal,
			[]string{`2:1: expected opening times after mon-fri, e.g. 08:30-17:00`}},
		{"bad time", "hours a {\nmon 8-17\n}" + internal,
			[]string{`2:5: bad opening time 8-17: want HH:MM-HH:MM between 00:00 and 24:00, e.g. 08:30-17:00`}},
		{"bad time no dash", "hours a {\nmon 08:00\n}" + internal,
			[]string{`2:5: bad opening time 08:00: want HH:MM-HH:MM, e.g. 08:30-17:00`}},
		{"bad minute", "hours a {\nmon 08:00-17:60\n}" + internal,
			[]string{`2:5: bad opening time 08:00-17:60: want HH:MM-HH:MM between 00:00 and 24:00, e.g. 08:30-17:00`}},
		{"24 start", "hours a {\nmon 24:00-24:00\n}" + internal,
			[]string{`2:5: bad opening time 24:00-24:00: want HH:MM-HH:MM between 00:00 and 24:00, e.g. 08:30-17:00`}},
		{"backwards time", "hours a {\nmon 08:00-12:00, 22:00-06:00\n}" + internal,
			[]string{`2:18: bad opening time 22:00-06:00: the end must be after the start (split a time over midnight into two days)`}},
		{"closed without dates", "hours a {\nclosed\n}" + internal,
			[]string{`2:1: closed needs dates, e.g. closed 2026-12-24, 2026-12-25..2026-12-26`}},
		{"bad date", "hours a {\nclosed 2026-02-30\n}" + internal,
			[]string{`2:8: bad date 2026-02-30: want YYYY-MM-DD, e.g. 2026-12-24`}},
		{"bad range end", "hours a {\nclosed 2026-12-24..2026-13-01\n}" + internal,
			[]string{`2:8: bad date 2026-13-01: want YYYY-MM-DD, e.g. 2026-12-31`}},
		{"backwards range", "hours a {\nclosed 2026-12-24, 2026-12-31..2026-12-24\n}" + internal,
			[]string{`2:20: bad date range 2026-12-31..2026-12-24: the end is before the start`}},
		{"dangling comma", "hours a {\nclosed 2026-12-24,\n}" + internal,
			[]string{`3:1: expected a value after ',', found }`}},

		// Rules.
		{"rule without numbers", rules(`rule { hangup }`),
			[]string{`2:1: rule needs numbers or patterns, e.g. rule 112, 911 { or rule _9X. {`}},
		{"rule without brace", rules("rule 1 hangup\nrule 2 { hangup }"),
			[]string{`2:8: expected { after the rule's numbers, found hangup`}},
		{"unclosed rule", rules("rule 1 {\nhangup\nrule 2 { hangup }"),
			[]string{`2:8: unclosed { (found rule on line 4)`}},
		{"unclosed block at eof", "context internal {\nrule 1 {\nif caller 1 {\n",
			[]string{`1:18: unclosed { of context internal`, `2:8: unclosed {`, `3:13: unclosed {`}},

		// Statements.
		{"unknown statement", stmts(`dail extension:101`),
			[]string{`3:1: unknown statement dail (dial, goto, hangup, strip, prefix, callerid, require, if)`}},
		{"not a statement", stmts(`"dial"`),
			[]string{`3:1: expected a statement, found "dial"`}},
		{"stray block", stmts(`{ hangup }`),
			[]string{`3:1: expected a statement, found {`}},
		{"dial without destination", stmts("dial\nhangup"),
			[]string{`3:1: dial needs a destination, e.g. dial extension:101`}},
		{"bad destination", stmts(`dial extension:1a`),
			[]string{`3:6: invalid destination "extension:1a": extension needs a number of digits`}},
		{"unknown kind", stmts(`dial phone:101`),
			[]string{`3:6: invalid destination "phone:101": unknown kind "phone" (extension, voicemail, ringgroup, ivr, conference, trunk, number, hangup)`}},
		{"bad trunk destination", stmts(`dial trunk:${number}`),
			[]string{`3:6: invalid destination "trunk:${number}": want trunk:NAME:NUMBER`}},
		{"bad variable destination", stmts(`dial extension:x${number}`),
			[]string{`3:6: invalid destination "extension:x${number}": extension needs a number of digits`}},
		{"caller_name destination", stmts(`dial extension:${caller_name}`),
			[]string{`3:6: ${caller_name} cannot be part of a destination`}},
		{"variable kind", stmts(`dial ${number}`),
			[]string{`3:6: the kind of destination ${number} cannot be a variable`}},
		{"ring without seconds", stmts(`dial extension:101 ring`),
			[]string{`3:20: ring needs seconds, e.g. ring 30`}},
		{"bad ring", stmts(`dial extension:101 ring 0`),
			[]string{`3:25: bad ring time 0: want seconds from 1 to 600`}},
		{"bad ring word", stmts(`dial extension:101 ring 1m`),
			[]string{`3:25: bad ring time 1m: want seconds from 1 to 600`}},
		{"goto without context", stmts(`goto`),
			[]string{`3:1: goto needs a context name`}},
		{"strip without count", stmts(`strip`),
			[]string{`3:1: strip needs a count of digits, e.g. strip 1`}},
		{"strip word", stmts(`strip one`),
			[]string{`3:7: strip needs a count of digits, found one`}},
		{"strip negative", stmts(`strip -1`),
			[]string{`3:7: strip cannot remove a negative count (-1)`}},
		{"strip huge negative", stmts(`strip -99999999999999999999`),
			[]string{`3:7: strip cannot remove a negative count (-99999999999999999999)`}},
		{"strip too many", stmts(`strip 33`),
			[]string{`3:7: strip 33 is more than the 32 digits a number may have`}},
		{"prefix without digits", stmts(`prefix`),
			[]string{`3:1: prefix needs digits, e.g. prefix "0"`}},
		{"prefix letters", stmts(`prefix "0a"`),
			[]string{`3:8: prefix needs digits, *, # or +, found "0a"`}},
		{"callerid without what", stmts(`callerid`),
			[]string{`3:1: callerid needs number or name, e.g. callerid name "ACME ${caller_name}"`}},
		{"callerid what", stmts(`callerid nmae "x"`),
			[]string{`3:10: callerid sets number or name, found nmae`}},
		{"callerid without value", stmts(`callerid name`),
			[]string{`3:10: name needs a value in quotes`}},
		{"require without class", stmts(`require`),
			[]string{`3:1: require needs an outbound class: internal, local, national or international`}},
		{"require unknown", stmts(`require world`),
			[]string{`3:9: unknown outbound class world (internal, local, national, international)`}},
		{"else without if", stmts("else hangup"),
			[]string{`3:1: else without if`}},
		{"if without condition", stmts("if\nhangup"),
			[]string{`3:1: if needs a condition: an hours name or caller NUMBERS`}},
		{"if not without condition", stmts("if not\nhangup"),
			[]string{`3:4: not needs a condition: an hours name or caller NUMBERS`}},
		{"if caller without numbers", stmts("if caller\nhangup"),
			[]string{`3:4: caller needs numbers or patterns, e.g. if caller _1XX`}},
		{"if bad condition", stmts(`if "office" hangup`),
			[]string{`3:4: expected an hours name or caller, found "office"`}},
		{"if without body", stmts("if caller 1"),
			[]string{`4:1: expected a statement or { after the condition, found }`}},
		{"if else without body", stmts("if caller 1 hangup else"),
			[]string{`4:1: expected a statement or { after the condition, found }`}},
		{"error inside if", stmts("if caller 1 { strip x }"),
			[]string{`3:21: strip needs a count of digits, found x`}},

		// Names.
		{"unknown context", stmts(`goto outside`),
			[]string{`3:6: unknown context outside`}},
		{"unknown hours", stmts(`if not office hangup`),
			[]string{`3:8: unknown hours office`}},

		// Unreachable statements.
		{"after goto", "context a { rule 1 { hangup } }\n" + stmts("goto a\ndial extension:101"),
			[]string{`5:1: unreachable statement: the goto on line 4 ends the rule`}},
		{"after hangup", stmts("hangup\nstrip 1"),
			[]string{`4:1: unreachable statement: the hangup on line 3 ends the call`}},
		{"after voicemail", stmts("dial voicemail:101\ndial extension:101"),
			[]string{`4:1: unreachable statement: voicemail:101 on line 3 always answers`}},
		{"after ivr with variable", stmts("dial ivr:${number}\nhangup"),
			[]string{`4:1: unreachable statement: ivr:${number} on line 3 always answers`}},
		{"after conference", stmts("dial conference:800\nhangup"),
			[]string{`4:1: unreachable statement: conference:800 on line 3 always answers`}},
		{"after dial hangup", stmts("dial hangup\nhangup"),
			[]string{`4:1: unreachable statement: hangup on line 3 always answers`}},
		{"after if else", "hours h { mon 08:00-09:00 }\n" + stmts("if h { hangup } else dial voicemail:1\ndial extension:1"),
			[]string{`5:1: unreachable statement: both branches of the if on line 4 end the rule`}},
		{"inside branch", stmts("if caller 1 { hangup\nstrip 1 }"),
			[]string{`4:1: unreachable statement: the hangup on line 3 ends the call`}},

		// Unreachable rules.
		{"same number twice", rules("rule 100 { hangup }\nrule 100 { hangup }"),
			[]string{`3:1: unreachable rule: rule 100 on line 2 matches every number it matches`}},
		{"after any", rules("rule _. { hangup }\nrule 100 { hangup }"),
			[]string{`3:1: unreachable rule: rule _. on line 2 matches every number it matches`}},
		{"after bang", rules("rule _! { hangup }\nrule _X { hangup }"),
			[]string{`3:1: unreachable rule: rule _! on line 2 matches every number it matches`}},
		{"narrower pattern", rules("rule _XXX { hangup }\nrule _1XX { hangup }"),
			[]string{`3:1: unreachable rule: rule _XXX on line 2 matches every number it matches`}},
		{"literal pattern", rules("rule 123 { hangup }\nrule _123 { hangup }"),
			[]string{`3:1: unreachable rule: rule 123 on line 2 matches every number it matches`}},
		{"every number covered", rules("rule _1X { hangup }\nrule _2X { hangup }\nrule 15, 25 { hangup }"),
			[]string{`4:1: unreachable rule: rule _1X on line 2 matches every number it matches`}},
		{"one number covered", rules("rule _1X { hangup }\nrule 3, 15 { hangup }"),
			[]string{`3:9: 15 never matches here: rule _1X on line 2 matches it first`}},
		{"repeat in rule", rules("rule 3, 4, 3 { hangup }"),
			[]string{`2:12: 3 is repeated in this rule`}},

		// Goto loops.
		{"self loop", stmts("goto internal"),
			[]string{`3:1: goto loop: internal -> internal`}},
		{"loop of three", "context a { rule _. { goto b } }\ncontext b { rule _. { if caller 1 goto internal } }\n" + stmts("goto a"),
			[]string{`5:1: goto loop: a -> b -> internal -> a`}},

		// Several errors at once, sorted.
		{"several", "context internal {\nrule 1 { dial foo }\nrule _Q { goto nowhere }\nrule 2 { strip -1 }\n}\nbogus\n",
			[]string{`2:15: invalid destination "foo": want kind:target, e.g. extension:101, or hangup`,
				`3:7: pattern _Q: unexpected Q (use X, Z, N, [set], 0-9, *, #, +, . or !)`,
				`3:16: unknown context nowhere`,
				`4:16: strip cannot remove a negative count (-1)`,
				`6:1: expected timezone, hours or context, found bogus`}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("duplicate test name %q", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			p, errs := Parse(tt.src)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Parse(%q) errors:\n%s\nwant:\n%s", tt.src, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if p != nil {
				t.Errorf("Parse returned a plan along with errors")
			}
		})
	}
}

func TestErrorListFormat(t *testing.T) {
	l := ErrorList{{Line: 1, Col: 2, Message: "a"}, {Line: 3, Col: 4, Message: "b"}}
	if got := l.Error(); got != "1:2: a\n3:4: b" {
		t.Errorf("Error() = %q", got)
	}
	if ErrorList(nil).Err() != nil {
		t.Error("empty list gives a non-nil error")
	}
	if l.Err() == nil {
		t.Error("non-empty list gives nil")
	}
}
