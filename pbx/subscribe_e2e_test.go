package pbx_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
)

// notifySeq reads a subscription's NOTIFYs and checks that CSeq and the
// dialog-info version go up by one each time.
type notifySeq struct {
	t       *testing.T
	sub     *pbxtest.Subscription
	last    *pbxtest.Notify
	history []string
}

func watch(t *testing.T, sub *pbxtest.Subscription) *notifySeq { return &notifySeq{t: t, sub: sub} }

// next returns the next NOTIFY.
func (s *notifySeq) next() pbxtest.Notify {
	s.t.Helper()
	n, err := s.sub.WaitNotify(ctx(s.t))
	if err != nil {
		s.t.Fatalf("%v (NOTIFYs so far: %v)", err, s.history)
	}
	s.history = append(s.history, n.State+"/"+n.Dialog+n.Basic+"/"+n.Note)
	if s.last != nil {
		if n.CSeq <= s.last.CSeq {
			s.t.Errorf("NOTIFY CSeq %d after %d", n.CSeq, s.last.CSeq)
		}
		if s.sub.Event == "dialog" && n.Version != s.last.Version+1 {
			s.t.Errorf("dialog-info version %d after %d, want one more", n.Version, s.last.Version)
		}
	}
	s.last = &n
	return n
}

// dialog waits for the next NOTIFY and checks the BLF state it shows.
func (s *notifySeq) dialog(state, direction string) pbxtest.Notify {
	s.t.Helper()
	n := s.next()
	if n.State != "active" || n.Dialog != state || n.Direction != direction {
		s.t.Fatalf("NOTIFY %s, dialog %q direction %q; want active, %q %q\n%s", n.State, n.Dialog, n.Direction, state, direction, n.Body)
	}
	return n
}

// presence waits for the next NOTIFY and checks the presence it shows.
func (s *notifySeq) presence(basic, note string, onThePhone bool) pbxtest.Notify {
	s.t.Helper()
	n := s.next()
	if n.State != "active" || n.Basic != basic || n.Note != note || n.OnThePhone != onThePhone {
		s.t.Fatalf("NOTIFY %s, presence %q %q on-the-phone %v; want active, %q %q %v\n%s",
			n.State, n.Basic, n.Note, n.OnThePhone, basic, note, onThePhone, n.Body)
	}
	return n
}

func subscribe(t *testing.T, ua *pbxtest.UA, number, event string, expires int) *pbxtest.Subscription {
	t.Helper()
	sub, err := ua.Subscribe(ctx(t), number, event, expires)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// TestBLFDialogStates follows a call on the BLF of both its ends: idle,
// early (ringing), confirmed (talking), idle again, in that order, to a
// subscriber on UDP and on TCP.
func TestBLFDialogStates(t *testing.T) {
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			p, a, b := twoPhones(t)
			c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithTransport(tp))
			sub102 := subscribe(t, c, "102", "dialog", 600)
			res := sub102.Response
			if tag, _ := res.To().Params.Get("tag"); tag == "" || res.Contact() == nil {
				t.Errorf("200 to SUBSCRIBE: To %v, Contact %v; want a tag and a Contact", res.To(), res.Contact())
			}
			if h := res.GetHeader("Expires"); h == nil || h.Value() != "600" {
				t.Errorf("200 to SUBSCRIBE: Expires %v, want 600", h)
			}
			callee := watch(t, sub102)
			n := callee.dialog("idle", "")
			if n.Expires < 590 || n.Expires > 600 || n.ContentType != "application/dialog-info+xml" ||
				!strings.Contains(string(n.Body), `entity="sip:102@`) || !strings.Contains(string(n.Body), `state="full"`) {
				t.Errorf("first NOTIFY: expires %d, type %q, body\n%s", n.Expires, n.ContentType, n.Body)
			}
			if tp == "tcp" && n.Request.Transport() != "TCP" {
				t.Errorf("NOTIFY came over %s, want the subscriber's TCP", n.Request.Transport())
			}
			caller := watch(t, subscribe(t, c, "101", "dialog", 600))
			caller.dialog("idle", "")

			b.SetPolicy(pbxtest.Policy{RingFor: time.Second})
			call, err := a.Invite(ctx(t), "102")
			if err != nil {
				t.Fatal(err)
			}
			n = callee.dialog("early", "recipient")
			if !strings.HasPrefix(n.Remote, "sip:101@") || !strings.Contains(string(n.Body), `display="Test 101"`) {
				t.Errorf("ringing BLF names the caller %q:\n%s", n.Remote, n.Body)
			}
			caller.dialog("early", "initiator")
			callee.dialog("confirmed", "recipient")
			caller.dialog("confirmed", "initiator")
			if code, err := call.WaitFinal(ctx(t)); err != nil || code != sip.StatusOK {
				t.Fatalf("call: %v %d", err, code)
			}
			answered, err := b.NextCall(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := answered.Hangup(ctx(t)); err != nil {
				t.Fatal(err)
			}
			callee.dialog("idle", "")
			caller.dialog("idle", "")
		})
	}
}

