package pbx_test

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// storedMessages reads the messages waiting for number from the database.
func storedMessages(t *testing.T, p *pbxtest.PBX, number string) []store.Message {
	t.Helper()
	ms, err := p.App.Store.PendingMessages(ctx(t), number, 0, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// wantMessage checks a received message's sender, recipient and content.
func wantMessage(t *testing.T, m pbxtest.Message, from, fromName, to, contentType string, body []byte) {
	t.Helper()
	if m.From != from || m.FromName != fromName || m.To != to {
		t.Errorf("message from %q <%s> to %s, want %q <%s> to %s", m.FromName, m.From, m.To, fromName, from, to)
	}
	if m.ContentType != contentType || !bytes.Equal(m.Body, body) {
		t.Errorf("message %s %q, want %s %q", m.ContentType, m.Body, contentType, body)
	}
	if _, err := time.Parse(time.RFC1123, m.Date); err != nil || !strings.HasSuffix(m.Date, " GMT") {
		t.Errorf("Date %q: want an RFC 1123 GMT date (%v)", m.Date, err)
	}
}

func sendOK(t *testing.T, ua *pbxtest.UA, to string, body []byte, want int) {
	t.Helper()
	res, err := ua.SendMessage(ctx(t), to, "text/plain;charset=UTF-8", body)
	mustCode(t, res, err, want)
}

func TestMessageDeliveredToEveryPhone(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil))
	ext := p.CreateExtension("102", nil)
	desk, soft := phone(t, p, ext), phone(t, p, ext)
	// A third phone that refuses does not stop the others getting it.
	refusing := phone(t, p, ext, pbxtest.WithMessageAnswer(sip.StatusTemporarilyUnavailable, 0))

	body := []byte("Grüße aus Köln ✓ — 会議は3時です")
	sendOK(t, a, "102", body, sip.StatusOK)
	for name, ua := range map[string]*pbxtest.UA{"desk": desk, "soft": soft} {
		m, err := ua.WaitMessage(ctx(t))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantMessage(t, m, "101", "Test 101", "102", "text/plain;charset=UTF-8", body)
	}
	waitFor(t, "the refusing phone to be tried", func() bool { return refusing.Received(sip.MESSAGE) == 1 })
	if n := len(refusing.Messages()); n != 0 {
		t.Errorf("refusing phone recorded %d messages", n)
	}
	if n := a.Received(sip.MESSAGE); n != 0 {
		t.Errorf("the sender's phone got %d MESSAGEs", n)
	}
	if ms := storedMessages(t, p, "102"); len(ms) != 0 {
		t.Errorf("a delivered message was stored: %+v", ms)
	}
	if n := desk.Received(sip.MESSAGE) + soft.Received(sip.MESSAGE); n != 2 {
		t.Errorf("phones got %d MESSAGEs, want one each", n)
	}
}

func TestMessageAnsweredAtFirstAcceptance(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil))
	ext := p.CreateExtension("102", nil)
	silent := phone(t, p, ext, pbxtest.WithMessageAnswer(sip.StatusOK, time.Minute))
	quick := phone(t, p, ext)
	start := time.Now()
	sendOK(t, a, "102", []byte("first one wins"), sip.StatusOK)
	// The PBX waits up to 4 s for a silent phone, but not to answer.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("sender waited %v for its 200", d)
	}
	if n := len(quick.Messages()); n != 1 {
		t.Errorf("quick phone has %d messages", n)
	}
	waitFor(t, "the silent phone to be offered it", func() bool { return silent.Received(sip.MESSAGE) == 1 })
	if ms := storedMessages(t, p, "102"); len(ms) != 0 {
		t.Errorf("a delivered message was stored: %d", len(ms))
	}
}

