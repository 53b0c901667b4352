package pbx

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// answer computes a client's Authorization value for challenge text.
func answer(t *testing.T, chalText, method, uri, user, pw string, nc int) string {
	t.Helper()
	chal, err := digest.ParseChallenge(chalText)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: method, URI: uri, Username: user, Password: pw, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func TestDigestVerify(t *testing.T) {
	now := time.Now()
	d := newDigestAuth("pbx", 30*time.Second)
	both := []string{AlgSHA256, AlgMD5}
	chals := d.challenges(both, false, now)
	if len(chals) != 2 {
		t.Fatalf("want 2 challenges, got %q", chals)
	}
	sha := chals[0]
	md := d.challenges(both, false, now)[1] // another nonce: counts are per nonce

	tests := []struct {
		name    string
		chal    string
		pw      string
		user    string
		algs    []string
		nc      int
		at      time.Time
		wantErr error
	}{
		{"sha256 ok", sha, "s3cret-pass", "101", both, 1, now, nil},
		{"md5 ok", md, "s3cret-pass", "101", both, 1, now, nil},
		{"sha256 replayed count", sha, "s3cret-pass", "101", both, 1, now, errReplay},
		{"sha256 next count", sha, "s3cret-pass", "101", both, 2, now, nil},
		{"wrong password", md, "wrong", "101", both, 5, now, errWrongPassword},
		{"wrong user", md, "s3cret-pass", "102", both, 6, now, errWrongUser},
		{"md5 not allowed", md, "s3cret-pass", "101", []string{AlgSHA256}, 7, now, errWrongAlgorithm},
		{"stale", md, "s3cret-pass", "101", both, 8, now.Add(31 * time.Second), errStaleNonce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := answer(t, tc.chal, "REGISTER", "sip:pbx", tc.user, tc.pw, tc.nc)
			_, err := d.verify(credentials{header: hdr, method: "REGISTER"}, "101", "s3cret-pass", tc.algs, tc.at)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestDigestRejectsForeignNonce(t *testing.T) {
	now := time.Now()
	other := newDigestAuth("pbx", time.Minute) // another process: another key
	d := newDigestAuth("pbx", time.Minute)
	hdr := answer(t, other.challenges([]string{AlgMD5}, false, now)[0], "REGISTER", "sip:pbx", "101", "pw", 1)
	if _, err := d.verify(credentials{header: hdr, method: "REGISTER"}, "101", "pw", []string{AlgMD5}, now); !errors.Is(err, errBadNonce) {
		t.Fatalf("foreign nonce: %v, want errBadNonce", err)
	}
	for _, bad := range []string{"", "Digest", "Basic abc", `Digest username="101", nonce="x", response="y"`, `Digest username=`} {
		if _, err := d.verify(credentials{header: bad, method: "REGISTER"}, "101", "pw", []string{AlgMD5}, now); err == nil {
			t.Errorf("verify(%q) succeeded", bad)
		}
	}
}

func TestDigestReplayStateRotates(t *testing.T) {
	now := time.Now()
	d := newDigestAuth("pbx", time.Second)
	n, err := d.checkNonce(d.nonce(now), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.useCount(n, 1, now); err != nil {
		t.Fatal(err)
	}
	// Still remembered one generation later, forgotten after two (by then
	// the nonce itself is stale, so forgetting is safe).
	if err := d.useCount(n, 1, now.Add(1100*time.Millisecond)); !errors.Is(err, errReplay) {
		t.Fatalf("after one rotation: %v, want errReplay", err)
	}
	d.useCount(n+1, 1, now.Add(2200*time.Millisecond))
	if len(d.prev)+len(d.cur) > 2 {
		t.Fatalf("replay state not bounded: %d + %d entries", len(d.prev), len(d.cur))
	}
}

func FuzzDigestVerify(f *testing.F) {
	d := newDigestAuth("pbx", time.Minute)
	now := time.Now()
	f.Add(d.challenges([]string{AlgMD5}, false, now)[0])
	f.Add(`Digest username="101", realm="pbx", nonce="abc", uri="sip:pbx", response="00", qop=auth, nc=00000001, cnonce="x"`)
	f.Add(`Digest username="101", nc=zz`)
	f.Fuzz(func(t *testing.T, hdr string) {
		d.verify(credentials{header: hdr, method: "REGISTER"}, "101", "pw", []string{AlgMD5, AlgSHA256}, now)
	})
}

func TestParseDigestCredentials(t *testing.T) {
	good := []struct {
		in   string
		want digestCredentials
	}{
		{`Digest username="101", realm="pbx", nonce="abc", uri="sip:pbx", response="0f", algorithm=MD5, qop=auth, nc=0000000a, cnonce="x y"`,
			digestCredentials{Username: "101", Realm: "pbx", Nonce: "abc", URI: "sip:pbx", Response: "0f", Algorithm: "MD5", QOP: "auth", Nc: 10, Cnonce: "x y"}},
		{`digest username="1\"01",realm=pbx,NONCE="n",qop="auth",nc=1`,
			digestCredentials{Username: `1"01`, Realm: "pbx", Nonce: "n", QOP: "auth", Nc: 1}},
		{`Digest username="101", opaque="", uri="sip:a,b"`, digestCredentials{Username: "101", URI: "sip:a,b"}},
	}
	for _, tc := range good {
		got, ok := parseDigestCredentials(tc.in)
		if !ok || got != tc.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "Digest", "Basic dXNlcg==", `Digest username="101`, `Digest =x`, `Digest nc=zz`, `Digestusername="1"`} {
		if _, ok := parseDigestCredentials(bad); ok {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

// The parser must agree with a general-purpose one on everything that one accepts.
func FuzzParseDigestCredentials(f *testing.F) {
	f.Add(`Digest username="101", realm="pbx", nonce="abc", uri="sip:pbx", response="0f", qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`Digest username="a\"b", nc=1`)
	f.Add(`Digest a=b,,c="d"`)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseDigestCredentials(s)
		ref, err := digest.ParseCredentials(s)
		// The reference matches keys case-sensitively (RFC 7616 says they
		// are not), so compare only all-lower-case inputs.
		if !ok || err != nil || ref.Nc < 0 || s != strings.ToLower(s) {
			return
		}
		if got.Username != ref.Username || got.Nonce != ref.Nonce || got.Response != ref.Response ||
			got.Realm != ref.Realm || got.URI != ref.URI || got.QOP != ref.QOP || got.Nc != uint32(ref.Nc) {
			t.Fatalf("parse(%q) = %+v, reference %+v", s, got, ref)
		}
	})
}

func BenchmarkDigestVerify(b *testing.B) {
	d := newDigestAuth("pbx", time.Minute)
	now := time.Now()
	chal, err := digest.ParseChallenge(d.challenges([]string{AlgMD5}, false, now)[0])
	if err != nil {
		b.Fatal(err)
	}
	algs := []string{AlgMD5}
	// Fresh counts each time, as a phone reusing its nonce would send.
	hdrs := make([]string, b.N)
	for i := range hdrs {
		cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:pbx", Username: "101",
			Password: "s3cret-pass", Count: i + 1, Cnonce: "c"})
		if err != nil {
			b.Fatal(err)
		}
		hdrs[i] = cred.String()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.verify(credentials{header: hdrs[i], method: "REGISTER"}, "101", "s3cret-pass", algs, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDigestCredentials(b *testing.B) {
	hdr := `Digest username="101", realm="pbx", nonce="GOo2EM2o8ULALcfZff8fwyKM6b5w7h2LNioNkJ9e5VA", uri="sip:127.0.0.1:5060", response="6cf554381c5471c0f0f6666a7bc9e99d", algorithm=MD5, qop=auth, nc=00000001, cnonce="6b8b4567"`
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := parseDigestCredentials(hdr); !ok {
			b.Fatal("parse failed")
		}
	}
}