// TestPresenceStates follows an extension's presence: closed while no
// phone is registered, open when one is, on the phone during a call,
// closed on do-not-disturb (set through the API), closed when it leaves.
func TestPresenceStates(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil))
	ext102 := p.CreateExtension("102", nil)
	c := phone(t, p, p.CreateExtension("103", nil))
	s := watch(t, subscribe(t, c, "102", "presence", 600))
	n := s.presence("closed", "Not registered", false)
	if n.ContentType != "application/pidf+xml" || !strings.Contains(string(n.Body), `entity="sip:102@`) {
		t.Errorf("presence NOTIFY %q:\n%s", n.ContentType, n.Body)
	}

	b := phone(t, p, ext102)
	s.presence("open", "Available", false)

	b.SetPolicy(pbxtest.Policy{RingFor: time.Second})
	caller, callee := connect(t, a, b, "102")
	s.presence("open", "Ringing", false)
	s.presence("open", "On the phone", true)
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	s.presence("open", "Available", false)

	if code, body := p.Do(http.MethodPatch, "/api/v1/extensions/102", map[string]any{"dnd": true}); code != http.StatusOK {
		t.Fatalf("set DND: %d %s", code, body)
	}
	s.presence("closed", "Do not disturb", false)
	if code, body := p.Do(http.MethodPatch, "/api/v1/extensions/102", map[string]any{"dnd": false}); code != http.StatusOK {
		t.Fatalf("clear DND: %d %s", code, body)
	}
	s.presence("open", "Available", false)

	res, err := b.Unregister(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	s.presence("closed", "Not registered", false)
}

// shortSubscriptions lets subscriptions be as short as a second.
func shortSubscriptions() pbxtest.Option {
	return pbxtest.WithConfig(func(c *app.Config) {
		c.TuneSIP = func(sc *pbx.Config) { sc.Subscriptions.MinExpires = time.Second }
	})
}

func TestSubscribeRefreshAndExpiry(t *testing.T) {
	p := pbxtest.Start(t, shortSubscriptions())
	phone(t, p, p.CreateExtension("102", nil))
	c := phone(t, p, p.CreateExtension("103", nil))

	// A refresh within the dialog extends the subscription and sends the
	// full state again.
	kept := watch(t, subscribe(t, c, "102", "dialog", 2))
	if n := kept.dialog("idle", ""); n.Expires < 1 || n.Expires > 2 {
		t.Errorf("first NOTIFY expires=%d, want 2", n.Expires)
	}
	res, err := kept.sub.Refresh(ctx(t), 120)
	mustCode(t, res, err, sip.StatusOK)
	if h := res.GetHeader("Expires"); h == nil || h.Value() != "120" {
		t.Errorf("refresh granted Expires %v, want 120", h)
	}
	if n := kept.dialog("idle", ""); n.Expires < 110 || n.Expires > 120 {
		t.Errorf("NOTIFY after refresh expires=%d, want 120", n.Expires)
	}

	// One not refreshed ends with a NOTIFY terminated;reason=timeout.
	lapsed := watch(t, subscribe(t, c, "102", "presence", 1))
	lapsed.presence("open", "Available", false)
	if n := lapsed.next(); n.State != "terminated" || n.Reason != "timeout" || n.Basic != "open" {
		t.Errorf("after expiry: NOTIFY %s;reason=%s basic %q, want terminated;reason=timeout with the state", n.State, n.Reason, n.Basic)
	}
	res, err = lapsed.sub.Refresh(ctx(t), 60)
	mustCode(t, res, err, sip.StatusCallTransactionDoesNotExists)
	if subs := p.App.Engine.Subscriptions(); len(subs) != 1 || subs[0].Event != "dialog" || subs[0].Subscriber != "103" || subs[0].Target != "102" {
		t.Errorf("live subscriptions %+v, want the refreshed one only", subs)
	}

	// Durations are capped at an hour.
	capped := subscribe(t, c, "102", "dialog", 7200)
	if h := capped.Response.GetHeader("Expires"); h == nil || h.Value() != "3600" {
		t.Errorf("granted Expires %v, want 3600", h)
	}
}

