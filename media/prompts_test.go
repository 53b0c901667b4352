package media

import (
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every prompt the brief names, and those added since; a prompt missing
// from the embedded set fails here.
var wantPrompts = strings.Fields(`
	digit-0 digit-1 digit-2 digit-3 digit-4 digit-5 digit-6 digit-7 digit-8 digit-9 star pound
	num-10 num-11 num-12 num-13 num-14 num-15 num-16 num-17 num-18 num-19
	num-20 num-30 num-40 num-50 num-60 num-70 num-80 num-90 hundred thousand beep
	leave-message person-at-extension is-unavailable is-busy you-have new old message messages
	no-messages enter-extension invalid-option try-again no-input goodbye please-hold welcome
	enter-pin wrong-pin enter-mailbox main-menu message-options deleted saved received-from at
	not-available conference-pin only-participant record-greeting
	extension first-message next-message no-more-messages greeting-saved mailbox-full
	transferring invalid-extension joined-conference am pm
	conference-locked conference-full muted unmuted conference-now-locked conference-now-unlocked
	others-muted others-unmuted
	today yesterday day-0 day-1 day-2 day-3 day-4 day-5 day-6 month-1 month-2 month-3 month-4 month-5 month-6
	month-7 month-8 month-9 month-10 month-11 month-12 oclock and record-message mailbox-options`)

func TestBuiltinPrompts(t *testing.T) {
	names := BuiltinPromptNames()
	if !slices.IsSorted(names) {
		t.Error("names not sorted")
	}
	for _, w := range wantPrompts {
		if !slices.Contains(names, w) {
			t.Errorf("no built-in prompt %s", w)
		}
	}
	if slices.Contains(names, "music-on-hold") {
		t.Error("music-on-hold listed as an embedded prompt")
	}
	var peaks []float64
	for _, name := range names {
		a, ok := BuiltinPrompt(name)
		if !ok {
			t.Errorf("%s: not found", name)
			continue
		}
		if a.Source.SampleRate != 8000 || a.Source.Channels != 1 || a.Source.BitsPerSample != 16 {
			t.Errorf("%s: %+v, want 8 kHz mono 16-bit", name, a.Source)
		}
		if d := a.Duration(); d < 150*time.Millisecond || d > 6*time.Second {
			t.Errorf("%s: %v long", name, d)
		}
		if rms := db(energy(a.Samples) / (32767 * 32767)); rms < -30 {
			t.Errorf("%s: RMS %.1f dBFS, nearly silent", name, rms)
		}
		var peak float64
		for _, s := range a.Samples {
			peak = max(peak, math.Abs(float64(s)))
		}
		peaks = append(peaks, 20*math.Log10(peak/32767))
		// Speech starts and ends at once: the silence is trimmed.
		if lead := leadingQuiet(a.Samples); lead > 100*time.Millisecond {
			t.Errorf("%s: %v of silence at the start", name, lead)
		}
		if again, _ := BuiltinPrompt(name); again != a {
			t.Errorf("%s: decoded twice", name)
		}
	}
	// One level for all: peaks normalised to -3 dBFS.
	for i, p := range peaks {
		if p < -4 || p > -2 {
			t.Errorf("%s: peak %.1f dBFS, want about -3", names[i], p)
		}
	}
	if _, ok := BuiltinPrompt("no-such-prompt"); ok {
		t.Error("an unknown name was found")
	}
	// The beep is 0.5 s of 1000 Hz.
	if a, _ := BuiltinPrompt("beep"); a.Duration() != 500*time.Millisecond || db(Goertzel(a.Samples, 1000)/Goertzel(a.Samples, 1200)) < 30 {
		t.Errorf("beep: %v, not a clean 1000 Hz tone", a.Duration())
	}
}

// leadingQuiet is how long pcm stays below -40 dBFS at its start.
func leadingQuiet(pcm []int16) time.Duration {
	for i, s := range pcm {
		if math.Abs(float64(s)) > 328 {
			return time.Duration(i) * time.Second / sampleRate
		}
	}
	return time.Duration(len(pcm)) * time.Second / sampleRate
}

// Concurrent first use decodes once and races on nothing.
func TestBuiltinPromptConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	got := make([]*Audio, 8)
	for i := range got {
		wg.Go(func() { got[i], _ = BuiltinPrompt("welcome") })
	}
	wg.Wait()
	for _, a := range got {
		if a != got[0] || a == nil {
			t.Fatal("callers got different audio")
		}
	}
}

func TestSayNumber(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{0, "digit-0"},
		{7, "digit-7"},
		{10, "num-10"},
		{15, "num-15"},
		{20, "num-20"},
		{42, "num-40 digit-2"},
		{99, "num-90 digit-9"},
		{100, "digit-1 hundred"},
		{115, "digit-1 hundred num-15"},
		{305, "digit-3 hundred digit-5"},
		{999, "digit-9 hundred num-90 digit-9"},
		{1000, "digit-1 thousand"},
		{2005, "digit-2 thousand digit-5"},
		{12345, "num-12 thousand digit-3 hundred num-40 digit-5"},
		{100000, "digit-1 hundred thousand"},
		{999999, "digit-9 hundred num-90 digit-9 thousand digit-9 hundred num-90 digit-9"},
		{-1, ""},
		{1000000, ""},
	} {
		if got := strings.Join(SayNumber(tc.n), " "); got != tc.want {
			t.Errorf("SayNumber(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	// Every name SayNumber uses exists.
	for n := range 1000000 {
		if n > 2000 && n%997 != 0 {
			continue
		}
		for _, name := range SayNumber(n) {
			if _, ok := BuiltinPrompt(name); !ok {
				t.Fatalf("SayNumber(%d) uses %s, which is not built in", n, name)
			}
		}
	}
}

func TestSayDigits(t *testing.T) {
	if got := strings.Join(SayDigits("20*1#x9"), " "); got != "digit-2 digit-0 star digit-1 pound digit-9" {
		t.Errorf("SayDigits = %q", got)
	}
	if got := SayDigits(""); len(got) != 0 {
		t.Errorf("SayDigits(\"\") = %v", got)
	}
}

func TestBuiltinPromptSource(t *testing.T) {
	src, err := BuiltinPromptSource(SayNumber(42)...)
	if err != nil {
		t.Fatal(err)
	}
	forty, _ := BuiltinPrompt("num-40")
	two, _ := BuiltinPrompt("digit-2")
	var n int
	buf := make([]int16, FrameSamples)
	for {
		m, err := src.Read(buf)
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := len(forty.Samples) + len(two.Samples); n != want {
		t.Errorf("played %d samples, want %d", n, want)
	}
	if _, err := BuiltinPromptSource("digit-1", "nonsense"); !errors.Is(err, ErrUnknownPrompt) {
		t.Errorf("unknown name: %v", err)
	}
}

// Speech must not make in-band digits: every built-in prompt through the
// detector, the beep included.
func TestBuiltinPromptsNoInBandDigits(t *testing.T) {
	for _, name := range BuiltinPromptNames() {
		a, _ := BuiltinPrompt(name)
		if got := detectInBand(t, a.Samples, FrameSamples); got != "" {
			t.Errorf("%s: detected %q", name, got)
		}
	}
}
