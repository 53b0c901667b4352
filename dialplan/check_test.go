package dialplan

import (
	"reflect"
	"strings"
	"testing"
)

// dir is a Directory of known targets, keyed by Destination.String() for
// numbered kinds and by "trunk:NAME" for trunks.
type dir map[string]bool

func (d dir) Exists(x Destination) bool {
	if x.Kind == KindTrunk {
		return d["trunk:"+x.Trunk]
	}
	if x.Kind == KindHangup || x.Kind == KindNumber || x.Number == "" {
		panic("Check asked about " + x.String())
	}
	return d[x.String()]
}

var office = dir{"extension:101": true, "voicemail:101": true, "ringgroup:600": true, "ivr:500": true,
	"conference:800": true, "trunk:pstn": true}

const checkPlan = `context internal {
    rule 1 { dial extension:101 }
    rule 2 { dial extension:999 }
    rule 3 { dial voicemail:102 }
    rule 4 { dial ringgroup:601 ring 5 }
    rule 5 { dial ivr:501 }
    rule 6 { dial conference:801 }
    rule 7 { dial trunk:other:123 }
    rule 8 { dial trunk:pstn:123 }
    rule 9 { dial trunk:gsm:${number} }
    rule 10 { dial extension:${number} }
    rule 11 { dial number:5551234 }
    rule 12 { dial hangup }
    rule 13 { dial trunk:${trunk}:${number} }
}
`

func TestCheck(t *testing.T) {
	p, errs := Parse(checkPlan)
	if errs != nil {
		t.Fatal(errs)
	}
	want := []string{
		"3:19: no extension 999",
		"4:19: no voicemail box 102",
		"5:19: no ring group 601",
		"6:19: no IVR menu 501",
		"7:19: no conference room 801",
		"8:19: no trunk other",
		"10:19: no trunk gsm",
	}
	got := p.Check(office)
	if got.Error() != strings.Join(want, "\n") {
		t.Errorf("Check:\n%v\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if p.Check(nil) != nil {
		t.Error("Check(nil) reported errors")
	}
	if _, errs := Compile(checkPlan, office); errs.Error() != strings.Join(want, "\n") {
		t.Errorf("Compile: %v", errs)
	}
	if _, errs := Compile("context x { }", office); len(errs) != 1 || !strings.Contains(errs[0].Message, "missing context internal") {
		t.Errorf("Compile of a bad plan: %v", errs)
	}
	// Syntax errors and dangling destinations are reported together.
	mixed := "context internal {\n    rule 1 {\n        dial extension:999\n        bogus\n    }\n}\n"
	if _, errs := Compile(mixed, office); len(errs) != 2 || errs[0].Line != 3 || errs[0].Message != "no extension 999" || errs[1].Line != 4 {
		t.Errorf("Compile of a plan with a syntax error and a dangling destination: %v", errs)
	}
	all := dir{}
	for k := range office {
		all[k] = true
	}
	for _, k := range []string{"extension:999", "voicemail:102", "ringgroup:601", "ivr:501", "conference:801", "trunk:other", "trunk:gsm"} {
		all[k] = true
	}
	if p, errs := Compile(checkPlan, all); errs != nil || p == nil {
		t.Errorf("Compile with every target present: %v", errs)
	}
}

// trunkDir checks that Check passes the trunk number through for fixed
// literals (a Directory may ignore it).
type trunkDir struct{ asked []Destination }

func (d *trunkDir) Exists(x Destination) bool {
	d.asked = append(d.asked, x)
	return true
}

func TestCheckAsks(t *testing.T) {
	p, errs := Parse("context internal { rule 1 { dial trunk:pstn:123 } rule 2 { dial trunk:pstn:${number} } }")
	if errs != nil {
		t.Fatal(errs)
	}
	var d trunkDir
	p.Check(&d)
	want := []Destination{{Kind: KindTrunk, Trunk: "pstn", Number: "123"}, {Kind: KindTrunk, Trunk: "pstn"}}
	if !reflect.DeepEqual(d.asked, want) {
		t.Errorf("asked %+v, want %+v", d.asked, want)
	}
}

func TestReferences(t *testing.T) {
	p, errs := Parse(checkPlan)
	if errs != nil {
		t.Fatal(errs)
	}
	refs := p.References()
	if len(refs) != 13 {
		t.Fatalf("%d references, want 13", len(refs))
	}
	tests := map[int]Reference{
		0:  {Raw: "extension:101", Dest: Destination{Kind: KindExtension, Number: "101"}, Kind: KindExtension, Line: 2, Col: 19},
		7:  {Raw: "trunk:pstn:123", Dest: Destination{Kind: KindTrunk, Trunk: "pstn", Number: "123"}, Kind: KindTrunk, Trunk: "pstn", Line: 9, Col: 19},
		8:  {Raw: "trunk:gsm:${number}", Kind: KindTrunk, Trunk: "gsm", Line: 10, Col: 19},
		9:  {Raw: "extension:${number}", Kind: KindExtension, Line: 11, Col: 20},
		11: {Raw: "hangup", Dest: Destination{Kind: KindHangup}, Kind: KindHangup, Line: 13, Col: 20},
		12: {Raw: "trunk:${trunk}:${number}", Kind: KindTrunk, Line: 14, Col: 20},
	}
	for i, want := range tests {
		if refs[i] != want {
			t.Errorf("References()[%d] = %+v, want %+v", i, refs[i], want)
		}
	}
	refs[0].Raw = "changed"
	if p.References()[0].Raw != "extension:101" {
		t.Error("References shares its slice with the plan")
	}
}

func TestPlanAccessors(t *testing.T) {
	p, errs := Parse("context b { }\ncontext internal { }\ncontext a { }\n")
	if errs != nil {
		t.Fatal(errs)
	}
	if got := p.Contexts(); !reflect.DeepEqual(got, []string{"b", "internal", "a"}) {
		t.Errorf("Contexts() = %v", got)
	}
	if !p.HasContext("a") || p.HasContext("c") {
		t.Error("HasContext")
	}
	if p.TimeZone() != "UTC" {
		t.Errorf("TimeZone() = %q", p.TimeZone())
	}
	var nilPlan *Plan
	if nilPlan.Contexts() != nil || nilPlan.HasContext("internal") || nilPlan.References() != nil || nilPlan.Check(office) != nil {
		t.Error("nil plan accessors")
	}
}
