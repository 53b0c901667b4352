package dialplan

import "testing"

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pat string
		yes []string
		no  []string
	}{
		{"_X", []string{"0", "9"}, []string{"", "10", "*", "a"}},
		{"_Z", []string{"1", "9"}, []string{"0"}},
		{"_N", []string{"2", "9"}, []string{"0", "1"}},
		{"_n", []string{"2"}, []string{"1"}},
		{"_9NXX.", []string{"92001", "9999999"}, []string{"9200", "9100", "8200", "92x0"}},
		{"_9NXX!", []string{"9200", "92001"}, []string{"920"}},
		{"_.", []string{"1", "*", "abc"}, []string{""}},
		{"_!", []string{"", "1", "abc"}, nil},
		{"_[135-7]", []string{"1", "3", "5", "6", "7"}, []string{"2", "4", "8", "0"}},
		{"_[*#+]1", []string{"*1", "#1", "+1"}, []string{"11"}},
		{"_+49X.", []string{"+4930123"}, []string{"4930123", "+49"}},
		{"_*#06#", []string{"*#06#"}, []string{"*#06"}},
	}
	for _, tt := range tests {
		p, perr := compilePattern(tt.pat)
		if perr != nil {
			t.Fatalf("%s: %s", tt.pat, perr.msg)
		}
		for _, s := range tt.yes {
			if !p.match(s) {
				t.Errorf("%s does not match %q", tt.pat, s)
			}
		}
		for _, s := range tt.no {
			if p.match(s) {
				t.Errorf("%s matches %q", tt.pat, s)
			}
		}
	}
}

func TestPatternWithin(t *testing.T) {
	tests := []struct {
		p, q string
		want bool
	}{
		{"_1XX", "_XXX", true},
		{"_XXX", "_1XX", false},
		{"_1XX", "_1XX", true},
		{"_1XX", "_.", true},
		{"_1XX", "_!", true},
		{"_.", "_!", true},
		{"_!", "_.", false},
		{"_1.", "_X.", true},
		{"_1.", "_XX.", false}, // "11" is not matched by _XX.
		{"_1X.", "_X.", true},
		{"_1X!", "_X.", true},
		{"_1!", "_X.", false}, // "1"
		{"_!", "_X!", false},
		{"_1XX", "_1X", false},
		{"_1X", "_1XX", false},
		{"_1X.", "_1XX", false},
		{"_1XX", "_1X.", true},
		{"_1XX", "_1XX.", false},
		{"_[2-5]", "_N", true},
		{"_[1-5]", "_N", false},
		{"_Z", "_X", true},
		{"_N", "_Z", true},
		{"_X.", "_X[0-9*#+]!", false}, // a tail also matches other characters: "1a"
		{"_X.", "_[0-9*#+]!", true},
	}
	for _, tt := range tests {
		p, _ := compilePattern(tt.p)
		q, _ := compilePattern(tt.q)
		if got := p.within(q); got != tt.want {
			t.Errorf("%s within %s = %v, want %v", tt.p, tt.q, got, tt.want)
		}
	}
}

// TestPatternWithinAgrees brute-forces within against match on every
// number of up to 4 characters from a small alphabet.
func TestPatternWithinAgrees(t *testing.T) {
	pats := []string{"_X", "_1X", "_XX", "_1.", "_X.", "_!", "_.", "_1!", "_[12]X", "_N", "_Z.", "_1[2-4]", "_12", "_XX!", "_1XX", "_*X", "_[*#]!"}
	var nums []string
	alpha := "0129*"
	var gen func(s string)
	gen = func(s string) {
		nums = append(nums, s)
		if len(s) < 4 {
			for i := range alpha {
				gen(s + alpha[i:i+1])
			}
		}
	}
	gen("")
	for _, a := range pats {
		for _, b := range pats {
			p, _ := compilePattern(a)
			q, _ := compilePattern(b)
			if !p.within(q) {
				continue
			}
			for _, n := range nums {
				if p.match(n) && !q.match(n) {
					t.Errorf("%s within %s, but %q matches only the first", a, b, n)
				}
			}
		}
	}
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{"_X", "_9NXX.", "_[135-7]!", "_[", "_[]", "_[9-1]", "_.X", "_+49X.", "_*#"} {
		f.Add(s, "95551234")
	}
	f.Fuzz(func(t *testing.T, pat, number string) {
		if len(pat) == 0 || pat[0] != '_' {
			pat = "_" + pat
		}
		p, perr := compilePattern(pat)
		if perr != nil {
			if perr.off < 0 || perr.off > len(pat) || perr.msg == "" {
				t.Fatalf("bad error for %q: %+v", pat, perr)
			}
			return
		}
		m := p.match(number)
		if p.tail == 0 && m && len(number) != len(p.classes) {
			t.Fatalf("%s matched %q of another length", pat, number)
		}
		if p.lit != "" && m != (number == p.lit) {
			t.Fatalf("%s (literal %q) match(%q) = %v", pat, p.lit, number, m)
		}
		// Every pattern is within itself and within _!.
		bang, _ := compilePattern("_!")
		if !p.within(p) || !p.within(bang) {
			t.Fatalf("%s not within itself or _!", pat)
		}
	})
}