func TestSubscribeUnsubscribe(t *testing.T) {
	p, _, _ := twoPhones(t)
	c := phone(t, p, p.CreateExtension("103", nil))
	s := watch(t, subscribe(t, c, "102", "dialog", 600))
	s.dialog("idle", "")
	if err := s.sub.Unsubscribe(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := s.next(); n.State != "terminated" || n.Dialog != "idle" {
		t.Errorf("after unsubscribe: NOTIFY %s with dialog %q, want terminated with the state", n.State, n.Dialog)
	}
	if subs := p.App.Engine.Subscriptions(); len(subs) != 0 {
		t.Errorf("live subscriptions after unsubscribe: %+v", subs)
	}
	res, err := s.sub.Refresh(ctx(t), 600)
	mustCode(t, res, err, sip.StatusCallTransactionDoesNotExists)

	// Expires: 0 on a new subscription fetches the state once.
	f := watch(t, subscribe(t, c, "101", "presence", 0))
	if n := f.next(); n.State != "terminated" || n.Basic != "open" {
		t.Errorf("fetch: NOTIFY %s basic %q, want terminated with the state", n.State, n.Basic)
	}

	// Deleting the extension watched ends its subscriptions.
	d := watch(t, subscribe(t, c, "101", "dialog", 600))
	d.dialog("idle", "")
	if code, body := p.Do(http.MethodDelete, "/api/v1/extensions/101", nil); code != http.StatusNoContent {
		t.Fatalf("delete extension: %d %s", code, body)
	}
	if n := d.next(); n.State != "terminated" || n.Reason != "noresource" {
		t.Errorf("after deleting the extension: NOTIFY %s;reason=%s, want terminated;reason=noresource", n.State, n.Reason)
	}
}

// TestSubscribeDroppedWhenPhoneForgets: a NOTIFY answered 481 ends the
// subscription at the PBX.
func TestSubscribeDroppedWhenPhoneForgets(t *testing.T) {
	p, _, _ := twoPhones(t)
	c := phone(t, p, p.CreateExtension("103", nil))
	s := watch(t, subscribe(t, c, "102", "presence", 600))
	s.presence("open", "Available", false)
	s.sub.AnswerNotify(sip.StatusCallTransactionDoesNotExists)
	before := c.Received(sip.NOTIFY)
	if code, body := p.Do(http.MethodPatch, "/api/v1/extensions/102", map[string]any{"dnd": true}); code != http.StatusOK {
		t.Fatalf("set DND: %d %s", code, body)
	}
	waitNoSubscriptions(t, p, "its NOTIFY got 481")
	if c.Received(sip.NOTIFY) != before+1 {
		t.Errorf("NOTIFYs %d -> %d, want one (refused)", before, c.Received(sip.NOTIFY))
	}
	res, err := s.sub.Refresh(ctx(t), 600)
	mustCode(t, res, err, sip.StatusCallTransactionDoesNotExists)
}

// TestSubscribeAfterRestart: subscriptions live in memory; a PBX that
// stops tells its subscribers to come back later, and a refresh after the
// restart gets 481, so the phone subscribes again.
func TestSubscribeAfterRestart(t *testing.T) {
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			p, _, _ := twoPhones(t)
			c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithTransport(tp))
			s := watch(t, subscribe(t, c, "102", "dialog", 600))
			s.dialog("idle", "")
			p.Restart()
			n := s.next()
			if n.State != "terminated" || n.Reason != "probation" || !strings.Contains(n.Request.GetHeader("Subscription-State").Value(), "retry-after=") {
				t.Errorf("at shutdown: NOTIFY %q, want terminated;reason=probation;retry-after=N", n.Request.GetHeader("Subscription-State").Value())
			}
			res, err := s.sub.Refresh(ctx(t), 600)
			mustCode(t, res, err, sip.StatusCallTransactionDoesNotExists)
			watch(t, subscribe(t, c, "102", "dialog", 600)).dialog("idle", "")
		})
	}
}