func TestMessageStoredUntilRecipientRegisters(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil))
	ext := p.CreateExtension("102", nil)
	texts := []string{"first", "second: ünïcödé ✓", "third\r\nwith two lines"}
	for _, s := range texts {
		sendOK(t, a, "102", []byte(s), sip.StatusAccepted)
	}
	stored := storedMessages(t, p, "102")
	if len(stored) != len(texts) {
		t.Fatalf("%d messages stored, want %d", len(stored), len(texts))
	}
	for i, m := range stored {
		if string(m.Body) != texts[i] || m.Sender != "101" || m.SenderName != "Test 101" || m.Recipient != "102" ||
			m.ContentType != "text/plain;charset=UTF-8" {
			t.Errorf("stored message %d: %+v", i, m)
		}
	}

	b := phone(t, p, ext)
	for i, s := range texts {
		m, err := b.WaitMessage(ctx(t))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		wantMessage(t, m, "101", "Test 101", "102", "text/plain;charset=UTF-8", []byte(s))
		// The Date is when it was sent, not when it was delivered.
		if d, _ := time.Parse(time.RFC1123, m.Date); !d.Equal(stored[i].CreatedAt.Truncate(time.Second)) {
			t.Errorf("message %d Date %s, want %s", i, m.Date, stored[i].CreatedAt)
		}
	}
	waitFor(t, "delivered messages to leave the database", func() bool { return len(storedMessages(t, p, "102")) == 0 })
	if n := b.Received(sip.MESSAGE); n != len(texts) {
		t.Errorf("phone got %d MESSAGEs, want %d", n, len(texts))
	}
}

func TestMessageStoredSurvivesRestart(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil))
	ext := p.CreateExtension("102", nil)
	sendOK(t, a, "102", []byte("before the restart"), sip.StatusAccepted)
	p.Restart()
	b := phone(t, p, ext)
	m, err := b.WaitMessage(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	wantMessage(t, m, "101", "Test 101", "102", "text/plain;charset=UTF-8", []byte("before the restart"))
	waitFor(t, "the delivered message to leave the database", func() bool { return len(storedMessages(t, p, "102")) == 0 })
}

func TestMessageRefusedIsRetried(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil))
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithMessageAnswer(sip.StatusTemporarilyUnavailable, 0))

	// The phone is registered but refuses: the message is stored.
	sendOK(t, a, "102", []byte("one"), sip.StatusAccepted)
	if n := b.Received(sip.MESSAGE); n != 1 {
		t.Fatalf("phone was offered %d MESSAGEs, want 1", n)
	}
	if ms := storedMessages(t, p, "102"); len(ms) != 1 || string(ms[0].Body) != "one" {
		t.Fatalf("stored: %+v", ms)
	}
	// A new message for a recipient with messages waiting queues behind
	// them, and every phone is offered the queue again, in order.
	b.SetMessageAnswer(sip.StatusOK, 0)
	sendOK(t, a, "102", []byte("two"), sip.StatusAccepted)
	for _, want := range []string{"one", "two"} {
		m, err := b.WaitMessage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Body) != want {
			t.Fatalf("got %q, want %q", m.Body, want)
		}
	}
	waitFor(t, "the queue to empty", func() bool { return len(storedMessages(t, p, "102")) == 0 })

	// A refused message is offered again when the phone registers again.
	c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithMessageAnswer(sip.StatusBusyHere, 0))
	sendOK(t, a, "103", []byte("three"), sip.StatusAccepted)
	c.SetMessageAnswer(sip.StatusOK, 0)
	r, err := c.Register(ctx(t), 300)
	mustCode(t, r, err, sip.StatusOK)
	m, err := c.WaitMessage(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "three" {
		t.Fatalf("got %q, want the stored message", m.Body)
	}
	waitFor(t, "the delivered message to leave the database", func() bool { return len(storedMessages(t, p, "103")) == 0 })
	if n := c.Received(sip.MESSAGE); n != 2 {
		t.Errorf("phone was offered %d MESSAGEs, want 2 (refused, then on registering)", n)
	}
}

func TestMessageSilentPhoneIsBounded(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil))
	// The phone takes longer than the PBX waits (the sender is waiting).
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithMessageAnswer(sip.StatusTemporarilyUnavailable, time.Minute))
	start := time.Now()
	sendOK(t, a, "102", []byte("anyone there?"), sip.StatusAccepted)
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("sender waited %v", d)
	}
	if ms := storedMessages(t, p, "102"); len(ms) != 1 {
		t.Fatalf("%d messages stored, want 1", len(ms))
	}
	if n := b.Received(sip.MESSAGE); n != 1 {
		t.Errorf("phone was offered %d MESSAGEs, want 1", n)
	}
}

