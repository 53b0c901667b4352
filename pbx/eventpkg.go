package pbx

import (
	"slices"
	"strings"
)

// eventPackage is one SIP event package (RFC 6665) the PBX serves as
// notifier: its name in the Event header, the body type of its NOTIFYs,
// and how a resource's state becomes that body. The subscription
// machinery (subscribe.go, notifier.go) knows nothing else about it,
// except that a mailbox package (message-summary) is for the
// subscriber's own box only and needs the box's counts in the state.
type eventPackage struct {
	name        string
	contentType string
	// mailbox marks a package about the resource's voicemail box: only
	// the extension itself may subscribe, and the notifier adds the box's
	// counts to the state it derives.
	mailbox bool
	// render builds the body for the resource number, whose address is
	// entity (sip:NNN@host), at document version (dialog-info counts them).
	render func(entity, host, number string, version uint32, st extState) ([]byte, error)
	// changed reports whether the state moved in a way this package's
	// subscribers see (a registration does not light a BLF lamp).
	changed func(old, cur extState) bool
}

// lookupEventPackage returns the package named name, or nil when the
// PBX does not serve it.
func lookupEventPackage(name string) *eventPackage {
	switch name {
	case "dialog":
		return &eventPackage{name: name, contentType: contentTypeDialogInfo,
			render: func(entity, host, _ string, version uint32, st extState) ([]byte, error) {
				return buildDialogInfo(entity, host, version, st)
			},
			changed: func(old, cur extState) bool { return !slices.Equal(old.dialogs, cur.dialogs) },
		}
	case "presence":
		return &eventPackage{name: name, contentType: contentTypePIDF,
			render: func(entity, _, number string, _ uint32, st extState) ([]byte, error) {
				return buildPIDF(entity, number, st)
			},
			changed: func(old, cur extState) bool {
				b1, n1, p1 := presence(old)
				b2, n2, p2 := presence(cur)
				return b1 != b2 || n1 != n2 || p1 != p2
			},
		}
	case "message-summary":
		return &eventPackage{name: name, contentType: contentTypeMessageSummary, mailbox: true,
			render: func(entity, _, _ string, _ uint32, st extState) ([]byte, error) {
				return buildMessageSummary(entity, st.mailbox), nil
			},
			changed: func(old, cur extState) bool { return old.mailbox != cur.mailbox },
		}
	}
	return nil
}

// allowEvents is the Allow-Events header value: the packages served.
const allowEvents = "dialog, presence, message-summary"

// parseEvent splits an Event header value ("dialog;id=7") into the
// package name and the id parameter.
func parseEvent(v string) (name, id string) {
	parts := strings.Split(v, ";")
	name = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "id") {
			id = strings.TrimSpace(val)
		}
	}
	return name, id
}

// accepts reports whether the Accept header values admit contentType. No
// Accept header means the package's default type (RFC 6665 section 3.1.1).
func accepts(values []string, contentType string) bool {
	if len(values) == 0 {
		return true
	}
	major, _, _ := strings.Cut(contentType, "/")
	for _, v := range values {
		for _, r := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(r, ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			if mt == contentType || mt == "*/*" || mt == major+"/*" {
				return true
			}
		}
	}
	return false
}
