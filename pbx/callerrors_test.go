package pbx

import (
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

func TestForkFailure(t *testing.T) {
	f := func(codes ...int) []finalResponse {
		out := make([]finalResponse, len(codes))
		for i, c := range codes {
			out[i] = finalResponse{c, "x"}
		}
		return out
	}
	tests := []struct {
		name        string
		finals      []finalResponse
		code        int
		disposition string
	}{
		{"all busy", f(486, 600), sip.StatusBusyHere, store.DispositionBusy},
		{"one busy one not found", f(404, 486), sip.StatusBusyHere, store.DispositionBusy},
		{"busy beats 5xx", f(500, 486), sip.StatusBusyHere, store.DispositionBusy},
		{"lowest class wins", f(503, 404), sip.StatusNotFound, store.DispositionFailed},
		{"timeout", f(408), sip.StatusRequestTimeout, store.DispositionNoAnswer},
		{"503 not passed on", f(503), sip.StatusTemporarilyUnavailable, store.DispositionFailed},
		{"decline", f(603), sip.StatusGlobalDecline, store.DispositionBusy},
		{"none", nil, sip.StatusTemporarilyUnavailable, store.DispositionFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := forkFailure(tc.finals)
			if got.code != tc.code || got.disposition != tc.disposition {
				t.Errorf("got %d %s, want %d %s", got.code, got.disposition, tc.code, tc.disposition)
			}
		})
	}
}

func TestFailureForBusy(t *testing.T) {
	for _, err := range []error{errBusy, errDND} {
		got := failureFor(fmt.Errorf("%w: extension 102", err))
		if got.code != sip.StatusBusyHere || got.disposition != store.DispositionBusy {
			t.Errorf("failureFor(%v) = %d %s, want 486 busy", err, got.code, got.disposition)
		}
	}
}