// TestMessageRetransmittedCopyIsAbsorbed sends the same authenticated
// MESSAGE (same branch) three times from a raw socket: while the PBX waits
// for the phone, and after it answered. Only one reaches the phone; the
// last copy gets the 200 again. (The phone answers after 1 s, so the PBX's
// own MESSAGE to it is retransmitted too, at 0.5 s.)
func TestMessageRetransmittedCopyIsAbsorbed(t *testing.T) {
	p := pbxtest.Start(t)
	a101 := p.CreateExtension("101", nil)
	a := p.NewUA("101", a101.Secret)
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithMessageAnswer(sip.StatusOK, time.Second))
	body := []byte("sent three times")
	r, err := a.Send(ctx(t), a.MessageRequest("102", "text/plain", body, "c1@raw", "tag1", 1))
	mustCode(t, r, err, sip.StatusProxyAuthRequired)
	req := a.MessageRequest("102", "text/plain", body, "c2@raw", "tag2", 2)
	if err := a.Authorize(req, r); err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req.PrependHeader(sip.NewHeader("Via", "SIP/2.0/UDP "+conn.LocalAddr().String()+";branch=z9hG4bK"+sip.GenerateTagN(16)+";rport"))
	req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	wire := []byte(req.String())
	to, err := net.ResolveUDPAddr("udp", p.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	send := func() {
		t.Helper()
		if _, err := conn.WriteTo(wire, to); err != nil {
			t.Fatal(err)
		}
	}
	final := func() int {
		t.Helper()
		buf := make([]byte, 65535)
		for {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			msg, err := sip.ParseMessage(buf[:n])
			if err != nil {
				t.Fatalf("parse response: %v", err)
			}
			if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 200 {
				return res.StatusCode
			}
		}
	}
	send()
	waitFor(t, "the phone to be offered the message", func() bool { return b.Received(sip.MESSAGE) == 1 })
	send() // while the PBX waits for the phone's answer
	if code := final(); code != sip.StatusOK {
		t.Fatalf("got %d, want 200", code)
	}
	send() // after the answer: the transaction answers again
	if code := final(); code != sip.StatusOK {
		t.Fatalf("copy after the answer got %d, want the 200 again", code)
	}
	if n, got := b.Received(sip.MESSAGE), len(b.Messages()); n != 1 || got != 1 {
		t.Errorf("phone was offered %d MESSAGEs and kept %d, want 1", n, got)
	}
}

func TestMessageRefusals(t *testing.T) {
	p := pbxtest.Start(t)
	a101 := p.CreateExtension("101", nil)
	a := phone(t, p, a101)
	b := phone(t, p, p.CreateExtension("102", nil))
	tcp := p.NewUA("101", a101.Secret, pbxtest.WithTransport("tcp"))
	text := []byte("hello")

	// No credentials: challenged like an INVITE.
	r, err := a.Send(ctx(t), a.MessageRequest("102", "text/plain", text, "m1@test", "tag1", 1))
	mustCode(t, r, err, sip.StatusProxyAuthRequired)
	if r.GetHeader("Proxy-Authenticate") == nil {
		t.Error("407 without Proxy-Authenticate")
	}

	tests := []struct {
		name        string
		ua          *pbxtest.UA
		to, ctype   string
		body        []byte
		want        int
		wantsReason string
	}{
		{"wrong password", p.NewUA("101", "not-the-secret"), "102", "text/plain", text, sip.StatusForbidden, ""},
		{"From not an extension", p.NewUA("alice", "x"), "102", "text/plain", text, sip.StatusForbidden, "From"},
		{"unknown number", a, "999", "text/plain", text, sip.StatusNotFound, ""},
		{"not a number", a, "bob", "text/plain", text, sip.StatusNotFound, ""},
		{"no Content-Type", a, "102", "", text, sip.StatusBadRequest, "Content-Type"},
		{"empty body", a, "102", "text/plain", nil, sip.StatusBadRequest, "body"},
		{"body over 32 KiB", tcp, "102", "text/plain", bytes.Repeat([]byte("x"), 32<<10+1), sip.StatusRequestEntityTooLarge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.ua.SendMessage(ctx(t), tc.to, tc.ctype, tc.body)
			mustCode(t, r, err, tc.want)
			if !strings.Contains(r.Reason, tc.wantsReason) {
				t.Errorf("reason %q does not mention %q", r.Reason, tc.wantsReason)
			}
		})
	}
	if n := b.Received(sip.MESSAGE); n != 0 {
		t.Errorf("recipient got %d MESSAGEs", n)
	}
	if ms := storedMessages(t, p, "102"); len(ms) != 0 {
		t.Errorf("refused messages were stored: %d", len(ms))
	}
	// OPTIONS tells phones that MESSAGE is supported.
	r, err = a.Options(ctx(t))
	mustCode(t, r, err, sip.StatusOK)
	if h := r.GetHeader("Allow"); h == nil || !strings.Contains(h.Value(), "MESSAGE") {
		t.Errorf("Allow: %v, want MESSAGE listed", h)
	}
}

