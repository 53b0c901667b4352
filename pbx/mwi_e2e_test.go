package pbx_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// leaveMessage stores a one-second voicemail in box through the store,
// as the voicemail application does, and returns it.
func leaveMessage(t *testing.T, p *pbxtest.PBX, box, caller string) *store.VoicemailMessage {
	t.Helper()
	st := p.App.Store
	f, err := st.CreateVoicemailFile(box)
	if err != nil {
		t.Fatal(err)
	}
	if err := media.WriteWAV(f, make([]int16, 8000)); err != nil {
		t.Fatal(err)
	}
	m := &store.VoicemailMessage{Mailbox: box, Caller: caller, ReceivedAt: time.Now(), Duration: time.Second}
	if err := st.CommitVoicemail(ctx(t), f, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// wantMWI checks a message-summary NOTIFY's counts and account.
func wantMWI(t *testing.T, n pbxtest.Notify, box string, waiting bool, newMsgs, oldMsgs int) {
	t.Helper()
	if n.MessagesWaiting != waiting || n.NewMessages != newMsgs || n.OldMessages != oldMsgs ||
		!strings.HasPrefix(n.Account, "sip:"+box+"@") || n.ContentType != "application/simple-message-summary" ||
		n.State != "active" {
		t.Fatalf("NOTIFY %s, waiting %v %d/%d, account %q, type %q; want active, %v %d/%d for %s\n%s",
			n.State, n.MessagesWaiting, n.NewMessages, n.OldMessages, n.Account, n.ContentType,
			waiting, newMsgs, oldMsgs, box, n.Body)
	}
	if ev := n.Request.GetHeader("Event"); ev == nil || !strings.HasPrefix(ev.Value(), "message-summary") {
		t.Errorf("NOTIFY Event %v, want message-summary", ev)
	}
}

// TestMWISubscribe follows a phone's own mailbox through its
// message-summary subscription: empty, a new message, heard, deleted,
// then unsubscribed. The phone gets no unsolicited NOTIFY besides.
func TestMWISubscribe(t *testing.T) {
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			p := pbxtest.Start(t)
			b := phone(t, p, p.CreateExtension("102", withBox), pbxtest.WithTransport(tp))
			sub := subscribe(t, b, "102", "message-summary", 600)
			if h := sub.Response.GetHeader("Expires"); h == nil || h.Value() != "600" {
				t.Errorf("200 to SUBSCRIBE: Expires %v, want 600", h)
			}
			w := watch(t, sub)
			n := w.next()
			wantMWI(t, n, "102", false, 0, 0)
			if n.Expires < 590 || n.Expires > 600 {
				t.Errorf("first NOTIFY expires %d", n.Expires)
			}
			if tp == "tcp" && n.Request.Transport() != "TCP" {
				t.Errorf("NOTIFY came over %s, want the subscriber's TCP", n.Request.Transport())
			}

			m := leaveMessage(t, p, "102", "101")
			wantMWI(t, w.next(), "102", true, 1, 0)
			if err := p.App.Store.SetVoicemailRead(ctx(t), "102", m.ID, true); err != nil {
				t.Fatal(err)
			}
			wantMWI(t, w.next(), "102", false, 0, 1)
			if err := p.App.Store.DeleteVoicemail(ctx(t), "102", m.ID); err != nil {
				t.Fatal(err)
			}
			wantMWI(t, w.next(), "102", false, 0, 0)

			// A message for another box is not this phone's business.
			p.CreateExtension("103", withBox)
			leaveMessage(t, p, "103", "101")
			m = leaveMessage(t, p, "102", "103")
			wantMWI(t, w.next(), "102", true, 1, 0)

			if err := sub.Unsubscribe(ctx(t)); err != nil {
				t.Fatal(err)
			}
			n = w.next()
			if n.State != "terminated" || n.Reason != "timeout" || n.NewMessages != 1 {
				t.Errorf("final NOTIFY %s;reason=%s %d/%d", n.State, n.Reason, n.NewMessages, n.OldMessages)
			}
			// Subscribed from the address it registered from, the phone
			// was told through its subscription only.
			if k := b.UnsolicitedNotifies(); k != 0 {
				t.Errorf("%d unsolicited NOTIFYs besides the subscription's", k)
			}
			// Unsubscribed, it is told like a phone that never subscribed.
			if err := p.App.Store.DeleteVoicemail(ctx(t), "102", m.ID); err != nil {
				t.Fatal(err)
			}
			n, err := b.WaitUnsolicitedNotify(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			wantMWI(t, n, "102", false, 0, 0)
		})
	}
}

