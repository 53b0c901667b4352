package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Token prefixes tell a session from an API token at a glance (and to
// secret scanners), and let the server look a token up in the right table.
const (
	sessionPrefix  = "pbxs_"
	apiTokenPrefix = "pbxt_"
)

// HashPassword returns the bcrypt hash of pw at the default cost. It is what
// the CLI's "pbx admin password" stores.
func HashPassword(pw string) (string, error) {
	return hashPassword(pw, bcrypt.DefaultCost)
}

// hashPassword hashes at a given cost so tests can stay fast without a
// mutable global.
func hashPassword(pw string, cost int) (string, error) {
	if err := ValidatePassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// secretLen characters of 62 give about 119 bits: beyond any online or
// offline guessing of a digest response.
const secretLen = 20

// GenerateSecret returns a strong SIP password: 20 letters and digits from
// crypto/rand, safe to type into a phone's web form.
func GenerateSecret() string {
	for {
		s := randomSecret()
		// sipp (and some phones' provisioning) read a password starting
		// with "0x" as hex: avoid the ambiguity instead of documenting it.
		if !strings.HasPrefix(strings.ToLower(s), "0x") {
			return s
		}
	}
}

func randomSecret() string {
	out := make([]byte, 0, secretLen)
	var buf [32]byte
	for len(out) < secretLen {
		rand.Read(buf[:]) // never fails (Go 1.24+)
		for _, b := range buf {
			// 248 = 4*62: rejecting the rest keeps every character equally likely.
			if b < 248 && len(out) < secretLen {
				out = append(out, secretAlphabet[b%62])
			}
		}
	}
	return string(out)
}

// newToken returns a fresh bearer token: prefix plus 32 random bytes in
// base64url.
func newToken(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// hashToken is what the store keeps instead of a token: a leaked database
// does not hand out live sessions. The token has 256 random bits, so a fast
// hash is enough.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
