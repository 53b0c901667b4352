package pbx

import (
	"encoding/xml"
	"fmt"
)

// contentTypePIDF is the body type of the presence event package.
const contentTypePIDF = "application/pidf+xml"

// Presence notes, shown by phones and softphones beside the buddy.
const (
	noteAvailable  = "Available"
	noteOnThePhone = "On the phone"
	noteRinging    = "Ringing"
	noteDND        = "Do not disturb"
	noteOffline    = "Not registered"
)

// pidf is an RFC 3863 presence document with the RFC 4480 (RPID)
// on-the-phone activity, which Linphone, Zoiper and desk phones read.
type pidf struct {
	XMLName   xml.Name    `xml:"urn:ietf:params:xml:ns:pidf presence"`
	XmlnsDM   string      `xml:"xmlns:dm,attr"`
	XmlnsRPID string      `xml:"xmlns:rpid,attr"`
	Entity    string      `xml:"entity,attr"`
	Tuple     pidfTuple   `xml:"tuple"`
	Person    *pidfPerson `xml:"dm:person,omitempty"`
}

type pidfTuple struct {
	ID      string `xml:"id,attr"`
	Basic   string `xml:"status>basic"`
	Contact string `xml:"contact,omitempty"`
	Note    string `xml:"note,omitempty"`
}

type pidfPerson struct {
	ID         string         `xml:"id,attr"`
	Activities pidfActivities `xml:"rpid:activities"`
	Note       string         `xml:"dm:note,omitempty"`
}

type pidfActivities struct {
	OnThePhone *struct{} `xml:"rpid:on-the-phone,omitempty"`
	Busy       *struct{} `xml:"rpid:busy,omitempty"`
}

// presence maps an extension's state to PIDF: closed when no phone is
// registered or the extension is on do-not-disturb (it takes no calls),
// else open, with a note and the on-the-phone activity while on a call.
func presence(st extState) (basic, note string, onThePhone bool) {
	switch {
	case !st.registered:
		return "closed", noteOffline, false
	case st.dnd:
		return "closed", noteDND, false
	case st.onCall():
		return "open", noteOnThePhone, true
	case st.ringing():
		return "open", noteRinging, false
	}
	return "open", noteAvailable, false
}

// buildPIDF renders the presence document of an extension; entity is its
// AOR (sip:NNN@host).
func buildPIDF(entity, number string, st extState) ([]byte, error) {
	basic, note, onPhone := presence(st)
	doc := pidf{XmlnsDM: "urn:ietf:params:xml:ns:pidf:data-model", XmlnsRPID: "urn:ietf:params:xml:ns:pidf:rpid",
		Entity: entity, Tuple: pidfTuple{ID: "t" + number, Basic: basic, Contact: entity, Note: note}}
	switch {
	case onPhone:
		doc.Person = &pidfPerson{ID: "p" + number, Activities: pidfActivities{OnThePhone: &struct{}{}}, Note: note}
	case st.registered && st.dnd:
		doc.Person = &pidfPerson{ID: "p" + number, Activities: pidfActivities{Busy: &struct{}{}}, Note: note}
	}
	body, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("pidf: %w", err)
	}
	return append([]byte(xml.Header), append(body, '\n')...), nil
}
