package pbx

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzUncredentialedInvite checks the byte scan that sends an INVITE to
// the stateless challenge against sipgo's parser: whatever it accepts
// parses (when it parses) as a request whose To has no tag and without
// credentials, and a stateless ACK's To tag (when its To parses) is the stateless one.
func FuzzUncredentialedInvite(f *testing.F) {
	f.Add([]byte("INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:2@h>;tag=a\r\nTo: <sip:1@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("INVITE sip:1@h SIP/2.0\r\nt: <sip:1@h>;TAG=x\r\n\r\n"))
	f.Add([]byte("INVITE sip:1@h SIP/2.0\r\nTo: <sip:1@h>\r\n ;tag=x\r\nProxy-Authorization: Digest x\r\n\r\n"))
	f.Add([]byte("ACK sip:1@h SIP/2.0\r\nTo: <sip:1@h>;tag=sl-pbx-00\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ok, ack := uncredentialedInvite(data), statelessAck(data)
		msg, err := sip.NewParser().ParseSIP(data)
		if err != nil {
			return
		}
		req, isReq := msg.(*sip.Request)
		if !isReq {
			return
		}
		if ok {
			if to := req.To(); (to != nil && to.Params.Has("tag")) ||
				req.GetHeader("Proxy-Authorization") != nil || req.GetHeader("Authorization") != nil {
				t.Fatalf("taken as a first INVITE without credentials:\n%q", data)
			}
		}
		if ack {
			// (An ACK whose To does not parse is dropped either way.)
			if to := req.To(); to != nil {
				if tag, _ := to.Params.Get("tag"); !strings.HasPrefix(tag, "sl-pbx-") {
					t.Fatalf("taken as a stateless ACK with To tag %q:\n%q", tag, data)
				}
			}
		}
	})
}