// TestMWIUnsolicited: phones that never subscribe get an out-of-dialog
// NOTIFY at their registered contact when their box's counts change, and
// when they register anew while the box holds messages; an empty box
// sends nothing on registration.
func TestMWIUnsolicited(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("101", withBox)
	a := phone(t, p, ext)
	next := func(ua *pbxtest.UA) pbxtest.Notify {
		t.Helper()
		n, err := ua.WaitUnsolicitedNotify(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	first := leaveMessage(t, p, "101", "102")
	n := next(a) // the first thing a gets: nothing came when it registered
	wantMWI(t, n, "101", true, 1, 0)
	if to := n.Request.To(); to == nil || to.Params.Has("tag") {
		t.Errorf("unsolicited NOTIFY To %v: want no tag (no dialog)", to)
	}
	if n.Request.Recipient.User != "101" {
		t.Errorf("unsolicited NOTIFY to %s, want the registered contact", n.Request.Recipient.String())
	}
	if err := p.App.Store.SetVoicemailRead(ctx(t), "101", first.ID, true); err != nil {
		t.Fatal(err)
	}
	wantMWI(t, next(a), "101", false, 0, 1)
	leaveMessage(t, p, "101", "103")
	wantMWI(t, next(a), "101", true, 1, 1)

	// A second phone of the extension registers (a rebooted desk phone
	// looks the same): it is told at once; the first is not told again.
	a2 := phone(t, p, ext, pbxtest.WithTransport("tcp"))
	n = next(a2)
	wantMWI(t, n, "101", true, 1, 1)
	if n.Request.Transport() != "TCP" {
		t.Errorf("unsolicited NOTIFY over %s, want the phone's TCP", n.Request.Transport())
	}
	// A refresh of a registration is no reboot: nothing is sent.
	if res, err := a2.Register(ctx(t), 300); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("refresh: %v %v", res, err)
	}
	if err := p.App.Store.DeleteVoicemail(ctx(t), "101", first.ID); err != nil {
		t.Fatal(err)
	}
	wantMWI(t, next(a), "101", true, 1, 0)
	wantMWI(t, next(a2), "101", true, 1, 0)
	if k1, k2 := a.UnsolicitedNotifies(), a2.UnsolicitedNotifies(); k1 != 0 || k2 != 0 {
		t.Errorf("unread unsolicited NOTIFYs: %d, %d; want none", k1, k2)
	}
}

// TestMWISubscribeOtherBox: a phone may watch its own box only.
func TestMWISubscribeOtherBox(t *testing.T) {
	p, a, _ := twoPhones(t)
	res, err := a.Do(ctx(t), func() *sip.Request { return a.SubscribeRequest("102", "message-summary", 600) })
	mustCode(t, res, err, sip.StatusForbidden)
	if !strings.Contains(res.Reason, "mailbox") {
		t.Errorf("403 reason %q", res.Reason)
	}
	if subs := p.App.Engine.Subscriptions(); len(subs) != 0 {
		t.Errorf("subscriptions %+v, want none", subs)
	}
	// No Accept means the package's own type; a wrong one is refused.
	res, err = a.Do(ctx(t), func() *sip.Request {
		req := a.SubscribeRequest("101", "message-summary", 600)
		req.ReplaceHeader(sip.NewHeader("Accept", "application/dialog-info+xml"))
		return req
	})
	mustCode(t, res, err, sip.StatusNotAcceptable)
}

// TestMWIThroughAPI: marking a message read and deleting it through the
// REST API light and clear the lamp of a subscribed phone.
func TestMWIThroughAPI(t *testing.T) {
	p := pbxtest.Start(t)
	b := phone(t, p, p.CreateExtension("102", withBox))
	w := watch(t, subscribe(t, b, "102", "message-summary", 600))
	wantMWI(t, w.next(), "102", false, 0, 0)
	m := leaveMessage(t, p, "102", "101")
	wantMWI(t, w.next(), "102", true, 1, 0)
	path := "/api/v1/voicemail/102/messages/" + strconv.FormatInt(m.ID, 10)
	if code, out := p.Do(http.MethodPatch, path, map[string]any{"read": true}); code != http.StatusOK {
		t.Fatalf("mark read: %d %s", code, out)
	}
	wantMWI(t, w.next(), "102", false, 0, 1)
	if code, out := p.Do(http.MethodDelete, path, nil); code/100 != 2 {
		t.Fatalf("delete: %d %s", code, out)
	}
	wantMWI(t, w.next(), "102", false, 0, 0)
}

// withBox turns the extension's voicemail box on (the test kit's are off).
var withBox = map[string]any{"voicemail": map[string]any{"enabled": true}}
