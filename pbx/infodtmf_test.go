package pbx

import "testing"

func TestParseInfoDTMF(t *testing.T) {
	tests := []struct {
		ct, body string
		event    uint8
		duration uint16
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", 5, 1280, true},
		{"Application/DTMF-Relay; charset=x", "signal= #\nduration=100", 11, 800, true},
		{"application/dtmf-relay", "Signal=11\r\n", 11, 0, true},
		{"application/dtmf", "*", 10, 0, true},
		{"application/dtmf", "d", 15, 0, true},
		{"application/dtmf-relay", "Signal=X\r\n", 0, 0, false},
		{"application/dtmf-relay", "Duration=100\r\n", 0, 0, false},
		{"application/dtmf", "16", 0, 0, false},
		{"text/plain", "5", 0, 0, false},
	}
	for _, tc := range tests {
		d, ok := parseInfoDTMF(tc.ct, []byte(tc.body))
		if ok != tc.ok || (ok && (d.Event != tc.event || d.Duration != tc.duration)) {
			t.Errorf("parseInfoDTMF(%q, %q) = %+v, %v; want event %d duration %d, %v", tc.ct, tc.body, d, ok, tc.event, tc.duration, tc.ok)
		}
	}
}

func FuzzParseInfoDTMF(f *testing.F) {
	f.Add("application/dtmf-relay", []byte("Signal=5\r\nDuration=160\r\n"))
	f.Add("application/dtmf", []byte("#"))
	f.Add("application/dtmf-relay", []byte("Signal=\r\nDuration=99999999999999999999"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		if d, ok := parseInfoDTMF(ct, body); ok && d.Event > 15 {
			t.Fatalf("event %d out of range", d.Event)
		}
	})
}
