package pbx_test

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// Tones that tell who is heard in trunk calls (none near the ringback's
// 440 and 480 Hz, which a caller waiting for an answer hears).
const (
	officeTone   = 1300 // the extension's phone
	providerTone = 1000 // the far end, behind the provider
	ivrTone      = 700  // the IVR's greeting
)

// trunkPBX starts a PBX with a test provider on loopback (a UA that
// challenges INVITEs with 407 for acme/s3cret and answers with
// providerTone) and the IP trunk "pstn" pointing at it: caller ID
// 4930123456, inbound context from-pstn, requests from the provider's
// address matched to the trunk; and IVR menu 500 (greeting ivrTone, key
// 1 to extension 102, whose phone is the third result).
func trunkPBX(t *testing.T, plan string) (*pbxtest.PBX, *pbxtest.UA, *pbxtest.UA) {
	t.Helper()
	p := pbxtest.Start(t)
	prov := p.NewUA("acme", "s3cret", pbxtest.WithTone(providerTone))
	prov.SetPolicy(pbxtest.Policy{Challenge: sip.StatusProxyAuthRequired})
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/trunks", map[string]any{"name": "pstn", "host": "127.0.0.1",
		"port": prov.Port(), "username": "acme", "secret": "s3cret", "from_user": "4930123456",
		"context": "from-pstn", "match": []string{prov.Addr()}})
	b := classPhone(t, p, "102", "internal")
	p.MustUploadPrompt("menu", pbxtest.ToneWAV(ivrTone, 20))
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/ivrs", map[string]any{"number": "500", "name": "Main",
		"greeting": "menu", "options": map[string]string{"1": "extension:102"}, "timeout_s": 5})
	if code, out := p.PutDialplan(plan); code != http.StatusOK {
		t.Fatalf("PUT dial plan: %d %s", code, out)
	}
	// The engine follows the trunk change on its own goroutine.
	pbxtest.WaitFor(t, "trunk known to the engine", func() bool {
		_, ok := p.App.Engine.Trunks().Trunk("pstn")
		return ok
	})
	return p, prov, b
}

// classPhone creates extension number with outbound class class and
// registers a phone for it.
func classPhone(t *testing.T, p *pbxtest.PBX, number, class string) *pbxtest.UA {
	t.Helper()
	ext := p.CreateExtension(number, map[string]any{"outbound": class})
	ua := p.NewUA(ext.Number, ext.Secret, pbxtest.WithTone(officeTone))
	res, err := ua.Register(ctxFor(t, 10*time.Second), 300)
	if err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("register %s: %v %v", number, res, err)
	}
	return ua
}

const outboundPlan = `context internal {
    rule 112, 911 {
        dial trunk:pstn:${number}
    }
    rule _9X., _9+. {
        strip 1
        dial trunk:pstn:${number}
    }
}
context from-pstn {
    rule 4930123456 {
        dial ivr:500
    }
    rule 4930123499 {
        dial trunk:pstn:0301112222
    }
    rule _X. {
        goto internal
    }
}
`

