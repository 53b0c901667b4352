package pbx

import (
	"encoding/xml"
	"fmt"
)

// contentTypeDialogInfo is the body type of the dialog event package.
const contentTypeDialogInfo = "application/dialog-info+xml"

// dialogInfo is an RFC 4235 dialog-info document. The PBX always sends
// full state: one <dialog> per call of the extension, none when it is idle.
type dialogInfo struct {
	XMLName xml.Name         `xml:"urn:ietf:params:xml:ns:dialog-info dialog-info"`
	Version uint32           `xml:"version,attr"`
	State   string           `xml:"state,attr"`
	Entity  string           `xml:"entity,attr"`
	Dialogs []dialogInfoElem `xml:"dialog"`
}

type dialogInfoElem struct {
	ID        string           `xml:"id,attr"`
	Direction string           `xml:"direction,attr,omitempty"`
	State     string           `xml:"state"`
	Local     *dialogInfoParty `xml:"local,omitempty"`
	Remote    *dialogInfoParty `xml:"remote,omitempty"`
}

type dialogInfoParty struct {
	Identity dialogInfoIdentity `xml:"identity"`
	Target   *dialogInfoTarget  `xml:"target,omitempty"`
}

type dialogInfoIdentity struct {
	Display string `xml:"display,attr,omitempty"`
	URI     string `xml:",chardata"`
}

type dialogInfoTarget struct {
	URI string `xml:"uri,attr"`
}

// buildDialogInfo renders the dialog-info document of an extension:
// entity is its AOR (sip:NNN@host), host the domain of the parties' URIs.
func buildDialogInfo(entity, host string, version uint32, st extState) ([]byte, error) {
	doc := dialogInfo{Version: version, State: "full", Entity: entity}
	for _, d := range st.dialogs {
		remote := "sip:" + d.remote + "@" + host
		doc.Dialogs = append(doc.Dialogs, dialogInfoElem{
			ID: d.id, Direction: d.direction, State: d.state,
			Local:  &dialogInfoParty{Identity: dialogInfoIdentity{URI: entity}, Target: &dialogInfoTarget{URI: entity}},
			Remote: &dialogInfoParty{Identity: dialogInfoIdentity{Display: d.remoteName, URI: remote}, Target: &dialogInfoTarget{URI: remote}},
		})
	}
	body, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dialog-info: %w", err)
	}
	return append([]byte(xml.Header), append(body, '\n')...), nil
}
