package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// SMTP security modes: how the connection to the mail server is protected.
const (
	SMTPSecuritySTARTTLS = "starttls" // plain connection upgraded with STARTTLS (port 587)
	SMTPSecurityTLS      = "tls"      // TLS from the first byte (port 465)
	SMTPSecurityNone     = "none"     // no TLS at all (a relay on the local network)
)

// DefaultSMTPPort is the submission port, used when none is set.
const DefaultSMTPPort = 587

// smtpSettingKey is the settings row holding SMTPSettings as JSON.
const smtpSettingKey = "smtp"

// SMTPSettings is how the PBX sends e-mail (voicemail to e-mail).
type SMTPSettings struct {
	Enabled  bool   `json:"enabled"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Security string `json:"security"`
	Username string `json:"username"`
	// Password is kept as given: the SMTP server needs it in clear, so it
	// cannot be hashed. The API never shows it.
	Password string `json:"password"`
	From     string `json:"from"`
}

// DefaultSMTPSettings is what an unconfigured PBX has: sending off,
// submission port with STARTTLS.
func DefaultSMTPSettings() SMTPSettings {
	return SMTPSettings{Port: DefaultSMTPPort, Security: SMTPSecuritySTARTTLS}
}

// SMTPSettings returns the stored mail settings, or the defaults when none
// were ever saved.
func (s *Store) SMTPSettings(ctx context.Context) (SMTPSettings, error) {
	cfg := DefaultSMTPSettings()
	v, err := s.Setting(ctx, smtpSettingKey)
	if errors.Is(err, ErrNotFound) {
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		return DefaultSMTPSettings(), fmt.Errorf("smtp settings: %w", err)
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultSMTPPort
	}
	if cfg.Security == "" {
		cfg.Security = SMTPSecuritySTARTTLS
	}
	return cfg, nil
}

// SetSMTPSettings stores the mail settings and announces
// Change{Kind: "settings", Key: "smtp"}. The caller validates them.
func (s *Store) SetSMTPSettings(ctx context.Context, cfg SMTPSettings) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := s.SetSetting(ctx, smtpSettingKey, string(b)); err != nil {
		return fmt.Errorf("smtp settings: %w", err)
	}
	s.publish(Change{Kind: "settings", Key: smtpSettingKey})
	return nil
}
