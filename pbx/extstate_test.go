package pbx

import (
	"fmt"
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
			got := callDialogs(tt.calls)[tt.number]
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// BenchmarkSubscribeStates derives the dialogs of 200 watched extensions
// from 50 live calls: what the notifier does once per change signal.
func BenchmarkSubscribeStates(b *testing.B) {
	var calls []CallInfo
	for i := range 50 {
		calls = append(calls, CallInfo{ID: fmt.Sprint("c", i), From: fmt.Sprint(100 + 2*i), To: fmt.Sprint(101 + 2*i),
			State: CallAnswered, Legs: []LegInfo{{Role: "caller", Number: fmt.Sprint(100 + 2*i)},
				{Role: "callee", Number: fmt.Sprint(101 + 2*i), State: "answered"}}})
	}
	numbers := make([]string, 200)
	for i := range numbers {
		numbers[i] = fmt.Sprint(100 + i)
	}
	b.ReportAllocs()
	for b.Loop() {
		byNumber := callDialogs(calls)
		for _, n := range numbers {
			_ = byNumber[n]
		}
	}
}

func BenchmarkDialogInfoBody(b *testing.B) {
	st := extState{known: true, registered: true, dialogs: []dialogState{
		{id: "c1-in", state: dialogConfirmed, direction: dialogRecipient, remote: "101", remoteName: "Test 101"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buildDialogInfo("sip:102@pbx", "pbx", 1, st); err != nil {
			b.Fatal(err)
		}
	}
}
