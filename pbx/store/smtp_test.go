package store

import (
	"context"
	"testing"
)

func TestSMTPSettings(t *testing.T) {
	st, _ := openStore(t)
	ctx := context.Background()
	got, err := st.SMTPSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != DefaultSMTPSettings() || got.Port != 587 || got.Security != SMTPSecuritySTARTTLS {
		t.Fatalf("defaults %+v", got)
	}
	var changes []Change
	st.Subscribe(func(c Change) { changes = append(changes, c) })
	want := SMTPSettings{Enabled: true, Host: "mail.example.com", Port: 465, Security: SMTPSecurityTLS,
		Username: "pbx", Password: "s3cret", From: "pbx@example.com"}
	if err := st.SetSMTPSettings(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err = st.SMTPSettings(ctx); err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	if len(changes) != 1 || changes[0] != (Change{Kind: "settings", Key: "smtp"}) {
		t.Errorf("changes %+v", changes)
	}
}
