package media

import (
	"testing"
	"time"
)

func TestReceiveStatsLoss(t *testing.T) {
	type p struct {
		ssrc uint32
		seq  uint16
	}
	seqs := func(ssrc uint32, from, to int, skip ...int) []p {
		var out []p
	next:
		for i := from; i <= to; i++ {
			for _, s := range skip {
				if i == s {
					continue next
				}
			}
			out = append(out, p{ssrc, uint16(i)})
		}
		return out
	}
	cat := func(ps ...[]p) []p {
		var out []p
		for _, x := range ps {
			out = append(out, x...)
		}
		return out
	}
	tests := []struct {
		name string
		pkts []p
		lost uint64
	}{
		{"none", seqs(1, 10, 60), 0},
		{"two gaps", seqs(1, 10, 60, 20, 30, 31), 3},
		{"across wrap", seqs(1, 65530, 65545, 65536, 65540), 2},
		{"reordered", []p{{1, 1}, {1, 3}, {1, 2}, {1, 4}}, 0},
		{"duplicates offset loss, as in RFC 3550", []p{{1, 1}, {1, 1}, {1, 3}}, 0},
		{"new source keeps old loss", cat(seqs(1, 1, 10, 5), seqs(2, 900, 910, 905, 906)), 3},
		{"sender restart (big jump) is not loss", cat(seqs(1, 1, 10), seqs(1, 20000, 20010)), 0},
		{"lost tail before new source", cat(seqs(1, 1, 5), seqs(1, 8, 8), seqs(2, 1, 3)), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := receiveStats{clockRate: 8000}
			for _, x := range tt.pkts {
				r.update(x.ssrc, x.seq, 0, 0, false, 172)
			}
			s := r.snapshot()
			if s.Lost != tt.lost {
				t.Errorf("Lost = %d, want %d", s.Lost, tt.lost)
			}
			if s.Packets != uint64(len(tt.pkts)) || s.Bytes != 172*uint64(len(tt.pkts)) {
				t.Errorf("Packets/Bytes = %d/%d", s.Packets, s.Bytes)
			}
		})
	}
}

func TestReceiveStatsJitter(t *testing.T) {
	tests := []struct {
		name   string
		skew   func(i int) uint32 // arrival offset of packet i, samples
		lo, hi time.Duration
	}{
		{"steady", func(int) uint32 { return 0 }, 0, 0},
		// Alternating 0/80 samples (10 ms) late: |D| = 80 every packet,
		// so J converges to 80 samples = 10 ms.
		{"alternating 10 ms", func(i int) uint32 { return uint32(i%2) * 80 }, 9 * time.Millisecond, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := receiveStats{clockRate: 8000}
			for i := 0; i < 500; i++ {
				ts := uint32(1000 + 160*i)
				r.update(7, uint16(i), ts, ts+5000+tt.skew(i), true, 172)
			}
			if j := r.snapshot().Jitter; j < tt.lo || j > tt.hi {
				t.Fatalf("Jitter = %v, want %v..%v", j, tt.lo, tt.hi)
			}
		})
	}
}
