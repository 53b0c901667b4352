package admin

import (
	"errors"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the request fields, shared by the validators and the spec.
const (
	maxNameLen     = 100
	maxEmailLen    = 254
	maxUsernameLen = 64
	minPasswordLen = 8
	maxPasswordLen = 72 // bcrypt ignores everything after 72 bytes
	minSecretLen   = 8
	maxSecretLen   = 128
	maxQueryLen    = 200
)

// ValidatePassword checks a web/API password: at least 8 characters and at
// most 72 bytes, the longest password bcrypt takes into account.
func ValidatePassword(pw string) error {
	if utf8.RuneCountInString(pw) < minPasswordLen {
		return errors.New("must be at least 8 characters")
	}
	if len(pw) > maxPasswordLen {
		return errors.New("must be at most 72 bytes")
	}
	return nil
}

// validUsername reports whether s is 1-64 of [A-Za-z0-9._@-].
func validUsername(s string) bool {
	if len(s) == 0 || len(s) > maxUsernameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkText validates a free-text field: valid UTF-8, no control
// characters (they break CSV exports and phone displays), at most max runes.
func checkText(s string, max int) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if utf8.RuneCountInString(s) > max {
		return "must be at most " + strconv.Itoa(max) + " characters"
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "must not contain control characters"
	}
	return ""
}

// checkEmail accepts "" or one plain address.
func checkEmail(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > maxEmailLen {
		return "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "must be an email address such as anna@example.com"
	}
	return ""
}

// checkSecret validates a SIP password given by the client: 8-128 printable
// ASCII characters without space, '"' or '\', which phones and the digest
// header quoting handle badly.
func checkSecret(s string) string {
	if len(s) < minSecretLen || len(s) > maxSecretLen {
		return "must be 8 to 128 characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return "must be printable ASCII without spaces, quotes or backslashes"
		}
	}
	return ""
}

// isDigits reports whether s is between min and max ASCII digits.
func isDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