// An outbound call: 9 + number leaves through the trunk without the 9,
// the provider's 407 is answered with the trunk's credentials, From and
// P-Asserted-Identity carry the office's number, the provider's early
// media (183 with SDP) reaches the caller before the answer, audio flows
// both ways, a BYE from either side ends both, and each call has a CDR.
func TestTrunkOutboundCall(t *testing.T) {
	p, prov, _ := trunkPBX(t, outboundPlan)
	prov.SetPolicy(pbxtest.Policy{Challenge: sip.StatusProxyAuthRequired, EarlyMedia: true, RingFor: 1500 * time.Millisecond})
	office := classPhone(t, p, "101", "national")

	for _, byeFrom := range []string{"caller", "provider"} {
		call, err := office.Invite(ctxFor(t, 10*time.Second), "903012345678")
		if err != nil {
			t.Fatal(err)
		}
		in, err := prov.NextCall(ctxFor(t, 10*time.Second))
		if err != nil {
			t.Fatalf("the provider got no call: %v", err)
		}
		inv := in.Invite
		if inv.Recipient.User != "03012345678" {
			t.Errorf("provider's Request-URI %s, want the number without the 9", inv.Recipient.String())
		}
		if h := inv.GetHeader("Proxy-Authorization"); h == nil || !strings.Contains(h.Value(), `username="acme"`) {
			t.Errorf("INVITE reached the provider without the trunk's credentials: %v", h)
		}
		if u := inv.From().Address.User; u != "4930123456" {
			t.Errorf("From user %q, want the trunk's caller ID 4930123456", u)
		}
		if h := inv.GetHeader("P-Asserted-Identity"); h == nil || !strings.Contains(h.Value(), "sip:4930123456@") {
			t.Errorf("P-Asserted-Identity %v, want the office's number", h)
		}
		if u := inv.To().Address.User; u != "03012345678" {
			t.Errorf("To user %q", u)
		}
		// Early media: the caller hears the far end before the answer.
		if err := call.WaitHeard(ctxFor(t, 5*time.Second), providerTone, 1000); err != nil {
			t.Fatalf("no early media from the provider: %v", err)
		}
		if call.Status() != 0 {
			t.Fatalf("early media heard only after the final response %d", call.Status())
		}
		if code, err := call.WaitFinal(ctxFor(t, 10*time.Second)); err != nil || code != sip.StatusOK {
			t.Fatalf("call through the trunk: %d %v", code, err)
		}
		if err := in.WaitHeard(ctxFor(t, 5*time.Second), officeTone, 1000); err != nil {
			t.Errorf("the far end does not hear the office: %v", err)
		}
		if err := call.Listen(ctxFor(t, 5*time.Second), 30); err != nil {
			t.Fatal(err)
		}
		if call.Heard(providerTone) < 1000 {
			t.Errorf("the office does not hear the far end after the answer (%.0f)", call.Heard(providerTone))
		}
		if byeFrom == "caller" {
			if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			if err := in.WaitEnded(ctxFor(t, 5*time.Second)); err != nil {
				t.Errorf("the provider got no BYE: %v", err)
			}
		} else {
			if err := in.Hangup(ctxFor(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			if err := call.WaitEnded(ctxFor(t, 5*time.Second)); err != nil {
				t.Errorf("the office phone got no BYE: %v", err)
			}
		}
		cdr := p.LastCDR(ctxFor(t, 10*time.Second))
		if cdr.Caller != "101" || cdr.Callee != "903012345678" || cdr.Disposition != "answered" {
			t.Errorf("CDR after BYE from the %s: %+v", byeFrom, cdr)
		}
	}
	_, body := p.Do(http.MethodGet, "/metrics", nil)
	if !strings.Contains(string(body), `pbx_trunk_calls_total{trunk="pstn",direction="outbound"} 2`) {
		t.Errorf("metrics lack the two outbound trunk calls:\n%s", grepLines(string(body), "pbx_trunk_call"))
	}
}

// outside is the number of the outside caller the provider's calls come
// from.
var outside = pbxtest.WithFrom("4930555000")

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Outbound classes at the trunk: an internal extension cannot call out
// (403, CDR), not even with the dial plan's help, but reaches the
// emergency number; a local one cannot dial a national number; an
// international one dials everything.
func TestTrunkOutboundClasses(t *testing.T) {
	p, prov, _ := trunkPBX(t, outboundPlan)
	internal := classPhone(t, p, "103", "internal")
	local := classPhone(t, p, "104", "local")
	intl := classPhone(t, p, "105", "international")
	for _, tc := range []struct {
		ua     *pbxtest.UA
		number string
		want   int
	}{
		{internal, "95551234", sip.StatusForbidden},
		{internal, "911", sip.StatusOK},
		{local, "95551234", sip.StatusOK},
		{local, "903012345678", sip.StatusForbidden},
		{local, "90044207946000", sip.StatusForbidden},
		{intl, "90044207946000", sip.StatusOK},
		{intl, "9+44207946000", sip.StatusOK},
	} {
		before := prov.Received(sip.INVITE)
		call, err := tc.ua.Dial(ctxFor(t, 10*time.Second), tc.number)
		if err != nil {
			t.Fatalf("%s dials %s: %v", tc.ua.User, tc.number, err)
		}
		if call.Status() != tc.want {
			t.Errorf("%s dials %s: %d, want %d", tc.ua.User, tc.number, call.Status(), tc.want)
		}
		if tc.want == sip.StatusOK {
			in, err := prov.NextCall(ctxFor(t, 5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			_ = in
			call.Hangup(ctxFor(t, 5*time.Second))
		} else if n := prov.Received(sip.INVITE); n != before {
			t.Errorf("%s dials %s: the provider got %d INVITEs of a refused call", tc.ua.User, tc.number, n-before)
		}
		cdr := p.LastCDR(ctxFor(t, 10*time.Second))
		if cdr.Caller != tc.ua.User || cdr.Callee != tc.number {
			t.Errorf("CDR %+v for %s dialling %s", cdr, tc.ua.User, tc.number)
		}
		if tc.want == sip.StatusForbidden && (cdr.Disposition != "failed" || cdr.HangupCause != "outbound class") {
			t.Errorf("refused call's CDR: %+v", cdr)
		}
	}
	// The trace tells the administrator what the trunk will say.
	for _, tc := range []struct{ from, number, want string }{
		{"103", "95551234", "trunk pstn: refused at call time, outbound class may not dial this number: class internal, 5551234 needs local"},
		{"104", "95551234", "trunk pstn: allowed"},
	} {
		code, out := p.Do(http.MethodPost, "/api/v1/dialplan/trace", map[string]any{"number": tc.number, "from": tc.from})
		if code != http.StatusOK || !strings.Contains(string(out), tc.want) {
			t.Errorf("trace of %s from %s: %d %s, want %q", tc.number, tc.from, code, out, tc.want)
		}
	}
	code, out := p.Do(http.MethodPost, "/api/v1/dialplan/trace", map[string]any{"context": "from-pstn", "number": "95551234",
		"from": "4930555000", "trunk": "pstn"})
	if code != http.StatusOK || !strings.Contains(string(out), "trunk to trunk not allowed") {
		t.Errorf("trace of an inbound call back out: %d %s", code, out)
	}
}

// An inbound call from the provider's address is taken as the trunk's
// (no extension challenge), its DID is routed from the trunk's context
// to the IVR menu, whose greeting the caller hears; a source that is no
// trunk's is challenged as before.
func TestTrunkInboundDIDReachesIVR(t *testing.T) {
	p, prov, b := trunkPBX(t, outboundPlan)
	call, err := prov.Dial(ctxFor(t, 10*time.Second), "4930123456", outside)
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("inbound call: %v %d", err, call.Status())
	}
	if err := call.WaitHeard(ctxFor(t, 5*time.Second), ivrTone, 1000); err != nil {
		t.Fatalf("the caller does not hear the IVR: %v", err)
	}
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "1"); err != nil {
		t.Fatal(err)
	}
	in, err := b.NextCall(ctxFor(t, 8*time.Second))
	if err != nil {
		t.Fatalf("the IVR's option did not ring 102: %v", err)
	}
	if u := in.Invite.From().Address.User; u != "4930555000" {
		t.Errorf("102 sees caller %q, want the outside number", u)
	}
	if err := call.WaitHeard(ctxFor(t, 5*time.Second), officeTone, 1000); err != nil {
		t.Errorf("caller: %v", err)
	}
	call.Hangup(ctxFor(t, 5*time.Second))
	cdr := p.LastCDR(ctxFor(t, 10*time.Second))
	// The record follows the call to the extension the menu connected.
	if cdr.Caller != "4930555000" || cdr.Callee != "102" || cdr.Disposition != "answered" {
		t.Errorf("CDR %+v", cdr)
	}
	_, body := p.Do(http.MethodGet, "/metrics", nil)
	if !strings.Contains(string(body), `pbx_trunk_calls_total{trunk="pstn",direction="inbound"} 1`) {
		t.Errorf("metrics:\n%s", grepLines(string(body), "pbx_trunk_call"))
	}

	// Another address is nobody's trunk: an INVITE from it is challenged
	// like any caller claiming to be an extension, and fails.
	stranger := p.NewUA("4930555000", "guess")
	sc, err := stranger.Dial(ctxFor(t, 10*time.Second), "4930123456")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Status() == sip.StatusOK || stranger.Received(sip.INVITE) != 0 {
		t.Errorf("a call from an unknown source got %d", sc.Status())
	}
}

// An extension with max_calls 1 on a call through the trunk cannot place
// a second call (503, CDR "too many calls") and is busy for a call to it
// (486); once the first call ends it calls again. An outside caller whose
// number looks like the extension's uses up nothing.
func TestExtensionCallLimit(t *testing.T) {
	p, prov, b := trunkPBX(t, outboundPlan)
	ext := p.CreateExtension("106", map[string]any{"outbound": "national", "max_calls": 1})
	a := p.NewUA(ext.Number, ext.Secret, pbxtest.WithTone(officeTone))
	if res, err := a.Register(ctxFor(t, 10*time.Second), 300); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("register: %v %v", res, err)
	}
	lookalike, err := prov.Dial(ctxFor(t, 10*time.Second), "4930123456", pbxtest.WithFrom("106"))
	if err != nil || lookalike.Status() != sip.StatusOK {
		t.Fatalf("inbound call from \"106\": %v %d", err, lookalike.Status())
	}
	first, err := a.Dial(ctxFor(t, 10*time.Second), "95551234")
	if err != nil || first.Status() != sip.StatusOK {
		t.Fatalf("first call (an outside caller presenting 106 is on the IVR): %v %d", err, first.Status())
	}
	lookalike.Hangup(ctxFor(t, 5*time.Second))
	if _, err := prov.NextCall(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	second, err := a.Dial(ctxFor(t, 10*time.Second), "102")
	if err != nil {
		t.Fatal(err)
	}
	if second.Status() != sip.StatusServiceUnavailable {
		t.Errorf("second call at the limit: %d, want 503", second.Status())
	}
	// The lookalike's record may be written after this one: its IVR
	// notices the hang-up on its own time.
	var refused *store.CDR
	for _, cdr := range p.CDRs(ctxFor(t, 5*time.Second)) {
		if cdr.Callee == "102" {
			refused = &cdr
			break
		}
	}
	if refused == nil || refused.Caller != "106" || refused.HangupCause != "too many calls" {
		t.Errorf("refused call's CDR: %+v", refused)
	}
	toA, err := b.Dial(ctxFor(t, 10*time.Second), "106")
	if err != nil {
		t.Fatal(err)
	}
	if toA.Status() != sip.StatusBusyHere {
		t.Errorf("call to the extension at its limit: %d, want 486", toA.Status())
	}
	first.Hangup(ctxFor(t, 5*time.Second))
	if err := p.WaitIdle(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	again, err := a.Dial(ctxFor(t, 10*time.Second), "102")
	if err != nil || again.Status() != sip.StatusOK {
		t.Fatalf("call after the first ended: %v %d", err, again.Status())
	}
	again.Hangup(ctxFor(t, 5*time.Second))
}

// A registering trunk's calls are recognised by its host and port alone
// (no match list); a provider that sends calls to the registered contact
// user names the DID in To, which routing then uses.
func TestTrunkInboundRegisteredByHost(t *testing.T) {
	p := pbxtest.Start(t)
	b := classPhone(t, p, "102", "internal")
	prov := p.NewUA("reguser", "s3cret", pbxtest.WithTone(providerTone))
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/trunks", map[string]any{"name": "reg", "host": "127.0.0.1",
		"port": prov.Port(), "username": "reguser", "secret": "s3cret", "register": true, "context": "from-reg"})
	if code, out := p.PutDialplan("context internal { }\ncontext from-reg {\n    rule 4930777777 {\n        dial extension:102\n    }\n}\n"); code != http.StatusOK {
		t.Fatalf("PUT dial plan: %d %s", code, out)
	}
	pbxtest.WaitFor(t, "trunk known to the engine", func() bool {
		_, ok := p.App.Engine.Trunks().Trunk("reg")
		return ok
	})
	call, err := prov.Invite(ctxFor(t, 10*time.Second), "reguser", pbxtest.WithTo("4930777777"), outside)
	if err != nil {
		t.Fatal(err)
	}
	in, err := b.NextCall(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatalf("the DID in To did not reach 102: %v", err)
	}
	if code, err := call.WaitFinal(ctxFor(t, 10*time.Second)); err != nil || code != sip.StatusOK {
		t.Fatalf("inbound call: %d %v", code, err)
	}
	if err := in.WaitHeard(ctxFor(t, 5*time.Second), providerTone, 1000); err != nil {
		t.Errorf("102 does not hear the caller: %v", err)
	}
	if err := call.WaitHeard(ctxFor(t, 5*time.Second), officeTone, 1000); err != nil {
		t.Errorf("the caller does not hear 102: %v", err)
	}
	in.Hangup(ctxFor(t, 5*time.Second))
	if err := call.WaitEnded(ctxFor(t, 5*time.Second)); err != nil {
		t.Errorf("the provider got no BYE: %v", err)
	}
	cdr := p.LastCDR(ctxFor(t, 10*time.Second))
	if cdr.Caller != "4930555000" || cdr.Callee != "4930777777" || cdr.Disposition != "answered" {
		t.Errorf("CDR %+v", cdr)
	}
}

// A call that came in on the trunk cannot leave on it through the
// internal context (goto internal, 9 + number): 403, and the provider
// gets no INVITE back. A rule of the trunk's own context that dials the
// trunk is the explicit exception.
func TestTrunkInboundCannotDialOut(t *testing.T) {
	p, prov, _ := trunkPBX(t, outboundPlan)
	call, err := prov.Dial(ctxFor(t, 10*time.Second), "95551234", outside)
	if err != nil {
		t.Fatal(err)
	}
	if call.Status() != sip.StatusForbidden {
		t.Errorf("inbound call to 9 + number: %d, want 403", call.Status())
	}
	if n := prov.Received(sip.INVITE); n != 0 {
		t.Errorf("the provider got %d INVITEs back", n)
	}
	cdr := p.LastCDR(ctxFor(t, 10*time.Second))
	if cdr.HangupCause != "trunk to trunk" || cdr.Caller != "4930555000" {
		t.Errorf("CDR %+v", cdr)
	}

	// The explicit rule: 4930123499 forwards to 0301112222 outside.
	fwd, err := prov.Invite(ctxFor(t, 10*time.Second), "4930123499", outside)
	if err != nil {
		t.Fatal(err)
	}
	out, err := prov.NextCall(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatalf("the rule of the trunk's context did not call out: %v", err)
	}
	if out.Invite.Recipient.User != "0301112222" {
		t.Errorf("called out to %s", out.Invite.Recipient.User)
	}
	if code, err := fwd.WaitFinal(ctxFor(t, 10*time.Second)); err != nil || code != sip.StatusOK {
		t.Fatalf("call-through: %d %v", code, err)
	}
	fwd.Hangup(ctxFor(t, 5*time.Second))
	if err := p.WaitIdle(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// A registering trunk whose provider starts refusing (403), and later
// stops answering at all, shows "failed" with the reason in GET
// /api/v1/trunks/NAME, and "registered" again each time the provider
// accepts.
func TestTrunkDownAndUpInAPI(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) {
		c.TuneSIP = func(sc *pbx.Config) { sc.TrunkTimeout = 2 * time.Second }
	}))
	prov := newRegistrar(t)
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/trunks", map[string]any{"name": "pstn", "host": "127.0.0.1",
		"port": prov.port, "username": "acme", "secret": "s3cret", "register": true, "expires": 5, "context": "from-pstn"})
	state := func() string {
		_, body := p.Do(http.MethodGet, "/api/v1/trunks/pstn", nil)
		return string(body)
	}
	pbxtest.WaitFor(t, "registered", func() bool { return strings.Contains(state(), `"state":"registered"`) })
	prov.refuse.Store(true)
	pbxtest.WaitFor(t, "failed with the provider's answer", func() bool {
		s := state()
		return strings.Contains(s, `"state":"failed"`) && strings.Contains(s, "403")
	})
	prov.refuse.Store(false)
	pbxtest.WaitFor(t, "registered again", func() bool { return strings.Contains(state(), `"state":"registered"`) })
	prov.silent.Store(true)
	pbxtest.WaitFor(t, "failed: no answer", func() bool {
		s := state()
		return strings.Contains(s, `"state":"failed"`) && strings.Contains(s, "no answer")
	})
	prov.silent.Store(false)
	pbxtest.WaitFor(t, "registered after the silence", func() bool { return strings.Contains(state(), `"state":"registered"`) })
}

// testRegistrar is a provider's registrar on loopback: it challenges
// REGISTER once, accepts it, or refuses every REGISTER with 403 while
// refuse is set; while silent is set it answers nothing.
type testRegistrar struct {
	port   int
	refuse atomic.Bool
	silent atomic.Bool
}

func newRegistrar(t *testing.T) *testRegistrar {
	t.Helper()
	r := &testRegistrar{}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		switch {
		case r.silent.Load():
		case r.refuse.Load():
			tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		case req.GetHeader("Authorization") == nil:
			res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="prov", nonce="n1", algorithm=MD5`))
			tx.Respond(res)
		default:
			res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
			res.AppendHeader(sip.NewHeader("Expires", req.GetHeader("Expires").Value()))
			tx.Respond(res)
		}
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go srv.ServeUDP(conn)
	r.port = conn.LocalAddr().(*net.UDPAddr).Port
	return r
}