func TestMessageTooLargeForUDPGoesOverTCP(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTransport("tcp"))
	ext := p.CreateExtension("102", nil)
	udp := phone(t, p, ext)
	tcp := phone(t, p, ext, pbxtest.WithTransport("tcp"))
	// Exactly the limit is fine. Over UDP sipgo sends nothing above 1300
	// bytes; the PBX tries TCP to the UDP phone's address, where this test
	// phone does not listen.
	big := bytes.Repeat([]byte("ü"), 16<<10)
	sendOK(t, a, "102", big, sip.StatusOK)
	m, err := tcp.WaitMessage(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	wantMessage(t, m, "101", "Test 101", "102", "text/plain;charset=UTF-8", big)
	if n := udp.Received(sip.MESSAGE); n != 0 {
		t.Errorf("UDP phone got %d MESSAGEs", n)
	}

	// With only a UDP phone, such a message waits for a phone that takes it.
	udpOnly := phone(t, p, p.CreateExtension("103", nil))
	sendOK(t, a, "103", big, sip.StatusAccepted)
	if ms := storedMessages(t, p, "103"); len(ms) != 1 || !bytes.Equal(ms[0].Body, big) {
		t.Fatalf("stored %d messages", len(ms))
	}
	// A small message queues behind it, and still reaches the phone: the
	// big one does not make the phone look unreachable.
	sendOK(t, a, "103", []byte("small"), sip.StatusAccepted)
	m, err = udpOnly.WaitMessage(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "small" {
		t.Fatalf("got %q", m.Body)
	}
	waitFor(t, "the big message to count an attempt", func() bool {
		ms := storedMessages(t, p, "103")
		return len(ms) == 1 && ms[0].Attempts == 1
	})
}

func TestMessageExpiredIsNotDelivered(t *testing.T) {
	p := pbxtest.Start(t)
	p.CreateExtension("101", nil)
	ext := p.CreateExtension("102", nil)
	for _, m := range []store.Message{
		{Body: []byte("eight days old"), CreatedAt: time.Now().Add(-8 * 24 * time.Hour)},
		{Body: []byte("an hour old"), CreatedAt: time.Now().Add(-time.Hour)},
	} {
		m.Sender, m.SenderName, m.Recipient, m.ContentType = "101", "Test 101", "102", "text/plain"
		if err := p.App.Store.SaveMessage(ctx(t), &m, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Written behind the running PBX's back: a restart finds them.
	p.Restart()
	b := phone(t, p, ext)
	m, err := b.WaitMessage(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "an hour old" {
		t.Fatalf("got %q, want only the message within the 7 days", m.Body)
	}
	waitFor(t, "both messages to leave the database", func() bool { return len(storedMessages(t, p, "102")) == 0 })
	if n := b.Received(sip.MESSAGE); n != 1 {
		t.Errorf("phone got %d MESSAGEs, want 1", n)
	}
}
