package pbx

import (
	"slices"
	"testing"
)

func TestSubscribeCallDialogs(t *testing.T) {
	leg := func(number, state string) LegInfo { return LegInfo{Role: "callee", Number: number, State: state} }
	caller := LegInfo{Role: "caller", Number: "101"}
	call := func(id string, st CallState, legs ...LegInfo) CallInfo {
		return CallInfo{ID: id, From: "101", FromName: "Test 101", To: "102", State: st, Legs: append([]LegInfo{caller}, legs...)}
	}
	in := func(id, st string) dialogState {
		return dialogState{id: id + "-in", state: st, direction: dialogRecipient, remote: "101", remoteName: "Test 101"}
	}
	out := func(id, st string) dialogState {
		return dialogState{id: id + "-out", state: st, direction: dialogInitiator, remote: "102"}
	}
	tests := []struct {
		name   string
		number string
		calls  []CallInfo
		want   []dialogState
	}{
		{"no calls", "102", nil, nil},
		{"caller while routing", "101", []CallInfo{call("a", CallSetup)}, []dialogState{out("a", dialogEarly)}},
		{"callee not yet invited", "102", []CallInfo{call("a", CallSetup)}, nil},
		{"callee ringing", "102", []CallInfo{call("a", CallRinging, leg("102", "trying"), leg("102", "ringing"))},
			[]dialogState{in("a", dialogEarly)}},
		{"caller of a ringing call", "101", []CallInfo{call("a", CallRinging, leg("102", "ringing"))},
			[]dialogState{out("a", dialogEarly)}},
		{"callee answered, caller not yet told", "102", []CallInfo{call("a", CallRinging, leg("102", "failed"), leg("102", "answered"))},
			[]dialogState{in("a", dialogEarly)}},
		{"callee talking", "102", []CallInfo{call("a", CallAnswered, leg("102", "answered"))},
			[]dialogState{in("a", dialogConfirmed)}},
		{"caller talking", "101", []CallInfo{call("a", CallAnswered, leg("102", "answered"))},
			[]dialogState{out("a", dialogConfirmed)}},
		{"hanging up", "102", []CallInfo{call("a", CallEnding, leg("102", "answered"))}, nil},
		{"phones cancelled", "102", []CallInfo{call("a", CallRinging, leg("102", "cancelled"), leg("102", "failed"))}, nil},
		{"a ring group member", "103", []CallInfo{call("a", CallRinging, leg("102", "ringing"), leg("103", "ringing"))},
			[]dialogState{{id: "a-in", state: dialogEarly, direction: dialogRecipient, remote: "101", remoteName: "Test 101"}}},
		{"someone else's call", "104", []CallInfo{call("a", CallAnswered, leg("102", "answered"))}, nil},
		{"two calls", "102", []CallInfo{call("a", CallAnswered, leg("102", "answered")), call("b", CallRinging, leg("102", "ringing"))},
			[]dialogState{in("a", dialogConfirmed), in("b", dialogEarly)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := callDialogs(tt.number, tt.calls)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
