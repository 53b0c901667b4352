package pbx

import (
	"strings"
	"testing"
)

func TestSubscribeEventHeaders(t *testing.T) {
	for _, tt := range []struct{ in, name, id string }{
		{"dialog", "dialog", ""},
		{" Dialog ;id=7", "dialog", "7"},
		{"presence;ID=a1;x=y", "presence", "a1"},
		{"", "", ""},
	} {
		if name, id := parseEvent(tt.in); name != tt.name || id != tt.id {
			t.Errorf("parseEvent(%q) = %q, %q; want %q, %q", tt.in, name, id, tt.name, tt.id)
		}
	}
	for _, tt := range []struct {
		accept []string
		ok     bool
	}{
		{nil, true},
		{[]string{"application/dialog-info+xml"}, true},
		{[]string{"application/pidf+xml, Application/Dialog-Info+XML;q=0.5"}, true},
		{[]string{"application/sdp", "*/*"}, true},
		{[]string{"application/*"}, true},
		{[]string{"application/pidf+xml"}, false},
		{[]string{"text/*"}, false},
	} {
		if got := accepts(tt.accept, contentTypeDialogInfo); got != tt.ok {
			t.Errorf("accepts(%q) = %v, want %v", tt.accept, got, tt.ok)
		}
	}
	if lookupEventPackage("message-summary") == nil || lookupEventPackage("dialog") == nil || lookupEventPackage("presence") == nil ||
		lookupEventPackage("message-summary-x") != nil {
		t.Error("event packages: want dialog, presence and message-summary only")
	}
}

func TestSubscribeChangeSeenByPackage(t *testing.T) {
	idle := extState{known: true, registered: true}
	ringing := extState{known: true, registered: true, dialogs: []dialogState{{id: "a-in", state: dialogEarly, direction: dialogRecipient}}}
	talking := extState{known: true, registered: true, dialogs: []dialogState{{id: "a-in", state: dialogConfirmed, direction: dialogRecipient}}}
	dnd := extState{known: true, registered: true, dnd: true}
	offline := extState{known: true}
	dialog, presence, mwi := lookupEventPackage("dialog"), lookupEventPackage("presence"), lookupEventPackage("message-summary")
	for _, tt := range []struct {
		name                 string
		old, cur             extState
		dialogSees, pidfSees bool
	}{
		{"nothing", idle, idle, false, false},
		{"rings", idle, ringing, true, true},
		{"answers", ringing, talking, true, true},
		{"DND on", idle, dnd, false, true},
		{"unregisters", idle, offline, false, true},
		{"DND off while unregistered", extState{known: true, dnd: true}, offline, false, false},
	} {
		if got := dialog.changed(tt.old, tt.cur); got != tt.dialogSees {
			t.Errorf("%s: dialog package sees a change: %v, want %v", tt.name, got, tt.dialogSees)
		}
		if got := presence.changed(tt.old, tt.cur); got != tt.pidfSees {
			t.Errorf("%s: presence package sees a change: %v, want %v", tt.name, got, tt.pidfSees)
		}
		if mwi.changed(tt.old, tt.cur) {
			t.Errorf("%s: message-summary package sees a change", tt.name)
		}
	}
	withNew := idle
	withNew.mailbox = mailboxCounts{new: 1}
	heard := idle
	heard.mailbox = mailboxCounts{old: 1}
	for _, tt := range []struct {
		name     string
		old, cur extState
	}{{"a message", idle, withNew}, {"heard", withNew, heard}, {"deleted", heard, idle}} {
		if !mwi.changed(tt.old, tt.cur) || dialog.changed(tt.old, tt.cur) || presence.changed(tt.old, tt.cur) {
			t.Errorf("%s: want a change for message-summary only", tt.name)
		}
	}
}

func FuzzSubscribeEventHeaders(f *testing.F) {
	for _, s := range []string{"dialog", "presence;id=1", " Dialog ; ID = x ", ";;;", "a=b;id", "application/pidf+xml;q=0.1, */*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		name, id := parseEvent(v)
		if strings.ContainsAny(name, ";") || strings.ContainsAny(id, ";") {
			t.Errorf("parseEvent(%q) = %q, %q: a parameter leaked", v, name, id)
		}
		if lookupEventPackage(name) != nil && name != "dialog" && name != "presence" && name != "message-summary" {
			t.Errorf("package %q served", name)
		}
		// Accept never panics, and a list naming the type accepts it.
		accepts([]string{v}, contentTypePIDF)
		if !accepts([]string{v + "," + contentTypePIDF}, contentTypePIDF) {
			t.Errorf("Accept %q plus the type itself refused", v)
		}
	})
}
