package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/textproto"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// fakeClock is a manual clock: timers fire when Advance passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	c       chan time.Time
	stopped bool
}

// newFakeClock starts a minute ahead of the wall clock: the store stamps
// queue entries with the wall clock, and they must be due at the start.
func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().Add(time.Minute)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
		t.stopped = true
	} else {
		c.timers = append(c.timers, t)
	}
	return t.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock on and fires the timers now due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			t.c <- c.now
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
}

// vmEnv is a store with extension 201 (e-mail anna@example.com, voicemail
// to e-mail on), mail settings pointing at port, and a mailer on a fake
// clock whose attempts arrive on attempts.
type vmEnv struct {
	st       *store.Store
	clock    *fakeClock
	m        *Mailer
	attempts chan Attempt
}

func newVMEnv(t *testing.T, port int, roots *tls.Config) *vmEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "pbx.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, e := range []*store.Extension{
		{Number: "201", Name: "Anna", Email: "anna@example.com", Voicemail: store.Voicemail{Enabled: true, Email: true}},
		{Number: "202", Name: "Bob", Email: "bob@example.com", Voicemail: store.Voicemail{Enabled: true}},
		{Number: "203", Name: "Carl", Voicemail: store.Voicemail{Enabled: true, Email: true}},
	} {
		e.Secret, e.AuthAlgorithms, e.RingSeconds, e.Outbound = "secret-"+e.Number, []string{"MD5"}, 20, "internal"
		e.Voicemail.PIN = "1234"
		if err := st.CreateExtension(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetSMTPSettings(ctx, store.SMTPSettings{Enabled: true, Host: "127.0.0.1", Port: port,
		Security: store.SMTPSecuritySTARTTLS, Username: "pbx", Password: "secret-pw", From: "pbx@example.com"}); err != nil {
		t.Fatal(err)
	}
	env := &vmEnv{st: st, clock: newFakeClock(), attempts: make(chan Attempt, 100)}
	env.m = New(st, WithClock(env.clock), WithTLSConfig(roots), WithHostname("pbx.test"),
		WithObserver(func(a Attempt) { env.attempts <- a }))
	return env
}

func (e *vmEnv) start(t *testing.T) {
	t.Helper()
	if err := e.m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.m.Stop)
}

// record leaves a message in mailbox through the store API, as the
// voicemail application does, and returns it with its WAV file's bytes.
func (e *vmEnv) record(t *testing.T, mailbox string) (store.VoicemailMessage, []byte) {
	t.Helper()
	f, err := e.st.CreateVoicemailFile(mailbox)
	if err != nil {
		t.Fatal(err)
	}
	w, err := media.NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, 8000) // a second of a ramp
	for i := range pcm {
		pcm[i] = int16((i%40)*800 - 16000)
	}
	w.WriteAudio(pcm)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m := store.VoicemailMessage{Mailbox: mailbox, Caller: "0301234567", CallerName: "Max Muster", Duration: w.Duration()}
	if err := e.st.CommitVoicemail(context.Background(), f, &m); err != nil {
		t.Fatal(err)
	}
	af, _, err := e.st.OpenVoicemailAudio(context.Background(), mailbox, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	wav, err := io.ReadAll(af)
	if err != nil {
		t.Fatal(err)
	}
	return m, wav
}

func (e *vmEnv) nextAttempt(t *testing.T) Attempt {
	t.Helper()
	select {
	case a := <-e.attempts:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery attempt within 10 s")
		return Attempt{}
	}
}

