package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestMailQueueTrigger: a new message is queued with the message itself
// only when e-mail is on and its extension asks for it and has an address.
func TestMailQueueTrigger(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	yes := newExt("201")
	yes.Email, yes.Voicemail.Email = "anna@example.com", true
	noFlag := newExt("202")
	noFlag.Email = "bob@example.com"
	noAddr := newExt("203")
	noAddr.Voicemail.Email = true
	for _, e := range []*Extension{yes, noFlag, noAddr} {
		mustCreateExt(t, s, e)
	}
	at := time.Now()

	// E-mail off: nothing queued.
	m0 := mustRecord(t, s, "201", "300", 800, at)
	if _, err := s.MailItem(ctx, m0.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("queued with e-mail off: %v", err)
	}
	// A broken settings row must not fail a message.
	if err := s.SetSetting(ctx, "smtp", "{not json"); err != nil {
		t.Fatal(err)
	}
	mustRecord(t, s, "201", "300", 800, at)

	cfg := DefaultSMTPSettings()
	cfg.Enabled = true
	if err := s.SetSMTPSettings(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	m1 := mustRecord(t, s, "201", "300", 800, at)
	m2 := mustRecord(t, s, "202", "300", 800, at)
	m3 := mustRecord(t, s, "203", "300", 800, at)
	it, err := s.MailItem(ctx, m1.ID)
	if err != nil || it.Recipient != "anna@example.com" || it.Mailbox != "201" || it.Attempts != 0 {
		t.Fatalf("queued %+v, %v", it, err)
	}
	for _, m := range []VoicemailMessage{m2, m3} {
		if _, err := s.MailItem(ctx, m.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("message of %s queued: %v", m.Mailbox, err)
		}
	}
	// Idempotent.
	if queued, err := s.EnqueueMail(ctx, m1.ID, "201", "x@example.com", at); err != nil || queued {
		t.Errorf("enqueue again: %v %v", queued, err)
	}
	// Deleting the message drops its entry.
	if err := s.DeleteVoicemail(ctx, "201", m1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MailItem(ctx, m1.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("entry kept after delete: %v", err)
	}
}

func TestMailQueueStates(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("201"))
	t0 := time.UnixMilli(time.Now().UnixMilli()).UTC()
	a := mustRecord(t, s, "201", "300", 800, t0)
	b := mustRecord(t, s, "201", "301", 800, t0)
	for _, m := range []VoicemailMessage{a, b} {
		if queued, err := s.EnqueueMail(ctx, m.ID, "201", "anna@example.com", t0); err != nil || !queued {
			t.Fatalf("enqueue: %v %v", queued, err)
		}
	}
	due, err := s.DueMail(ctx, t0, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due %+v %v", due, err)
	}
	if next, ok, err := s.NextMailDue(ctx); err != nil || !ok || !next.Equal(t0) {
		t.Errorf("next due %v %v %v", next, ok, err)
	}
	retry := t0.Add(time.Minute)
	if err := s.MailFailed(ctx, a.ID, t0, "451 try later", retry); err != nil {
		t.Fatal(err)
	}
	if err := s.MailSent(ctx, b.ID, t0); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueMail(ctx, t0, 10); len(due) != 0 {
		t.Errorf("due before the retry: %+v", due)
	}
	due, _ = s.DueMail(ctx, retry, 10)
	if len(due) != 1 || due[0].MessageID != a.ID || due[0].Attempts != 1 || due[0].LastError != "451 try later" {
		t.Errorf("due at retry: %+v", due)
	}
	// New settings make it due at once.
	if n, err := s.RetryMailNow(ctx, t0); err != nil || n != 1 {
		t.Errorf("retry now: %d %v", n, err)
	}
	// Given up: never due again, kept for the record; the message stays.
	if err := s.MailFailed(ctx, a.ID, retry, "550 no", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.NextMailDue(ctx); ok {
		t.Error("something still due")
	}
	it, _ := s.MailItem(ctx, a.ID)
	if it.GaveUpAt.IsZero() || it.Attempts != 2 {
		t.Errorf("given up %+v", it)
	}
	if _, err := s.GetVoicemail(ctx, "201", a.ID); err != nil {
		t.Errorf("message after mail failures: %v", err)
	}
	if it, _ := s.MailItem(ctx, b.ID); it.SentAt.IsZero() || it.Attempts != 1 {
		t.Errorf("sent %+v", it)
	}
}
