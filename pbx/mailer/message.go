package mailer

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// message is one e-mail: a text body and at most one attachment.
type message struct {
	From, To  string
	Subject   string
	Date      time.Time
	MessageID string // without angle brackets
	Text      string

	AttachName string    // "" for no attachment
	AttachType string    // e.g. audio/wav
	Attach     io.Reader // streamed, base64 encoded
}

// newMessageID returns a unique Message-ID for a mail sent from domain.
func newMessageID(domain string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	if domain == "" {
		domain = "localhost"
	}
	return hex.EncodeToString(b[:]) + "@" + domain
}

// domainOf returns the domain of an address, "" if it has none.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// writeTo writes the message in RFC 5322/MIME form with CRLF line ends:
// multipart/mixed when there is an attachment, else a single text part.
func (m *message) writeTo(w io.Writer) error {
	bw := bufio.NewWriter(w)
	h := func(k, v string) { fmt.Fprintf(bw, "%s: %s\r\n", k, v) }
	h("From", (&mail.Address{Address: m.From}).String())
	h("To", (&mail.Address{Address: m.To}).String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", m.Date.Format(time.RFC1123Z))
	h("Message-ID", "<"+m.MessageID+">")
	h("MIME-Version", "1.0")
	boundary := ""
	if m.AttachName != "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		boundary = "pbx-" + hex.EncodeToString(b[:])
		h("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary}))
		bw.WriteString("\r\nThis is a multi-part message in MIME format.\r\n\r\n--" + boundary + "\r\n")
	}
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	bw.WriteString("\r\n")
	qp := quotedprintable.NewWriter(bw)
	qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	if err := qp.Close(); err != nil {
		return err
	}
	bw.WriteString("\r\n")
	if boundary != "" {
		bw.WriteString("--" + boundary + "\r\n")
		h("Content-Type", mime.FormatMediaType(m.AttachType, map[string]string{"name": m.AttachName}))
		h("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.AttachName}))
		h("Content-Transfer-Encoding", "base64")
		bw.WriteString("\r\n")
		lw := &lineWriter{w: bw}
		enc := base64.NewEncoder(base64.StdEncoding, lw)
		if _, err := io.Copy(enc, m.Attach); err != nil {
			return fmt.Errorf("attachment: %w", err)
		}
		if err := enc.Close(); err != nil {
			return err
		}
		if lw.n > 0 {
			bw.WriteString("\r\n")
		}
		bw.WriteString("--" + boundary + "--\r\n")
	}
	return bw.Flush()
}

// lineWriter breaks base64 output into 76-character lines (RFC 2045).
type lineWriter struct {
	w *bufio.Writer
	n int // characters on the current line
}

func (l *lineWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := min(76-l.n, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		p, l.n = p[k:], l.n+k
		if l.n == 76 {
			if _, err := l.w.WriteString("\r\n"); err != nil {
				return 0, err
			}
			l.n = 0
		}
	}
	return total, nil
}
