package admin

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// MailTester sends a test e-mail with the given settings (the mailer).
type MailTester interface {
	SendTest(ctx context.Context, cfg store.SMTPSettings, to string) error
}

// Limits of the SMTP settings fields.
const (
	maxHostLen         = 253
	maxSMTPUserLen     = 254
	maxSMTPPasswordLen = 256
)

// smtpJSON is the mail settings as the API shows them: never the password,
// only whether one is stored.
type smtpJSON struct {
	Enabled     bool   `json:"enabled"`
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Security    string `json:"security"`
	Username    string `json:"username"`
	From        string `json:"from"`
	PasswordSet bool   `json:"password_set"`
}

func toSMTPJSON(c store.SMTPSettings) smtpJSON {
	return smtpJSON{Enabled: c.Enabled, Host: c.Host, Port: c.Port, Security: c.Security,
		Username: c.Username, From: c.From, PasswordSet: c.Password != ""}
}

// smtpInput is a PUT body. Omitted fields take their defaults, except the
// password: omitted keeps the stored one ("" clears it).
type smtpInput struct {
	Enabled     *bool           `json:"enabled"`
	Host        *string         `json:"host"`
	Port        *int            `json:"port"`
	Security    *string         `json:"security"`
	Username    *string         `json:"username"`
	Password    *string         `json:"password"`
	From        *string         `json:"from"`
	PasswordSet json.RawMessage `json:"password_set"` // read-only, ignored
}

func (s *Server) getSMTP(c echo.Context) error {
	cfg, err := s.store.SMTPSettings(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSMTPJSON(cfg))
}

func (s *Server) putSMTP(c echo.Context) error {
	var in smtpInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	old, err := s.store.SMTPSettings(ctx)
	if err != nil {
		return err
	}
	cfg := store.DefaultSMTPSettings()
	cfg.Enabled = in.Enabled != nil && *in.Enabled
	cfg.Host = strings.TrimSpace(deref(in.Host))
	cfg.Username = deref(in.Username)
	cfg.From = strings.TrimSpace(deref(in.From))
	if in.Port != nil {
		cfg.Port = *in.Port
	}
	if in.Security != nil {
		cfg.Security = *in.Security
	}
	cfg.Password = old.Password
	if in.Password != nil {
		cfg.Password = *in.Password
	}
	if err := validateSMTP(cfg).err(); err != nil {
		return err
	}
	if err := s.store.SetSMTPSettings(ctx, cfg); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toSMTPJSON(cfg))
}

// validateSMTP names every field problem of cfg.
func validateSMTP(cfg store.SMTPSettings) fieldErrors {
	fe := fieldErrors{}
	switch {
	case cfg.Host == "":
		if cfg.Enabled {
			fe.add("host", "required when e-mail is enabled")
		}
	case !validHost(cfg.Host):
		fe.add("host", "must be a host name or IP address such as mail.example.com")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		fe.add("port", "must be between 1 and 65535")
	}
	switch cfg.Security {
	case store.SMTPSecuritySTARTTLS, store.SMTPSecurityTLS, store.SMTPSecurityNone:
	default:
		fe.add("security", "must be starttls, tls or none")
	}
	if msg := checkText(cfg.Username, maxSMTPUserLen); msg != "" {
		fe.add("username", msg)
	}
	switch {
	case len(cfg.Password) > maxSMTPPasswordLen:
		fe.add("password", "must be at most 256 bytes")
	case strings.ContainsAny(cfg.Password, "\r\n\x00"):
		fe.add("password", "must not contain line breaks or NUL")
	case cfg.Username != "" && cfg.Password == "":
		fe.add("password", "required when a username is set")
	}
	if cfg.From == "" {
		if cfg.Enabled {
			fe.add("from", "required when e-mail is enabled")
		}
	} else if msg := checkEmail(cfg.From); msg != "" {
		fe.add("from", msg)
	}
	return fe
}

// validHost accepts an IP address or a DNS name: dot-separated labels of
// letters, digits and '-', at most 253 characters.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > maxHostLen {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// smtpTestInput is the body of POST /settings/smtp/test.
type smtpTestInput struct {
	To *string `json:"to"`
}

// testSMTP sends a test mail with the stored settings (enabled or not), so
// an administrator can check them before switching e-mail on.
func (s *Server) testSMTP(c echo.Context) error {
	var in smtpTestInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	to := strings.TrimSpace(deref(in.To))
	if to == "" {
		return fieldError("to", "required")
	}
	if msg := checkEmail(to); msg != "" {
		return fieldError("to", msg)
	}
	if s.cfg.Mail == nil {
		return newError(http.StatusServiceUnavailable, "e-mail is not available in this server")
	}
	ctx := c.Request().Context()
	cfg, err := s.store.SMTPSettings(ctx)
	if err != nil {
		return err
	}
	if cfg.Host == "" || cfg.From == "" {
		return newError(http.StatusConflict, "e-mail settings are incomplete: save a host and a from address first")
	}
	if err := s.cfg.Mail.SendTest(ctx, cfg, to); err != nil {
		return newError(http.StatusBadGateway, "sending the test mail failed: %v", err)
	}
	return c.JSON(http.StatusOK, map[string]any{"sent": true, "to": to})
}
