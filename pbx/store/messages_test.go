package store

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestMessagesSaveListDelete(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	mustCreateExt(t, st, newExt("101"))
	mustCreateExt(t, st, newExt("102"))
	base := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	body := []byte("grüße \x00 binary \xff")
	var saved []Message
	for i := 0; i < 5; i++ {
		m := Message{Sender: "101", SenderName: "Alice", Recipient: "102", ContentType: "text/plain;charset=UTF-8",
			Body: append([]byte(strconv.Itoa(i)+" "), body...), CreatedAt: base.Add(time.Duration(i) * time.Minute)}
		if err := st.SaveMessage(ctx, &m, 0); err != nil {
			t.Fatal(err)
		}
		if m.ID == 0 {
			t.Fatal("ID not set")
		}
		saved = append(saved, m)
	}
	other := Message{Sender: "102", Recipient: "101", ContentType: "text/plain"}
	if err := st.SaveMessage(ctx, &other, 0); err != nil {
		t.Fatal(err)
	}
	if other.CreatedAt.IsZero() {
		t.Fatal("CreatedAt not defaulted")
	}

	got, err := st.PendingMessages(ctx, "102", 0, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d messages, want 5", len(got))
	}
	for i, m := range got {
		w := saved[i]
		if m.ID != w.ID || m.Sender != "101" || m.SenderName != "Alice" || m.Recipient != "102" ||
			m.ContentType != w.ContentType || !bytes.Equal(m.Body, w.Body) || !m.CreatedAt.Equal(w.CreatedAt) ||
			m.Attempts != 0 || !m.LastAttemptAt.IsZero() {
			t.Errorf("message %d round trip:\n got %+v\nwant %+v", i, m, w)
		}
	}
	// Paging by ID and filtering out the expired.
	page, err := st.PendingMessages(ctx, "102", saved[1].ID, base.Add(2*time.Minute), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].ID != saved[3].ID || page[1].ID != saved[4].ID {
		t.Fatalf("page after %d since +2m: %+v", saved[1].ID, page)
	}
	empty, err := st.PendingMessages(ctx, "101", 0, time.Time{}, 10)
	if err != nil || len(empty) != 1 || empty[0].SenderName != "" || len(empty[0].Body) != 0 {
		t.Fatalf("101's messages: %+v %v", empty, err)
	}

	at := base.Add(time.Hour)
	if err := st.MessageAttempted(ctx, saved[0].ID, at); err != nil {
		t.Fatal(err)
	}
	if err := st.MessageAttempted(ctx, saved[0].ID, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, _ = st.PendingMessages(ctx, "102", 0, time.Time{}, 1)
	if got[0].Attempts != 2 || !got[0].LastAttemptAt.Equal(at.Add(time.Second)) {
		t.Fatalf("after two attempts: %d at %v", got[0].Attempts, got[0].LastAttemptAt)
	}

	if err := st.DeleteMessage(ctx, saved[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMessage(ctx, saved[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if err := st.MessageAttempted(ctx, saved[0].ID, at); !errors.Is(err, ErrNotFound) {
		t.Fatalf("attempt on a deleted message: %v, want ErrNotFound", err)
	}
	got, _ = st.PendingMessages(ctx, "102", 0, time.Time{}, 100)
	if len(got) != 4 || got[0].ID != saved[1].ID {
		t.Fatalf("after delete: %d messages, first %d", len(got), got[0].ID)
	}
}

func TestMessagesLimitPerRecipient(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	mustCreateExt(t, st, newExt("101"))
	mustCreateExt(t, st, newExt("102"))
	for i := 0; i < 3; i++ {
		if err := st.SaveMessage(ctx, &Message{Sender: "101", Recipient: "102", ContentType: "text/plain"}, 3); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	m := Message{Sender: "101", Recipient: "102", ContentType: "text/plain"}
	if err := st.SaveMessage(ctx, &m, 3); !errors.Is(err, ErrMailboxFull) || m.ID != 0 {
		t.Fatalf("fourth message: %v (id %d), want ErrMailboxFull", err, m.ID)
	}
	// The limit is per recipient.
	if err := st.SaveMessage(ctx, &Message{Sender: "102", Recipient: "101", ContentType: "text/plain"}, 3); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.PendingMessages(ctx, "102", 0, time.Time{}, 10); len(got) != 3 {
		t.Fatalf("102 has %d messages, want 3", len(got))
	}
}

func TestMessagesExpireAndCascade(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	mustCreateExt(t, st, newExt("101"))
	mustCreateExt(t, st, newExt("102"))
	mustCreateExt(t, st, newExt("103"))
	now := time.Now()
	for _, m := range []Message{
		{Sender: "101", Recipient: "102", CreatedAt: now.Add(-8 * 24 * time.Hour)},
		{Sender: "101", Recipient: "102", CreatedAt: now.Add(-time.Hour)},
		{Sender: "101", Recipient: "103", CreatedAt: now.Add(-9 * 24 * time.Hour)},
		{Sender: "102", Recipient: "101", CreatedAt: now},
	} {
		m.ContentType = "text/plain"
		if err := st.SaveMessage(ctx, &m, 0); err != nil {
			t.Fatal(err)
		}
	}
	weekAgo := now.Add(-7 * 24 * time.Hour)
	rcpts, err := st.MessageRecipients(ctx, weekAgo)
	if err != nil || len(rcpts) != 2 || rcpts[0] != "101" || rcpts[1] != "102" {
		t.Fatalf("recipients since a week: %v %v", rcpts, err)
	}
	n, err := st.DeleteExpiredMessages(ctx, weekAgo)
	if err != nil || n != 2 {
		t.Fatalf("expired: %d %v, want 2", n, err)
	}
	if all, _ := st.MessageRecipients(ctx, time.Time{}); len(all) != 2 {
		t.Fatalf("after expiry: recipients %v", all)
	}
	// A deleted extension's stored messages go with it.
	if err := st.DeleteExtension(ctx, "102"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.PendingMessages(ctx, "102", 0, time.Time{}, 10); len(got) != 0 {
		t.Fatalf("deleted extension keeps %d messages", len(got))
	}
	// Storing for an extension that does not exist fails.
	if err := st.SaveMessage(ctx, &Message{Sender: "101", Recipient: "999", ContentType: "text/plain"}, 0); err == nil {
		t.Fatal("message for a missing extension stored")
	}
}
