package media

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
)

// builtinPromptFiles are the built-in English prompts, made by
// prompts/generate.sh (espeak-ng and sox): 8 kHz mono 16-bit PCM WAV.
//
//go:embed prompts/*.wav
var builtinPromptFiles embed.FS

// builtinPrompt is one embedded prompt, decoded on first use.
type builtinPrompt struct {
	file  string
	once  sync.Once
	audio *Audio
}

// builtinPromptIndex lists the embedded prompts by name. It is built once
// and never changed afterwards; each entry decodes its own audio once.
var builtinPromptIndex = sync.OnceValue(func() map[string]*builtinPrompt {
	entries, err := builtinPromptFiles.ReadDir("prompts")
	if err != nil {
		panic(fmt.Sprintf("media: embedded prompts: %v", err)) // the build embeds the directory
	}
	index := make(map[string]*builtinPrompt, len(entries))
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".wav"); ok {
			index[name] = &builtinPrompt{file: path.Join("prompts", e.Name())}
		}
	}
	return index
})

// BuiltinPrompt returns a built-in English prompt by name (see
// BuiltinPromptNames), decoded on first use and shared read-only by every
// caller afterwards: play it with its NewSource. It is safe for
// concurrent use. An uploaded prompt of the same name is meant to replace
// it; that choice is the caller's.
func BuiltinPrompt(name string) (*Audio, bool) {
	p, ok := builtinPromptIndex()[name]
	if !ok {
		return nil, false
	}
	p.once.Do(func() {
		b, err := builtinPromptFiles.ReadFile(p.file)
		if err == nil {
			p.audio, err = ReadWAV(bytes.NewReader(b))
		}
		if err != nil {
			panic(fmt.Sprintf("media: built-in prompt %s: %v", name, err)) // tested for every name
		}
	})
	return p.audio, true
}

// BuiltinPromptNames returns the names of the built-in speech prompts,
// sorted. The built-in music on hold (MusicOnHold) is not among them: it
// is rendered, not embedded.
func BuiltinPromptNames() []string {
	index := builtinPromptIndex()
	names := make([]string, 0, len(index))
	for name := range index {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// SayNumber returns the built-in prompts that speak n in English, for 0 to
// 999999: 42 is num-40 digit-2, 115 is digit-1 hundred num-15, 2005 is
// digit-2 thousand digit-5. Out of range it returns nil.
func SayNumber(n int) []string {
	switch {
	case n < 0 || n > 999999:
		return nil
	case n == 0:
		return []string{"digit-0"}
	}
	var out []string
	if n >= 1000 {
		out = append(sayHundreds(n/1000), "thousand")
	}
	return append(out, sayHundreds(n%1000)...)
}

// sayHundreds speaks 1 to 999; 0 is nothing.
func sayHundreds(n int) []string {
	var out []string
	if n >= 100 {
		out = append(out, digitPrompt(n/100), "hundred")
		n %= 100
	}
	switch {
	case n == 0:
	case n < 10:
		out = append(out, digitPrompt(n))
	case n < 20:
		out = append(out, fmt.Sprintf("num-%d", n))
	default:
		out = append(out, fmt.Sprintf("num-%d", n/10*10))
		if n%10 != 0 {
			out = append(out, digitPrompt(n%10))
		}
	}
	return out
}

func digitPrompt(d int) string { return "digit-" + string(rune('0'+d)) }

// SayDigits returns the built-in prompts that speak s key by key: '0'-'9'
// as digit-N, '*' as star and '#' as pound. Other characters are skipped.
func SayDigits(s string) []string {
	out := make([]string, 0, len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			out = append(out, digitPrompt(int(r-'0')))
		case r == '*':
			out = append(out, "star")
		case r == '#':
			out = append(out, "pound")
		}
	}
	return out
}

// BuiltinPromptSource returns the named built-in prompts played one after
// the other (Concat), e.g. BuiltinPromptSource(SayNumber(42)...). An
// unknown name is an error wrapping ErrUnknownPrompt.
func BuiltinPromptSource(names ...string) (Rewinder, error) {
	srcs := make([]Source, len(names))
	for i, name := range names {
		a, ok := BuiltinPrompt(name)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownPrompt, name)
		}
		srcs[i] = a.NewSource()
	}
	return Concat(srcs...), nil
}
