package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// Sentinel errors of a send; the SMTP server's own answers come wrapped as
// *textproto.Error with its code and text.
var (
	// ErrNotConfigured: mail settings are off or incomplete.
	ErrNotConfigured = errors.New("e-mail is not configured")
	// ErrNoSTARTTLS: security is starttls but the server does not offer it.
	ErrNoSTARTTLS = errors.New("server does not offer STARTTLS")
	// ErrNoAuth: a username is set but the server offers no mechanism we speak.
	ErrNoAuth = errors.New("server offers no supported authentication (PLAIN, LOGIN)")
)

// sendTimeout bounds one whole SMTP conversation.
const sendTimeout = 2 * time.Minute

// send delivers one message through the server of cfg, honouring its
// security mode and authenticating when a username is set.
func (m *Mailer) send(ctx context.Context, cfg store.SMTPSettings, msg *message) error {
	if cfg.Host == "" || cfg.From == "" {
		return ErrNotConfigured
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	// The conversation ends with ctx: a stopped mailer does not hang on a
	// silent server.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	tlsCfg := m.tlsConfig(cfg.Host)
	if cfg.Security == store.SMTPSecurityTLS {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("tls with %s: %w", addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(m.hostname); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if cfg.Security == store.SMTPSecuritySTARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return ErrNoSTARTTLS
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if cfg.Username != "" {
		a, err := chooseAuth(c, cfg)
		if err != nil {
			return err
		}
		if err := c.Auth(a); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(msg.To); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := msg.writeTo(w); err != nil {
		return fmt.Errorf("writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	// The message is accepted; a failing QUIT does not undo that.
	_ = c.Quit()
	return nil
}

// tlsConfig returns the TLS settings for a server named host: the Mailer's
// base configuration (tests give their own roots) with the server name set.
func (m *Mailer) tlsConfig(host string) *tls.Config {
	var c *tls.Config
	if m.tls != nil {
		c = m.tls.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	return c
}

// chooseAuth picks PLAIN, else LOGIN, from what the server advertises.
// Both refuse to send the password over an unencrypted connection to a
// host other than localhost (net/smtp's rule for PLAIN).
func chooseAuth(c *smtp.Client, cfg store.SMTPSettings) (smtp.Auth, error) {
	ok, params := c.Extension("AUTH")
	if !ok {
		return nil, ErrNoAuth
	}
	mechs := strings.Fields(strings.ToUpper(params))
	switch {
	case slices.Contains(mechs, "PLAIN"):
		return smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host), nil
	case slices.Contains(mechs, "LOGIN"):
		return &loginAuth{username: cfg.Username, password: cfg.Password, host: cfg.Host}, nil
	}
	return nil, ErrNoAuth
}

// loginAuth is the AUTH LOGIN mechanism (not in net/smtp, still common).
type loginAuth struct {
	username, password, host string
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLocalhost(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(fromServer))) {
	case "username:":
		return []byte(a.username), nil
	case "password:":
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected AUTH LOGIN challenge %q", fromServer)
}

func isLocalhost(name string) bool {
	return name == "localhost" || name == "127.0.0.1" || name == "::1"
}