func (e *vmEnv) item(t *testing.T, id int64) store.MailItem {
	t.Helper()
	it, err := e.st.MailItem(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func rootsOf(srv *smtpServer) *tls.Config { return &tls.Config{RootCAs: srv.roots} }

// checkVoicemailMail parses a delivered mail: headers, the text naming
// caller and extension, and the attachment byte for byte.
func checkVoicemailMail(t *testing.T, got received, m store.VoicemailMessage, wav []byte) {
	t.Helper()
	if got.From != "pbx@example.com" || len(got.To) != 1 || got.To[0] != "anna@example.com" || !got.TLS || got.Authed != "pbx" {
		t.Errorf("envelope %+v", got)
	}
	for _, h := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version"} {
		if headerOf(got.Data, h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	parts := parseMultipart(t, got.Data)
	if len(parts) != 2 {
		t.Fatalf("%d parts", len(parts))
	}
	text := string(parts[0].body)
	for _, want := range []string{"New voicemail from 0301234567 (Max Muster) for extension 201", "received ", "duration 1s"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
	if parts[1].contentType != "audio/wav" || parts[1].filename != "voicemail-"+itoa(m.ID)+".wav" {
		t.Errorf("attachment %s %q", parts[1].contentType, parts[1].filename)
	}
	if len(wav) < 16000 || string(parts[1].body) != string(wav) {
		t.Errorf("attachment of %d bytes differs from the %d-byte WAV", len(parts[1].body), len(wav))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestVoicemailMailed(t *testing.T) {
	srv := startSMTP(t, "127.0.0.1:0", withAuth("pbx", "secret-pw"))
	env := newVMEnv(t, srv.port(), rootsOf(srv))
	env.start(t)
	m, wav := env.record(t, "201")
	checkVoicemailMail(t, srv.next(t), m, wav)
	if a := env.nextAttempt(t); a.Err != nil || a.MessageID != m.ID {
		t.Errorf("attempt %+v", a)
	}
	if it := env.item(t, m.ID); it.SentAt.IsZero() || it.Attempts != 1 {
		t.Errorf("queue entry %+v", it)
	}
	var b strings.Builder
	env.m.WriteMetrics(&b)
	if !strings.Contains(b.String(), "pbx_voicemail_email_sent_total 1\n") || !strings.Contains(b.String(), "pbx_voicemail_email_failures_total 0\n") {
		t.Errorf("metrics:\n%s", b.String())
	}
}

// TestVoicemailRetriedAfter451: the server defers the first DATA; the mail
// is retried after a minute and delivered, and the message stays.
func TestVoicemailRetriedAfter451(t *testing.T) {
	srv := startSMTP(t, "127.0.0.1:0", withAuth("pbx", "secret-pw"))
	srv.failData.Store(1)
	env := newVMEnv(t, srv.port(), rootsOf(srv))
	env.start(t)
	m, wav := env.record(t, "201")

	a := env.nextAttempt(t)
	var te *textproto.Error
	if !errors.As(a.Err, &te) || te.Code != 451 || !a.NextAt.Equal(env.clock.Now().Add(time.Minute)) {
		t.Fatalf("first attempt %+v", a)
	}
	if it := env.item(t, m.ID); it.Attempts != 1 || !strings.Contains(it.LastError, "451") || !it.SentAt.IsZero() {
		t.Errorf("after the failure %+v", it)
	}
	if _, err := env.st.GetVoicemail(context.Background(), "201", m.ID); err != nil {
		t.Errorf("message after a mail failure: %v", err)
	}
	env.clock.Advance(time.Minute)
	checkVoicemailMail(t, srv.next(t), m, wav)
	if a := env.nextAttempt(t); a.Err != nil {
		t.Errorf("second attempt %v", a.Err)
	}
	if it := env.item(t, m.ID); it.Attempts != 2 || it.SentAt.IsZero() {
		t.Errorf("after delivery %+v", it)
	}
	if _, err := env.st.GetVoicemail(context.Background(), "201", m.ID); err != nil {
		t.Errorf("message after delivery: %v", err)
	}
}

// freePort returns a loopback port nobody listens on (for now).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestVoicemailServerDownThenUp: connection refused twice (backoff 1 min,
// then 2), then the server is up and the mail goes.
func TestVoicemailServerDownThenUp(t *testing.T) {
	port := freePort(t)
	cert, roots := testCert(t)
	env := newVMEnv(t, port, &tls.Config{RootCAs: roots})
	env.start(t)
	m, wav := env.record(t, "201")
	a := env.nextAttempt(t)
	if a.Err == nil || !a.NextAt.Equal(env.clock.Now().Add(time.Minute)) {
		t.Fatalf("attempt 1 %+v", a)
	}
	env.clock.Advance(time.Minute)
	a = env.nextAttempt(t)
	if a.Err == nil || !a.NextAt.Equal(env.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("attempt 2 %+v", a)
	}
	srv := startSMTP(t, "127.0.0.1:"+itoa(int64(port)), withAuth("pbx", "secret-pw"), withCert(cert, roots))
	env.clock.Advance(2 * time.Minute)
	checkVoicemailMail(t, srv.next(t), m, wav)
	if a := env.nextAttempt(t); a.Err != nil {
		t.Errorf("attempt 3 %v", a.Err)
	}
	var b strings.Builder
	env.m.WriteMetrics(&b)
	if !strings.Contains(b.String(), "pbx_voicemail_email_failures_total 2\n") {
		t.Errorf("metrics:\n%s", b.String())
	}
}

// TestVoicemailQueuedWhileStopped: a message stored while the mailer is not
// running is mailed when it starts (the queue is in the database).
func TestVoicemailQueuedWhileStopped(t *testing.T) {
	srv := startSMTP(t, "127.0.0.1:0", withAuth("pbx", "secret-pw"))
	env := newVMEnv(t, srv.port(), rootsOf(srv))
	m, wav := env.record(t, "201")
	env.start(t)
	checkVoicemailMail(t, srv.next(t), m, wav)
}

// TestNoMailUnlessAskedFor: no e-mail with e-mail off, for an extension
// without the flag, or without an address.
func TestNoMailUnlessAskedFor(t *testing.T) {
	srv := startSMTP(t, "127.0.0.1:0", withAuth("pbx", "secret-pw"))
	env := newVMEnv(t, srv.port(), rootsOf(srv))
	env.start(t)
	ctx := context.Background()
	cfg, _ := env.st.SMTPSettings(ctx)
	cfg.Enabled = false
	if err := env.st.SetSMTPSettings(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	off, _ := env.record(t, "201")
	noFlag, _ := env.record(t, "202")
	cfg.Enabled = true
	if err := env.st.SetSMTPSettings(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	noAddr, _ := env.record(t, "203")
	for _, m := range []store.VoicemailMessage{off, noFlag, noAddr} {
		if _, err := env.st.MailItem(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("message %d of %s queued: %v", m.ID, m.Mailbox, err)
		}
	}
	// The next mail to arrive is the one asked for.
	m, wav := env.record(t, "201")
	checkVoicemailMail(t, srv.next(t), m, wav)
}

// TestVoicemailGiveUp: after a day of failures the item is given up, the
// message kept, and nothing more is scheduled.
func TestVoicemailGiveUp(t *testing.T) {
	port := freePort(t)
	env := newVMEnv(t, port, &tls.Config{})
	env.start(t)
	m, _ := env.record(t, "201")
	start := env.item(t, m.ID).CreatedAt
	var waits []time.Duration
	for i := 0; ; i++ {
		a := env.nextAttempt(t)
		if a.Err == nil {
			t.Fatal("delivered to nobody")
		}
		if a.NextAt.IsZero() {
			break
		}
		if i > 100 {
			t.Fatal("never gave up")
		}
		d := a.NextAt.Sub(env.clock.Now())
		waits = append(waits, d)
		env.clock.Advance(d)
	}
	if env.clock.Now().Sub(start) < giveUpAge || waits[0] != time.Minute || waits[1] != 2*time.Minute || waits[6] != time.Hour {
		t.Errorf("gave up after %v; waits %v", env.clock.Now().Sub(start), waits)
	}
	if it := env.item(t, m.ID); it.GaveUpAt.IsZero() {
		t.Errorf("entry %+v", it)
	}
	if _, err := env.st.GetVoicemail(context.Background(), "201", m.ID); err != nil {
		t.Errorf("message after giving up: %v", err)
	}
	if _, ok, _ := env.st.NextMailDue(context.Background()); ok {
		t.Error("still scheduled")
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute,
		6: 32 * time.Minute, 7: time.Hour, 30: time.Hour} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}
