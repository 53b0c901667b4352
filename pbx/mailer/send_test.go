package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"

	"github.com/officepbx/pbx/pbx/store"
)

func testMailer(t *testing.T, srv *smtpServer, opts ...Option) *Mailer {
	t.Helper()
	opts = append([]Option{WithTLSConfig(&tls.Config{RootCAs: srv.roots}), WithHostname("pbx.test")}, opts...)
	return New(nil, opts...)
}

func smtpConfig(srv *smtpServer, security string) store.SMTPSettings {
	return store.SMTPSettings{Enabled: true, Host: "127.0.0.1", Port: srv.port(), Security: security,
		Username: "pbx", Password: "secret-pw", From: "pbx@example.com"}
}

// TestSendSecurityModes: STARTTLS and implicit TLS with AUTH PLAIN, and
// none without credentials, each delivering the test mail.
func TestSendSecurityModes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []serverOption
		security string
		user     string
		wantTLS  bool
	}{
		{"starttls", []serverOption{withAuth("pbx", "secret-pw")}, store.SMTPSecuritySTARTTLS, "pbx", true},
		{"implicit tls", []serverOption{withAuth("pbx", "secret-pw"), withImplicitTLS()}, store.SMTPSecurityTLS, "pbx", true},
		{"none", nil, store.SMTPSecurityNone, "", false},
		{"auth login", []serverOption{withAuth("pbx", "secret-pw"), withMechs("LOGIN")}, store.SMTPSecuritySTARTTLS, "pbx", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t, "127.0.0.1:0", tc.opts...)
			m := testMailer(t, srv)
			cfg := smtpConfig(srv, tc.security)
			cfg.Username = tc.user
			if err := m.SendTest(context.Background(), cfg, "anna@example.com"); err != nil {
				t.Fatal(err)
			}
			got := srv.next(t)
			if got.From != "pbx@example.com" || len(got.To) != 1 || got.To[0] != "anna@example.com" ||
				got.TLS != tc.wantTLS || got.Authed != tc.user {
				t.Errorf("received %+v", got)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version"} {
				if msg.Header.Get(h) == "" {
					t.Errorf("no %s header", h)
				}
			}
			if _, err := msg.Header.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	ctx := context.Background()
	// Wrong password: the server's answer is in the error.
	srv := startSMTP(t, "127.0.0.1:0", withAuth("pbx", "right"))
	err := testMailer(t, srv).SendTest(ctx, smtpConfig(srv, store.SMTPSecuritySTARTTLS), "a@example.com")
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 535 || !strings.Contains(err.Error(), "authentication credentials invalid") {
		t.Errorf("wrong password: %v", err)
	}
	// STARTTLS required but not offered.
	srv = startSMTP(t, "127.0.0.1:0", withoutSTARTTLS())
	err = testMailer(t, srv).SendTest(ctx, smtpConfig(srv, store.SMTPSecuritySTARTTLS), "a@example.com")
	if !errors.Is(err, ErrNoSTARTTLS) {
		t.Errorf("no STARTTLS: %v", err)
	}
	// An untrusted certificate is refused.
	srv = startSMTP(t, "127.0.0.1:0")
	err = New(nil).SendTest(ctx, smtpConfig(srv, store.SMTPSecuritySTARTTLS), "a@example.com")
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	// Incomplete settings.
	if err := New(nil).SendTest(ctx, store.SMTPSettings{}, "a@example.com"); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("no host: %v", err)
	}
}

// TestMessageFormat: a multipart message whose attachment decodes back to
// the same bytes, with lines of at most 76 characters.
func TestMessageFormat(t *testing.T) {
	att := make([]byte, 10_000)
	for i := range att {
		att[i] = byte(i * 7)
	}
	m := &message{From: "pbx@example.com", To: "anna@example.com", Subject: "Neue Nachricht für 101",
		MessageID: "x@example.com", Text: "Hello\nworld", AttachName: "voicemail-7.wav", AttachType: "audio/wav",
		Attach: bytes.NewReader(att)}
	var b bytes.Buffer
	if err := m.writeTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(b.String(), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d bytes", len(line))
		}
	}
	parts := parseMultipart(t, b.Bytes())
	if len(parts) != 2 || !strings.Contains(string(parts[0].body), "Hello\r\nworld") || !bytes.Equal(parts[1].body, att) ||
		parts[1].filename != "voicemail-7.wav" || parts[1].contentType != "audio/wav" {
		t.Errorf("parts %+v", parts)
	}
	msg, _ := mail.ReadMessage(bytes.NewReader(b.Bytes()))
	if subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || subj != "Neue Nachricht für 101" {
		t.Errorf("subject %q %v", subj, err)
	}
}

type part struct {
	contentType string
	filename    string
	body        []byte
}

// parseMultipart reads a multipart/mixed mail back, decoding each part.
func parseMultipart(t *testing.T, data []byte) []part {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("content type %q %v", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var out []part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			body, err = io.ReadAll(base64Reader(p))
		} else {
			body, err = io.ReadAll(p) // multipart decodes quoted-printable itself
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out = append(out, part{contentType: ct, filename: p.FileName(), body: body})
	}
}

func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }
