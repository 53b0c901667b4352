package pbx_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// phone creates extension number (unless it exists) and registers a UA for it.
func phone(t *testing.T, p *pbxtest.PBX, ext pbxtest.Extension, opts ...pbxtest.UAOption) *pbxtest.UA {
	t.Helper()
	ua := p.NewUA(ext.Number, ext.Secret, opts...)
	res, err := ua.Register(ctx(t), 300)
	mustCode(t, res, err, sip.StatusOK)
	return ua
}

// twoPhones starts a PBX with extensions 101 and 102 registered: 101
// sends a 440 Hz tone, 102 a 1000 Hz one.
func twoPhones(t *testing.T, opts102 ...pbxtest.UAOption) (*pbxtest.PBX, *pbxtest.UA, *pbxtest.UA) {
	t.Helper()
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440))
	b := phone(t, p, p.CreateExtension("102", nil), append([]pbxtest.UAOption{pbxtest.WithTone(1000)}, opts102...)...)
	return p, a, b
}

// wantCDR checks the newest call record (after the PBX is idle and no
// media port is left allocated).
func wantCDR(t *testing.T, p *pbxtest.PBX, disposition, cause string) store.CDR {
	t.Helper()
	c := p.LastCDR(ctx(t))
	if c.Disposition != disposition || c.HangupCause != cause {
		t.Errorf("CDR %s/%q, want %s/%q", c.Disposition, c.HangupCause, disposition, cause)
	}
	if c.Caller != "101" || c.CallerName != "Test 101" || c.StartedAt.IsZero() || c.EndedAt.Before(c.StartedAt) {
		t.Errorf("CDR caller %q %q, times %v-%v", c.Caller, c.CallerName, c.StartedAt, c.EndedAt)
	}
	return c
}

// hearEachOther checks that both phones hear the other's tone, and not
// their own, through the relay.
func hearEachOther(t *testing.T, caller, callee *pbxtest.Call, callerTone, calleeTone float64) {
	t.Helper()
	for _, c := range []*pbxtest.Call{caller, callee} {
		if err := c.WaitAudio(ctx(t), 40); err != nil {
			t.Fatalf("no audio: %v", err)
		}
	}
	check := func(name string, c *pbxtest.Call, want, own float64) {
		t.Helper()
		w, o := c.Heard(want), c.Heard(own)
		t.Logf("%s: %.0f at %v Hz (the other's tone), %.0f at %v Hz (its own)", name, w, want, o, own)
		if w < 1000 || w < 100*o {
			t.Errorf("%s hears %.0f at %v Hz and %.0f at its own %v Hz: want the other's tone", name, w, want, o, own)
		}
	}
	check("caller", caller, calleeTone, callerTone)
	check("callee", callee, callerTone, calleeTone)
}

// connect has from dial number and waits for to to receive the call:
// the two ends of an answered call.
func connect(t *testing.T, from, to *pbxtest.UA, number string) (caller, callee *pbxtest.Call) {
	t.Helper()
	caller = dialOK(t, from, number)
	callee, err := to.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return caller, callee
}

func dialOK(t *testing.T, ua *pbxtest.UA, number string, opts ...pbxtest.DialOption) *pbxtest.Call {
	t.Helper()
	c, err := ua.Dial(ctx(t), number, opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", number, err)
	}
	if c.Status() != sip.StatusOK {
		t.Fatalf("dial %s: %d, want 200", number, c.Status())
	}
	return c
}

func TestCallBothHearEachOther(t *testing.T) {
	p, a, b := twoPhones(t)
	b.SetPolicy(pbxtest.Policy{RingFor: 100 * time.Millisecond})
	caller, callee := connect(t, a, b, "102")
	if f := callee.From(); f.DisplayName != "Test 101" || f.Address.User != "101" {
		t.Errorf("caller ID %q <%s>, want \"Test 101\" <101>", f.DisplayName, f.Address.User)
	}
	calls := p.App.Engine.Calls()
	if len(calls) != 1 || calls[0].State != pbx.CallAnswered || calls[0].From != "101" || calls[0].To != "102" || len(calls[0].Legs) != 2 {
		t.Errorf("live calls: %+v", calls)
	}
	hearEachOther(t, caller, callee, 440, 1000)
	// Two pairs (one a leg), of as many as the range and the open-file
	// limit allow.
	if n := metricValue(t, p, "pbx_rtp_port_pairs_in_use"); n != 2 {
		t.Errorf("pbx_rtp_port_pairs_in_use = %d with one call up, want 2", n)
	}
	usable, inRange := p.App.Engine.RTPPortCapacity()
	if got := metricValue(t, p, "pbx_rtp_port_pairs_usable"); inRange < 2 || usable > inRange || got != usable {
		t.Errorf("pbx_rtp_port_pairs_usable = %d, want %d (of %d in the range)", got, usable, inRange)
	}
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	c := wantCDR(t, p, store.DispositionAnswered, "caller hung up")
	if c.Callee != "102" || c.AnsweredAt.IsZero() || c.RTPPackets < 80 {
		t.Errorf("CDR callee %q answered %v packets %d", c.Callee, c.AnsweredAt, c.RTPPackets)
	}
}

// A finished call is freed at once, though its INVITE's server
// transaction lives on for keepCompleted (Timer L) to absorb
// retransmissions and its stopped dead-media timer stays in the runtime's
// timer heap until it would have fired: at 1,000 set-ups a second, calls
// kept alive by such callbacks were most of the PBX's heap.
func TestFinishedCallIsFreed(t *testing.T) {
	p, a, b := twoPhones(t)
	caller, callee := connect(t, a, b, "102")
	calls := p.App.Engine.Calls()
	if len(calls) != 1 {
		t.Fatalf("live calls: %+v", calls)
	}
	ref, ok := p.App.Engine.WeakCall(calls[0].ID)
	if !ok {
		t.Fatal("the live call is not in the call table")
	}
	hangUp(t, caller, callee)
	wantCDR(t, p, store.DispositionAnswered, "caller hung up")
	// Well within the 5 s its transaction is kept (without the fix it
	// was freed after exactly those) and the minute of its dead-media
	// timer; in practice within milliseconds.
	pbxtest.WaitWithin(t, "the finished call to be freed (something long-lived holds it)", 3*time.Second, func() bool {
		runtime.GC()
		return ref.Value() == nil
	})
}

func TestCallTranscodesPCMUToPCMA(t *testing.T) {
	p, a, b := twoPhones(t, pbxtest.WithCodecs(pbxtest.PCMA))
	caller := dialOK(t, a, "102", pbxtest.WithOffer(pbxtest.PCMU))
	callee, err := b.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if calls := p.App.Engine.Calls(); len(calls) != 1 || calls[0].Legs[0].Codec != "PCMU" || calls[0].Legs[1].Codec != "PCMA" {
		t.Errorf("legs: %+v, want the caller on PCMU and the callee on PCMA", calls)
	}
	hearEachOther(t, caller, callee, 440, 1000)
	if err := callee.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if !caller.EndedByRemote() {
		t.Error("caller did not receive BYE")
	}
	wantCDR(t, p, store.DispositionAnswered, "callee hung up")
}

func TestCallBusy(t *testing.T) {
	p, a, b := twoPhones(t)
	b.SetPolicy(pbxtest.Policy{Reject: sip.StatusBusyHere})
	c, err := a.Dial(ctx(t), "102")
	if err != nil || c.Status() != sip.StatusBusyHere {
		t.Fatalf("dial: %v %d, want 486", err, c.Status())
	}
	wantCDR(t, p, store.DispositionBusy, "busy")
}

func TestCallNoAnswer(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil))
	b := phone(t, p, p.CreateExtension("102", map[string]any{"ring_seconds": 5}))
	b.SetPolicy(pbxtest.Policy{RingForever: true})
	start := time.Now()
	c, err := a.Dial(ctx(t), "102")
	if err != nil || c.Status() != sip.StatusTemporarilyUnavailable {
		t.Fatalf("dial: %v %d, want 480", err, c.Status())
	}
	if d := time.Since(start); d < 5*time.Second || d > 7*time.Second {
		t.Errorf("rang for %v, want 5 s", d)
	}
	callee, err := b.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := callee.WaitCancelled(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionNoAnswer, "no answer")
}

func TestCallCallerCancels(t *testing.T) {
	p, a, b := twoPhones(t)
	b.SetPolicy(pbxtest.Policy{RingForever: true})
	c, err := a.Invite(ctx(t), "102")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitRinging(ctx(t)); err != nil {
		t.Fatal(err)
	}
	callee, err := b.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if code, err := c.WaitFinal(ctx(t)); err != nil || code != sip.StatusRequestTerminated {
		t.Fatalf("after CANCEL: %v %d, want 487", err, code)
	}
	if err := callee.WaitCancelled(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionNoAnswer, "cancelled")
}

func TestCallFailures(t *testing.T) {
	p, a, _ := twoPhones(t)
	p.CreateExtension("103", nil) // never registers
	garbled := []byte("v=0\r\nthis is not SDP\r\n")
	g729 := []byte("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n")
	tests := []struct {
		name, number string
		opts         []pbxtest.DialOption
		code         int
		cause        string
	}{
		{"unknown number", "999", nil, sip.StatusNotFound, "unknown number"},
		{"not registered", "103", nil, sip.StatusTemporarilyUnavailable, "not registered"},
		{"garbled SDP", "102", []pbxtest.DialOption{pbxtest.WithBody(garbled)}, sip.StatusBadRequest, "bad SDP"},
		{"no usable codec", "102", []pbxtest.DialOption{pbxtest.WithBody(g729)}, sip.StatusNotAcceptableHere, "no common codec"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := a.Dial(ctx(t), tc.number, tc.opts...)
			if err != nil || c.Status() != tc.code {
				t.Fatalf("dial %s: %v %d, want %d", tc.number, err, c.Status(), tc.code)
			}
			cdr := wantCDR(t, p, store.DispositionFailed, tc.cause)
			if cdr.Callee != tc.number {
				t.Errorf("CDR callee %q, want %q", cdr.Callee, tc.number)
			}
		})
	}
}

func TestCallAuthentication(t *testing.T) {
	p, a, _ := twoPhones(t)
	// The UA answers the 407; with a wrong secret the PBX then says 403.
	bad := p.NewUA("101", "wrong secret")
	c, err := bad.Dial(ctx(t), "102")
	if err != nil || c.Status() != sip.StatusForbidden {
		t.Fatalf("dial with a wrong secret: %v %d, want 403", err, c.Status())
	}
	// No credentials at all: the first answer is the 407 challenge.
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "102", Host: "127.0.0.1"})
	res, err := a.Send(ctx(t), inviteWithoutAuth(a, req))
	mustCode(t, res, err, sip.StatusProxyAuthRequired)
	if res.GetHeader("Proxy-Authenticate") == nil {
		t.Error("407 without Proxy-Authenticate")
	}
	if err := p.WaitIdle(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if cdrs := p.CDRs(ctx(t)); len(cdrs) != 0 {
		t.Errorf("unauthenticated attempts wrote CDRs: %+v", cdrs)
	}
}

func inviteWithoutAuth(ua *pbxtest.UA, req *sip.Request) *sip.Request {
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: ua.User, Host: "127.0.0.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "102", Host: "127.0.0.1"}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(sip.GenerateTagN(16))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(sip.NewHeader("Contact", "<"+ua.Contact()+">"))
	return req
}

func TestCallForksToEveryPhone(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440))
	ext := p.CreateExtension("102", nil)
	desk := phone(t, p, ext, pbxtest.WithTone(1000))
	soft := phone(t, p, ext, pbxtest.WithTone(1500))
	desk.SetPolicy(pbxtest.Policy{RingForever: true})
	soft.SetPolicy(pbxtest.Policy{RingFor: 300 * time.Millisecond})
	caller, ringing := connect(t, a, desk, "102")
	answered, err := soft.NextCall(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := ringing.WaitCancelled(ctx(t)); err != nil {
		t.Fatalf("the phone that did not answer: %v", err)
	}
	hearEachOther(t, caller, answered, 440, 1500)
	if caller.Heard(1000) > caller.Heard(1500)/100 {
		t.Error("caller hears the phone that did not answer")
	}
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := answered.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionAnswered, "caller hung up")
}

func TestCallDeadMediaHangsUp(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) {
		c.TuneSIP = func(sc *pbx.Config) { sc.MediaTimeout = time.Second }
	}))
	a := phone(t, p, p.CreateExtension("101", nil))
	b := phone(t, p, p.CreateExtension("102", nil))
	caller, callee := connect(t, a, b, "102")
	if err := caller.WaitAudio(ctx(t), 5); err != nil {
		t.Fatal(err)
	}
	callee.StopMedia() // the callee's phone dies
	for _, c := range []*pbxtest.Call{caller, callee} {
		if err := c.WaitEnded(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if !c.EndedByRemote() {
			t.Error("phone did not receive BYE")
		}
	}
	wantCDR(t, p, store.DispositionAnswered, "media timeout")
}

func TestCallUnknownDialog(t *testing.T) {
	p, a, b := twoPhones(t)
	for _, m := range []sip.RequestMethod{sip.BYE, sip.INFO, sip.INVITE} {
		req := sip.NewRequest(m, sip.Uri{Scheme: "sip", User: "102", Host: "127.0.0.1"})
		inviteWithoutAuth(a, req)
		req.To().Params.Add("tag", "no-such-dialog")
		req.CSeq().MethodName = m
		res, err := a.Send(ctx(t), req)
		mustCode(t, res, err, sip.StatusCallTransactionDoesNotExists)
	}
	// Inside a live call, an INFO goes on to the other phone.
	caller, callee := connect(t, a, b, "102")
	info := sip.NewRequest(sip.INFO, caller.Response().Contact().Address)
	info.AppendHeader(sip.HeaderClone(caller.Invite.From()))
	info.AppendHeader(sip.HeaderClone(caller.Response().To()))
	info.AppendHeader(sip.HeaderClone(caller.Invite.CallID()))
	info.AppendHeader(&sip.CSeqHeader{SeqNo: 50, MethodName: sip.INFO})
	info.AppendHeader(sip.NewHeader("Content-Type", "application/x-test"))
	info.SetBody([]byte("hello"))
	res, err := a.Send(ctx(t), info)
	mustCode(t, res, err, sip.StatusOK)
	if got := callee.Infos(); len(got) != 1 || got[0] != "hello" {
		t.Errorf("callee got INFO %q", got)
	}
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionAnswered, "caller hung up")
}

func TestCallHangupByAPI(t *testing.T) {
	p, a, b := twoPhones(t)
	caller, callee := connect(t, a, b, "102")
	calls := p.App.Engine.Calls()
	if len(calls) != 1 {
		t.Fatalf("live calls: %+v", calls)
	}
	if err := p.App.Engine.Hangup("nope"); err != pbx.ErrCallNotFound {
		t.Errorf("hangup of an unknown call: %v", err)
	}
	if err := p.App.Engine.Hangup(calls[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*pbxtest.Call{caller, callee} {
		if err := c.WaitEnded(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	c := wantCDR(t, p, store.DispositionAnswered, "hung up by administrator")
	if c.CallID != calls[0].ID {
		t.Errorf("CDR call ID %q, want %q", c.CallID, calls[0].ID)
	}
}

func TestCallLateAnswerIsHungUp(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440))
	ext := p.CreateExtension("102", nil)
	uas := []*pbxtest.UA{phone(t, p, ext, pbxtest.WithTone(1000)), phone(t, p, ext, pbxtest.WithTone(1000))}
	caller := dialOK(t, a, "102") // both phones answer at once: one wins
	calls := p.App.Engine.Calls()
	if len(calls) != 1 || len(calls[0].Legs) != 2 {
		t.Fatalf("live calls: %+v", calls)
	}
	var winner, loser *pbxtest.Call
	for _, ua := range uas {
		c, err := ua.NextCall(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if calls[0].Legs[1].Contact == ua.Contact() {
			winner = c
		} else {
			loser = c
		}
	}
	if winner == nil || loser == nil {
		t.Fatalf("bridged leg %+v matches no phone", calls[0].Legs[1])
	}
	code, err := loser.WaitFinal(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the other phone ended with %d", code)
	if code == sip.StatusOK {
		// It answered too late: the PBX ACKs and hangs up.
		if err := loser.WaitEnded(ctx(t)); err != nil {
			t.Fatal(err)
		}
	} else if err := loser.WaitCancelled(ctx(t)); err != nil {
		t.Fatal(err)
	}
	hearEachOther(t, caller, winner, 440, 1000)
	if err := winner.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionAnswered, "callee hung up")
}

// Calls over TCP, over TLS, and between a UDP phone and a TLS phone: the
// PBX reaches each phone over the transport it registered with, and the
// held phone gets its re-INVITE over it too.
func TestCallOverTCPAndTLS(t *testing.T) {
	for _, tc := range []struct{ caller, callee string }{{"tcp", "tcp"}, {"tls", "tls"}, {"udp", "tls"}} {
		t.Run(tc.caller+" to "+tc.callee, func(t *testing.T) {
			p := pbxtest.Start(t, pbxtest.WithTLS())
			a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTransport(tc.caller), pbxtest.WithTone(440))
			b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTransport(tc.callee), pbxtest.WithTone(1000))
			caller, callee := connect(t, a, b, "102")
			hearEachOther(t, caller, callee, 440, 1000)
			res, err := caller.Hold(ctx(t))
			mustCode(t, res, err, sip.StatusOK)
			if d, err := callee.WaitOffered(ctx(t), 1); err != nil || d != pbxtest.SendOnly {
				t.Fatalf("held phone offered %q (%v)", d, err)
			}
			if err := callee.Hangup(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if err := caller.WaitEnded(ctx(t)); err != nil {
				t.Fatal(err)
			}
			wantCDR(t, p, store.DispositionAnswered, "callee hung up")
		})
	}
}

func TestCallEndsOnShutdown(t *testing.T) {
	p, a, b := twoPhones(t)
	caller, callee := connect(t, a, b, "102")
	p.Stop() // hangs up both phones and writes the CDR before closing the database
	for _, c := range []*pbxtest.Call{caller, callee} {
		if err := c.WaitEnded(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	p.Restart()
	cdrs := p.CDRs(ctx(t))
	if len(cdrs) != 1 || cdrs[0].Disposition != store.DispositionAnswered || cdrs[0].HangupCause != "shutdown" {
		t.Fatalf("CDRs after shutdown: %+v", cdrs)
	}
}
