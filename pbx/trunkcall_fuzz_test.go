package pbx

import (
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// cancellableTx is a fakeTx whose caller may still CANCEL: the call
// runs to its own end.
type cancellableTx struct{ fakeTx }

func (*cancellableTx) OnCancel(sip.FnTxCancel) bool { return true }

// FuzzTrunkInvite feeds arbitrary bytes that parse as an INVITE through
// the engine as if they came from a trunk's address (so they skip the
// extension challenge and reach the trunk matcher, the DID rule and the
// dial plan of the trunk's context): nothing may panic, and each gets
// exactly one final answer.
func FuzzTrunkInvite(f *testing.F) {
	sdp := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	seeds := []string{
		"INVITE sip:4930123456@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK1\r\nFrom: \"Out\" <sip:+4930555000@prov>;tag=1\r\nTo: <sip:4930123456@pbx>\r\nCall-ID: t1\r\nCSeq: 1 INVITE\r\nContact: <sip:p@198.51.100.7>\r\nContent-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp,
		"INVITE sip:acme@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK2\r\nFrom: <sip:anonymous@anonymous.invalid>;tag=1\r\nTo: <sip:+4930123456@pbx>\r\nCall-ID: t2\r\nCSeq: 1 INVITE\r\nContact: <sip:p@198.51.100.7>\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK3\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:@pbx>\r\nCall-ID: t3\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:9999@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK4\r\nFrom: <sip:1@y>;tag=1\r\nTo: <sip:9999@pbx>\r\nCall-ID: t4\r\nCSeq: 1 INVITE\r\nContact: <sip:p@198.51.100.7>\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	e := newTestEngine(f)
	e.trunks.Sync([]store.Trunk{{Name: "pstn", Host: "198.51.100.7", Port: 5060, Username: "acme",
		Context: "from-pstn", Match: []string{"198.51.100.0/24"}}})
	plan, errs := dialplan.Parse("context internal { }\ncontext from-pstn {\n rule 4930123456 { dial extension:101 }\n rule _9X. { hangup }\n}\n")
	if len(errs) > 0 {
		f.Fatal(errs)
	}
	e.plan.p.Store(plan)
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.Method != sip.INVITE {
			return
		}
		req.SetSource("198.51.100.7:5060")
		req.SetTransport("UDP")
		tx := &cancellableTx{}
		e.handle(e.onInvite)(req, tx)
		final := 0
		for _, r := range tx.responses {
			if r.StatusCode >= 200 {
				final++
			}
		}
		if final != 1 {
			t.Fatalf("INVITE got %d final answers (%d responses)", final, len(tx.responses))
		}
	})
}
