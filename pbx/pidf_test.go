package pbx

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestPresenceBody(t *testing.T) {
	talking := []dialogState{{id: "c1-in", state: dialogConfirmed, direction: dialogRecipient, remote: "101"}}
	dialing := []dialogState{{id: "c1-out", state: dialogEarly, direction: dialogInitiator, remote: "101"}}
	ringing := []dialogState{{id: "c1-in", state: dialogEarly, direction: dialogRecipient, remote: "101"}}
	tests := []struct {
		name       string
		st         extState
		basic      string
		note       string
		onThePhone bool
	}{
		{"not registered", extState{known: true}, "closed", noteOffline, false},
		{"not registered, DND", extState{known: true, dnd: true}, "closed", noteOffline, false},
		{"idle", extState{known: true, registered: true}, "open", noteAvailable, false},
		{"talking", extState{known: true, registered: true, dialogs: talking}, "open", noteOnThePhone, true},
		{"dialing", extState{known: true, registered: true, dialogs: dialing}, "open", noteOnThePhone, true},
		{"ringing", extState{known: true, registered: true, dialogs: ringing}, "open", noteRinging, false},
		{"DND", extState{known: true, registered: true, dnd: true}, "closed", noteDND, false},
		{"DND on a call", extState{known: true, registered: true, dnd: true, dialogs: talking}, "closed", noteDND, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := buildPIDF("sip:102@pbx.example", "102", tt.st)
			if err != nil {
				t.Fatal(err)
			}
			s := string(body)
			for _, w := range []string{`<?xml version="1.0" encoding="UTF-8"?>`,
				`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:102@pbx.example">`,
				`<tuple id="t102">`, `<basic>` + tt.basic + `</basic>`, `<note>` + tt.note + `</note>`} {
				if !strings.Contains(s, w) {
					t.Errorf("body lacks %q:\n%s", w, s)
				}
			}
			if got := strings.Contains(s, "<rpid:on-the-phone>"); got != tt.onThePhone {
				t.Errorf("on-the-phone %v, want %v:\n%s", got, tt.onThePhone, s)
			}
			var doc struct {
				Basic string `xml:"tuple>status>basic"`
			}
			if err := xml.Unmarshal(body, &doc); err != nil || doc.Basic != tt.basic {
				t.Errorf("parsed basic %q (%v), want %q", doc.Basic, err, tt.basic)
			}
		})
	}
}

func TestPresenceBodyEscapes(t *testing.T) {
	body, err := buildPIDF(`sip:1"0&2@x`, "102", extState{known: true, registered: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `entity="sip:1&#34;0&amp;2@x"`) {
		t.Errorf("entity not escaped:\n%s", body)
	}
}