func TestSubscribeRefused(t *testing.T) {
	p, _, _ := twoPhones(t)
	c := phone(t, p, p.CreateExtension("103", nil))
	header := func(res *sip.Response, name string) string {
		if h := res.GetHeader(name); h != nil {
			return h.Value()
		}
		return ""
	}
	t.Run("no credentials", func(t *testing.T) {
		res, err := c.Send(ctx(t), c.SubscribeRequest("102", "dialog", 600))
		mustCode(t, res, err, sip.StatusProxyAuthRequired)
		if header(res, "Proxy-Authenticate") == "" {
			t.Error("407 without a challenge")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		bad := p.NewUA("103", "not-the-secret")
		res, err := bad.Do(ctx(t), func() *sip.Request { return bad.SubscribeRequest("102", "dialog", 600) })
		mustCode(t, res, err, sip.StatusForbidden)
	})
	t.Run("unknown event", func(t *testing.T) {
		res, err := c.Do(ctx(t), func() *sip.Request { return c.SubscribeRequest("102", "conference", 600) })
		mustCode(t, res, err, 489)
		if got := header(res, "Allow-Events"); got != "dialog, presence, message-summary" {
			t.Errorf("Allow-Events %q", got)
		}
	})
	t.Run("no Event", func(t *testing.T) {
		res, err := c.Do(ctx(t), func() *sip.Request {
			req := c.SubscribeRequest("102", "dialog", 600)
			req.RemoveHeader("Event")
			return req
		})
		mustCode(t, res, err, 489)
	})
	t.Run("body type not accepted", func(t *testing.T) {
		res, err := c.Do(ctx(t), func() *sip.Request {
			req := c.SubscribeRequest("102", "dialog", 600)
			req.ReplaceHeader(sip.NewHeader("Accept", "application/xpidf+xml"))
			return req
		})
		mustCode(t, res, err, sip.StatusNotAcceptable)
		if got := header(res, "Accept"); got != "application/dialog-info+xml" {
			t.Errorf("Accept %q", got)
		}
	})
	t.Run("unknown extension", func(t *testing.T) {
		res, err := c.Do(ctx(t), func() *sip.Request { return c.SubscribeRequest("999", "dialog", 600) })
		mustCode(t, res, err, sip.StatusNotFound)
	})
	t.Run("too brief", func(t *testing.T) {
		res, err := c.Do(ctx(t), func() *sip.Request { return c.SubscribeRequest("102", "presence", 30) })
		mustCode(t, res, err, sip.StatusIntervalToBrief)
		if got := header(res, "Min-Expires"); got != "60" {
			t.Errorf("Min-Expires %q, want 60", got)
		}
	})
	t.Run("unknown dialog", func(t *testing.T) {
		res, err := c.Do(ctx(t), func() *sip.Request {
			req := c.SubscribeRequest("102", "dialog", 600)
			req.To().Params.Add("tag", "made-up")
			return req
		})
		mustCode(t, res, err, sip.StatusCallTransactionDoesNotExists)
	})
	t.Run("OPTIONS advertises it", func(t *testing.T) {
		res, err := c.Options(ctx(t))
		mustCode(t, res, err, sip.StatusOK)
		if !strings.Contains(header(res, "Allow"), "SUBSCRIBE") || header(res, "Allow-Events") != "dialog, presence, message-summary" {
			t.Errorf("OPTIONS: Allow %q, Allow-Events %q", header(res, "Allow"), header(res, "Allow-Events"))
		}
	})
	if subs := p.App.Engine.Subscriptions(); len(subs) != 0 {
		t.Errorf("refused SUBSCRIBEs left subscriptions: %+v", subs)
	}
}

func TestSubscribeLimitPerSubscriber(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) {
		c.TuneSIP = func(sc *pbx.Config) { sc.Subscriptions.MaxPerSubscriber = 2 }
	}))
	phone(t, p, p.CreateExtension("102", nil))
	c := phone(t, p, p.CreateExtension("103", nil))
	first := subscribe(t, c, "102", "dialog", 600)
	// Read the first NOTIFY before unsubscribing: an unsubscribe that
	// comes before it is sent rightly replaces it with the final one.
	w := watch(t, first)
	w.dialog("idle", "")
	subscribe(t, c, "102", "presence", 600)
	res, err := c.Do(ctx(t), func() *sip.Request { return c.SubscribeRequest("102", "dialog", 600) })
	mustCode(t, res, err, sip.StatusForbidden)
	if err := first.Unsubscribe(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := w.next(); n.State != "terminated" { // the slot is free once it is sent
		t.Fatalf("after unsubscribe: NOTIFY %s", n.State)
	}
	// The compact form of Event ("o") is understood too.
	res, err = c.Do(ctx(t), func() *sip.Request {
		req := c.SubscribeRequest("102", "dialog", 600)
		req.RemoveHeader("Event")
		req.AppendHeader(sip.NewHeader("o", "dialog"))
		return req
	})
	mustCode(t, res, err, sip.StatusOK)
}

