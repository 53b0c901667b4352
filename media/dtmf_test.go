package media

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseTelephoneEvent(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    TelephoneEvent
		wantErr bool
	}{
		{"digit 5 start", []byte{5, 10, 0, 160}, TelephoneEvent{Event: 5, Volume: 10, Duration: 160}, false},
		{"hash end", []byte{11, 0x80 | 7, 0x03, 0x20}, TelephoneEvent{Event: 11, End: true, Volume: 7, Duration: 800}, false},
		{"reserved bit ignored", []byte{1, 0x40 | 63, 0xff, 0xff}, TelephoneEvent{Event: 1, Volume: 63, Duration: 65535}, false},
		{"trailing events ignored", []byte{2, 0, 0, 1, 9, 9, 9, 9}, TelephoneEvent{Event: 2, Duration: 1}, false},
		{"short", []byte{1, 2, 3}, TelephoneEvent{}, true},
		{"empty", nil, TelephoneEvent{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTelephoneEvent(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrShortPayload) {
					t.Fatalf("err = %v, want ErrShortPayload", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestTelephoneEventMarshalRoundTrip(t *testing.T) {
	ev := TelephoneEvent{Event: 10, End: true, Volume: 12, Duration: 1234}
	var b [4]byte
	if n, err := ev.MarshalTo(b[:]); err != nil || n != 4 {
		t.Fatalf("MarshalTo = %d, %v", n, err)
	}
	got, err := ParseTelephoneEvent(b[:])
	if err != nil || got != ev {
		t.Fatalf("round trip %+v, %v; want %+v", got, err, ev)
	}
	if _, err := ev.MarshalTo(b[:3]); !errors.Is(err, ErrShortPayload) {
		t.Fatalf("short buffer err = %v", err)
	}
}

func TestDigitRune(t *testing.T) {
	var sb strings.Builder
	for e := uint8(0); e <= 17; e++ {
		sb.WriteString(Digit{Event: e}.String())
		sb.WriteByte(' ')
	}
	if got, want := sb.String(), "0 1 2 3 4 5 6 7 8 9 * # A B C D ! event 17 "; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// pkt is one telephone-event packet fed to the detector.
type pkt struct {
	ssrc, ts uint32
	event    uint8
	end      bool
	dur      uint16
}

// press returns the packets a phone sends for one key press: start
// packets every 20 ms and three end packets, as RFC 4733 §2.5.1.4 says.
func press(ssrc, ts uint32, event uint8, steps int) []pkt {
	var ps []pkt
	for i := 1; i <= steps; i++ {
		ps = append(ps, pkt{ssrc, ts, event, false, uint16(160 * i)})
	}
	for i := 0; i < 3; i++ {
		ps = append(ps, pkt{ssrc, ts, event, true, uint16(160 * (steps + 1))})
	}
	return ps
}

func concat(ps ...[]pkt) []pkt {
	var out []pkt
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

func TestDTMFDetector(t *testing.T) {
	p1 := press(1, 1000, 1, 4)
	p2 := press(1, 3000, 2, 4)
	tests := []struct {
		name  string
		pkts  []pkt
		flush bool
		want  string // digits and durations "1:800 2:800"
	}{
		{"one press", p1, false, "1:800"},
		{"two presses same key", concat(press(1, 1000, 5, 3), press(1, 2000, 5, 3)), false, "5:640 5:640"},
		{"two presses", concat(p1, p2), false, "1:800 2:800"},
		{"duplicated packets", concat(p1, p1, p2, p2), false, "1:800 2:800"},
		{"late end retransmit after next press begins", concat(p1[:5], p2[:2], p1[5:], p2[2:]), false, "1:800 2:800"},
		{"all end packets lost, next press flushes", concat(p1[:4], p2), false, "1:640 2:800"},
		{"only end packets", concat(p1[4:], p2[4:]), false, "1:800 2:800"},
		{"end lost, stream stops, flush", p1[:4], true, "1:640"},
		{"no press before flush", nil, true, ""},
		{"reordered start packets keep max duration", []pkt{{1, 7, 9, false, 320}, {1, 7, 9, false, 160}, {1, 7, 9, true, 480}}, false, "9:480"},
		{"same timestamp different SSRC are two presses", concat(press(1, 500, 3, 1), press(2, 500, 4, 1)), false, "3:320 4:320"},
		{"non-DTMF events ignored", []pkt{{1, 9, 32, true, 160}}, false, ""},
		{"star hash A D flash", concat(press(1, 1, 10, 1), press(1, 2, 11, 1), press(1, 3, 12, 1), press(1, 4, 15, 1), press(1, 5, 16, 1)), false, "*:320 #:320 A:320 D:320 !:320"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			d := DTMFDetector{OnDigit: func(dg Digit) {
				got = append(got, dg.String()+":"+strconv.Itoa(int(dg.Duration)))
			}}
			for _, p := range tt.pkts {
				d.Push(p.ssrc, p.ts, TelephoneEvent{Event: p.event, End: p.end, Duration: p.dur})
			}
			if tt.flush {
				d.Flush()
				d.Flush()
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Fatalf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func FuzzParseTelephoneEvent(f *testing.F) {
	f.Add([]byte{5, 10, 0, 160})
	f.Add([]byte{11, 0xff, 0xff, 0xff})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseTelephoneEvent(b)
		if err != nil {
			if len(b) >= TelephoneEventSize {
				t.Fatalf("error on %d bytes: %v", len(b), err)
			}
			return
		}
		var out [TelephoneEventSize]byte
		if _, err := ev.MarshalTo(out[:]); err != nil {
			t.Fatal(err)
		}
		again, err := ParseTelephoneEvent(out[:])
		if err != nil || again != ev {
			t.Fatalf("re-parse %+v, %v; want %+v", again, err, ev)
		}
		// Only the reserved bit may differ from the input.
		if out[0] != b[0] || out[1] != b[1]&^0x40 || out[2] != b[2] || out[3] != b[3] {
			t.Fatalf("marshal % x from % x", out, b[:4])
		}
		// The detector never panics and never reports more than one digit
		// per packet.
		n := 0
		d := DTMFDetector{OnDigit: func(Digit) { n++ }}
		d.Push(1, 2, ev)
		if n > 1 {
			t.Fatalf("%d digits from one packet", n)
		}
	})
}
