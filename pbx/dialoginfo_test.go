package pbx

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestDialogInfoBody(t *testing.T) {
	const entity = "sip:102@pbx.example"
	tests := []struct {
		name    string
		st      extState
		want    []string // substrings, in order
		dialogs int
	}{
		{"idle", extState{known: true, registered: true}, []string{
			`<?xml version="1.0" encoding="UTF-8"?>`,
			`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="7" state="full" entity="sip:102@pbx.example">`,
			`</dialog-info>`}, 0},
		{"ringing", extState{known: true, registered: true, dialogs: []dialogState{
			{id: "c1-in", state: dialogEarly, direction: dialogRecipient, remote: "101", remoteName: "Test 101"}}}, []string{
			`<dialog id="c1-in" direction="recipient">`, `<state>early</state>`,
			`<local>`, `<identity>sip:102@pbx.example</identity>`,
			`<remote>`, `<identity display="Test 101">sip:101@pbx.example</identity>`, `<target uri="sip:101@pbx.example">`}, 1},
		{"talking and dialing", extState{known: true, registered: true, dialogs: []dialogState{
			{id: "c1-in", state: dialogConfirmed, direction: dialogRecipient, remote: "101"},
			{id: "c2-out", state: dialogEarly, direction: dialogInitiator, remote: "103"}}}, []string{
			`<dialog id="c1-in" direction="recipient">`, `<state>confirmed</state>`,
			`<dialog id="c2-out" direction="initiator">`, `<state>early</state>`, `sip:103@pbx.example`}, 2},
		{"escapes names", extState{known: true, registered: true, dialogs: []dialogState{
			{id: "c1-in", state: dialogEarly, direction: dialogRecipient, remote: "101", remoteName: `Tom & "Jerry" <Inc>`}}}, []string{
			`display="Tom &amp; &#34;Jerry&#34; &lt;Inc&gt;"`}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := buildDialogInfo(entity, "pbx.example", 7, tt.st)
			if err != nil {
				t.Fatal(err)
			}
			s := string(body)
			rest := s
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("body lacks %q (in order):\n%s", w, s)
				}
				rest = rest[i+len(w):]
			}
			// It parses back, with the right number of dialogs and names.
			var doc dialogInfo
			if err := xml.Unmarshal(body, &doc); err != nil {
				t.Fatalf("body does not parse: %v\n%s", err, s)
			}
			if len(doc.Dialogs) != tt.dialogs || doc.Version != 7 || doc.State != "full" || doc.Entity != entity {
				t.Errorf("parsed %+v", doc)
			}
			for i, d := range doc.Dialogs {
				if d.Remote == nil || d.Remote.Identity.Display != tt.st.dialogs[i].remoteName {
					t.Errorf("dialog %d remote %+v, want display %q", i, d.Remote, tt.st.dialogs[i].remoteName)
				}
			}
		})
	}
}
