package admin

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestGenerateSecret(t *testing.T) {
	seen := map[string]bool{}
	// 1 in 1922 random secrets starts with 0x; 20000 draws all but
	// guarantee some would have.
	for i := 0; i < 20000; i++ {
		s := GenerateSecret()
		if len(s) != 20 || strings.Trim(s, secretAlphabet) != "" || checkSecret(s) != "" || strings.HasPrefix(strings.ToLower(s), "0x") {
			t.Fatalf("secret %q", s)
		}
		if seen[s] {
			t.Fatalf("secret %q repeated", s)
		}
		seen[s] = true
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		pw string
		ok bool
	}{
		{"", false},
		{"1234567", false},
		{"12345678", true},
		{"ünïcödé", false}, // 7 characters, more bytes
		{"ünïcödéé", true},
		{strings.Repeat("a", 72), true},
		{strings.Repeat("a", 73), false},
		{strings.Repeat("é", 37), false}, // 74 bytes
	}
	for _, tt := range tests {
		if err := ValidatePassword(tt.pw); (err == nil) != tt.ok {
			t.Errorf("ValidatePassword(%q) = %v", tt.pw, err)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h, err := hashPassword("a good password", bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("a good password")) != nil {
		t.Error("hash does not verify")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("HashPassword accepted a short password")
	}
}

func TestTokens(t *testing.T) {
	a, b := newToken(sessionPrefix), newToken(sessionPrefix)
	if a == b || !strings.HasPrefix(a, sessionPrefix) || len(a) != len(sessionPrefix)+43 {
		t.Errorf("tokens %q %q", a, b)
	}
	if h := hashToken(a); len(h) != 64 || h == hashToken(b) {
		t.Errorf("hash %q", h)
	}
}
