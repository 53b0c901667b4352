package media

import (
	"testing"
	"time"
)

func TestSequencer(t *testing.T) {
	type in struct {
		src uint32
		seq uint16
		ts  uint32
		at  time.Duration
	}
	type out struct {
		seq  uint16
		ts   uint32
		mark bool
	}
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []in
		want []out
	}{
		{
			"one source passes through",
			[]in{{1, 100, 5000, 0}, {1, 101, 5160, 20 * ms}, {1, 102, 5320, 40 * ms}},
			[]out{{100, 5000, false}, {101, 5160, false}, {102, 5320, false}},
		},
		{
			"loss and reordering keep offsets",
			[]in{{1, 100, 5000, 0}, {1, 103, 5480, 60 * ms}, {1, 102, 5320, 61 * ms}},
			[]out{{100, 5000, false}, {103, 5480, false}, {102, 5320, false}},
		},
		{
			"new source continues after 20 ms",
			[]in{{1, 100, 5000, 0}, {1, 101, 5160, 20 * ms}, {2, 7, 90000, 40 * ms}, {2, 8, 90160, 60 * ms}},
			[]out{{100, 5000, false}, {101, 5160, false}, {102, 5320, true}, {103, 5480, false}},
		},
		{
			"new source after a 2 s gap advances the clock by 2 s",
			[]in{{1, 65535, 0xffffff00, 0}, {2, 40, 10, 2 * time.Second}},
			[]out{{65535, 0xffffff00, false}, {0, 16000 - 0x100, true}},
		},
		{
			"back to the first source is a new source too",
			[]in{{1, 10, 100, 0}, {2, 500, 9000, 20 * ms}, {1, 11, 260, 40 * ms}},
			[]out{{10, 100, false}, {11, 260, true}, {12, 420, true}},
		},
		{
			"simultaneous switch still moves the clock",
			[]in{{1, 10, 100, 0}, {2, 500, 9000, 0}},
			[]out{{10, 100, false}, {11, 101, true}},
		},
		{
			"telephone event packets share a timestamp",
			[]in{{1, 10, 100, 0}, {1, 11, 100, 20 * ms}, {1, 12, 100, 40 * ms}},
			[]out{{10, 100, false}, {11, 100, false}, {12, 100, false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sequencer{ssrc: 42, clockRate: 8000}
			for i, p := range tt.in {
				seq, ts, mark := s.next(p.src, p.seq, p.ts, p.at)
				if got := (out{seq, ts, mark}); got != tt.want[i] {
					t.Fatalf("packet %d: got %+v, want %+v", i, got, tt.want[i])
				}
			}
		})
	}
}
