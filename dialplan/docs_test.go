package dialplan

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docDir is the directory the examples of docs/dialplan.md assume:
// extensions and voicemail boxes 100-199, ring group 600, IVR menu 500,
// conference room 800 and the trunk pstn.
type docDir struct{}

func (docDir) Exists(d Destination) bool {
	n, _ := strconv.Atoi(d.Number)
	switch d.Kind {
	case KindExtension, KindVoicemail:
		return len(d.Number) == 3 && n >= 100 && n <= 199
	case KindRingGroup:
		return d.Number == "600"
	case KindIVR:
		return d.Number == "500"
	case KindConference:
		return d.Number == "800"
	case KindTrunk:
		return d.Trunk == "pstn"
	}
	return false
}

// fence is one fenced block of the document.
type fence struct {
	lang string
	line int // of the opening fence
	body string
}

func fences(t *testing.T, doc string) []fence {
	t.Helper()
	var out []fence
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("docs/dialplan.md:%d: unclosed fence", start+1)
		}
		out = append(out, fence{lang: lang, line: start + 1, body: strings.Join(body, "\n") + "\n"})
	}
	return out
}

// TestDocExamples checks every dialplan block of docs/dialplan.md: it
// compiles, or gives exactly the errors of the errors block after it, and
// routes the calls of the routes block after it as written there.
func TestDocExamples(t *testing.T) {
	raw, err := os.ReadFile("../docs/dialplan.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := fences(t, string(raw))
	plans, routes, errBlocks := 0, 0, 0
	var routed []string // every route line checked
	for i := 0; i < len(fs); i++ {
		f := fs[i]
		if f.lang != "dialplan" {
			if f.lang == "routes" || f.lang == "errors" {
				t.Errorf("docs/dialplan.md:%d: %s block without a dialplan block before it", f.line, f.lang)
			}
			continue
		}
		plans++
		var next *fence
		if i+1 < len(fs) && (fs[i+1].lang == "routes" || fs[i+1].lang == "errors") {
			next = &fs[i+1]
			i++
		}
		p, errs := Compile(f.body, docDir{})
		if next != nil && next.lang == "errors" {
			errBlocks++
			want := strings.TrimSpace(next.body)
			if got := errs.Error(); got != want {
				t.Errorf("docs/dialplan.md:%d: errors\n%s\nwant (line %d):\n%s", f.line, got, next.line, want)
			}
			continue
		}
		if errs != nil {
			t.Errorf("docs/dialplan.md:%d: example has errors:\n%v", f.line, errs)
			continue
		}
		if next == nil {
			continue
		}
		routes++
		for k, line := range strings.Split(strings.TrimSpace(next.body), "\n") {
			routed = append(routed, strings.Join(strings.Fields(line), " "))
			call, want, err := parseRouteLine(line, p)
			if err != "" {
				t.Fatalf("docs/dialplan.md:%d: %s", next.line+1+k, err)
			}
			if got := describeRoute(p.Route(call)); got != want {
				t.Errorf("docs/dialplan.md:%d: %s\ngot  %s\nwant %s", next.line+1+k, line, got, want)
			}
		}
	}
	if plans < 10 || routes < 5 || errBlocks < 7 {
		t.Errorf("found %d dialplan, %d routes and %d errors blocks; the reference has more", plans, routes, errBlocks)
	}
	// The administrator's three examples must stay in the document.
	for _, must := range []string{
		"dial 4930123456 context from-pstn at 2026-12-01 10:00 => ivr:500",
		"dial 4930123456 context from-pstn at 2026-12-05 22:00 => voicemail:101",
		"dial 95551234 class national => trunk:pstn:5551234 ring 60s",
		"dial 911 class internal => trunk:pstn:911",
		"dial 00442079460000 class internal => refused: outbound class internal may not dial national",
	} {
		found := false
		for _, r := range routed {
			found = found || r == must
		}
		if !found {
			t.Errorf("docs/dialplan.md lacks the checked example %q", must)
		}
	}
}

// parseRouteLine reads "dial NUMBER [context C] [class C] [caller N]
// [at YYYY-MM-DD HH:MM] => RESULT"; times are in the plan's zone.
func parseRouteLine(line string, p *Plan) (Call, string, string) {
	left, want, ok := strings.Cut(line, "=>")
	if !ok {
		return Call{}, "", "no =>"
	}
	f := strings.Fields(left)
	if len(f) < 2 || f[0] != "dial" {
		return Call{}, "", "want dial NUMBER"
	}
	c := Call{Number: f[1]}
	for i := 2; i < len(f); i += 2 {
		if i+1 >= len(f) {
			return c, "", "missing value after " + f[i]
		}
		switch f[i] {
		case "context":
			c.Context = f[i+1]
		case "class":
			c.Class = f[i+1]
		case "caller":
			c.CallerNumber = f[i+1]
		case "at":
			if i+2 >= len(f) {
				return c, "", "want at YYYY-MM-DD HH:MM"
			}
			loc, err := time.LoadLocation(p.TimeZone())
			if err != nil {
				return c, "", err.Error()
			}
			if c.Time, err = time.ParseInLocation("2006-01-02 15:04", f[i+1]+" "+f[i+2], loc); err != nil {
				return c, "", err.Error()
			}
			i++
		default:
			return c, "", "unknown field " + f[i]
		}
	}
	return c, strings.Join(strings.Fields(want), " "), ""
}

// describeRoute writes a route the way the routes blocks do.
func describeRoute(r Route) string {
	switch r.Outcome {
	case OutcomeRefused:
		return "refused: " + r.Reason
	case OutcomeNoMatch:
		return "no match: " + r.Reason
	case OutcomeHangup:
		return "hangup"
	}
	var s []string
	for _, a := range r.Attempts {
		x := a.Dest.String()
		if a.Ring > 0 {
			x += " ring " + strconv.Itoa(int(a.Ring/time.Second)) + "s"
		}
		s = append(s, x)
	}
	return strings.Join(s, ", ")
}
