package media

import (
	"errors"
	"io"
	"slices"
	"testing"
	"time"
)

// readAll reads src frame by frame (frame samples at a time) until io.EOF
// or limit samples, failing the test on any other error.
func readAll(t testing.TB, src Source, frame, limit int) []int16 {
	t.Helper()
	var out []int16
	buf := make([]int16, frame)
	for len(out) < limit {
		n, err := src.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			if n != 0 {
				t.Fatalf("io.EOF with %d samples; the contract wants n == 0", n)
			}
			return out
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if n == 0 {
			t.Fatal("Read returned 0 samples without io.EOF")
		}
	}
	return out
}

func ramp(n, start int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(start + i)
	}
	return out
}

func TestPCMSourcesPlay(t *testing.T) {
	a, b := ramp(250, 1), ramp(100, 1000)
	cases := []struct {
		name  string
		src   func() Source
		frame int
		limit int
		want  []int16
	}{
		{"pcm once", func() Source { return NewPCMSource(a) }, FrameSamples, 1000, a},
		{"pcm odd frame", func() Source { return NewPCMSource(a) }, 7, 1000, a},
		{"pcm empty", func() Source { return NewPCMSource(nil) }, FrameSamples, 1000, nil},
		{"silence 25ms", func() Source { return Silence(25 * time.Millisecond) }, FrameSamples, 1000, make([]int16, 200)},
		{"silence zero", func() Source { return Silence(0) }, FrameSamples, 1000, nil},
		{"silence negative", func() Source { return Silence(-time.Second) }, FrameSamples, 1000, nil},
		{"concat", func() Source {
			return Concat(NewPCMSource(a), Silence(time.Millisecond), NewPCMSource(nil), NewPCMSource(b))
		}, FrameSamples, 1000, slices.Concat(a, make([]int16, 8), b)},
		{"concat none", func() Source { return Concat() }, FrameSamples, 1000, nil},
		{"loop", func() Source { return Loop(NewPCMSource(a)) }, FrameSamples, 1120, slices.Concat(a, a, a, a, a[:120])},
		{"loop of concat", func() Source {
			return Loop(Concat(NewPCMSource(b), Silence(time.Millisecond)))
		}, 33, 231, slices.Concat(b, make([]int16, 8), b, make([]int16, 8), b[:15])},
		{"loop empty", func() Source { return Loop(NewPCMSource(nil)) }, FrameSamples, 1000, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(t, tc.src(), tc.frame, tc.limit)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %d samples %v..., want %d %v...", len(got), head(got), len(tc.want), head(tc.want))
			}
		})
	}
}

func head(s []int16) []int16 { return s[:min(len(s), 10)] }

type failing struct{ err error }

func (f failing) Read(dst []int16) (int, error) { return 0, f.err }

func TestConcatPassesErrors(t *testing.T) {
	boom := errors.New("boom")
	src := Concat(NewPCMSource(ramp(10, 1)), failing{boom})
	buf := make([]int16, FrameSamples)
	n, err := src.Read(buf)
	if n != 10 || !errors.Is(err, boom) {
		t.Fatalf("Read = %d, %v; want 10, boom", n, err)
	}
}

func TestPCMSourcesNoAllocs(t *testing.T) {
	pcm := ramp(1000, 0)
	srcs := map[string]Source{
		"pcm":     Loop(NewPCMSource(pcm)),
		"silence": Loop(Silence(time.Second)),
		"concat":  Loop(Concat(NewPCMSource(pcm), Silence(50*time.Millisecond))),
	}
	buf := make([]int16, FrameSamples)
	for name, src := range srcs {
		if a := testing.AllocsPerRun(200, func() { src.Read(buf) }); a != 0 {
			t.Errorf("%s: %v allocations per Read", name, a)
		}
	}
}