// TestSubscribeDroppedWhenPhoneGone: a NOTIFY that cannot reach the
// subscriber ends the subscription. The subscriber is a bare TCP
// connection that goes away after the first NOTIFY.
func TestSubscribeDroppedWhenPhoneGone(t *testing.T) {
	p, _, _ := twoPhones(t)
	ext := p.CreateExtension("103", nil)
	creds := p.NewUA("103", ext.Secret) // only signs the requests
	conn, err := net.Dial("tcp", p.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	write := func(m interface {
		String() string
		GetHeader(string) sip.Header
		AppendHeader(sip.Header)
	}) {
		t.Helper()
		if m.GetHeader("Content-Length") == nil {
			m.AppendHeader(sip.NewHeader("Content-Length", "0"))
		}
		if _, err := conn.Write([]byte(m.String())); err != nil {
			t.Fatal(err)
		}
	}
	read := func() sip.Message {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var head strings.Builder
		for !strings.HasSuffix(head.String(), "\r\n\r\n") {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (so far %q)", err, head.String())
			}
			head.WriteString(line)
		}
		n := 0
		for _, l := range strings.Split(head.String(), "\r\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
				n, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(rd, body); err != nil {
			t.Fatal(err)
		}
		m, err := sip.ParseMessage(append([]byte(head.String()), body...))
		if err != nil {
			t.Fatalf("parse %q: %v", head.String(), err)
		}
		return m
	}
	subscribeReq := func() *sip.Request {
		req := creds.SubscribeRequest("102", "presence", 600)
		req.PrependHeader(sip.NewHeader("Via", "SIP/2.0/TCP "+conn.LocalAddr().String()+";rport;branch=z9hG4bK"+sip.GenerateTagN(16)))
		return req
	}
	write(subscribeReq())
	chal, ok := read().(*sip.Response)
	if !ok || chal.StatusCode != sip.StatusProxyAuthRequired {
		t.Fatalf("first answer %v, want 407", chal)
	}
	req := subscribeReq()
	if err := creds.Authorize(req, chal); err != nil {
		t.Fatal(err)
	}
	write(req)
	gotOK, gotNotify := false, false
	for !gotOK || !gotNotify {
		switch m := read().(type) {
		case *sip.Response:
			if m.StatusCode != sip.StatusOK {
				t.Fatalf("SUBSCRIBE answered %d", m.StatusCode)
			}
			gotOK = true
		case *sip.Request:
			if m.Method != sip.NOTIFY {
				t.Fatalf("got %s", m.Method)
			}
			write(sip.NewResponseFromRequest(m, sip.StatusOK, "OK", nil))
			gotNotify = true
		}
	}
	if n := len(p.App.Engine.Subscriptions()); n != 1 {
		t.Fatalf("%d live subscriptions, want 1", n)
	}
	conn.Close() // the phone is gone

	if code, body := p.Do(http.MethodPatch, "/api/v1/extensions/102", map[string]any{"dnd": true}); code != http.StatusOK {
		t.Fatalf("set DND: %d %s", code, body)
	}
	waitNoSubscriptions(t, p, "its subscriber went")
}

// waitNoSubscriptions waits until the PBX has dropped every subscription.
// The PBX acts on a NOTIFY's failure after the phone has seen it, and no
// event tells the test when, so it polls the live list.
func waitNoSubscriptions(t *testing.T, p *pbxtest.PBX, after string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(p.App.Engine.Subscriptions()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("subscription still live after %s: %+v", after, p.App.Engine.Subscriptions())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
