package pbx

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Digest algorithm names as they appear in challenges (RFC 8760).
const (
	AlgMD5    = "MD5"
	AlgSHA256 = "SHA-256"
)

// Reasons a digest check fails; the registrar maps them to SIP answers.
var (
	errNoCredentials  = errors.New("no credentials")
	errBadCredentials = errors.New("malformed credentials")
	errStaleNonce     = errors.New("stale nonce")
	errBadNonce       = errors.New("nonce not issued by us")
	errReplay         = errors.New("nonce count replayed")
	errWrongRealm     = errors.New("wrong realm")
	errWrongAlgorithm = errors.New("algorithm not allowed for this extension")
	errWrongUser      = errors.New("username does not match")
	errWrongPassword  = errors.New("wrong password")
)

// nonceSize is 8 bytes of time, 8 of counter, 16 of HMAC.
const nonceSize = 32

// digestAuth issues nonces and checks digest responses (RFC 2617, 7616,
// 8760). Nonces are stateless (time-stamped and HMAC-signed), so issuing a
// challenge costs no memory; the nonce counts seen are kept in two
// generations that rotate every TTL, so replay state is bounded by the
// authentication rate times two TTLs.
type digestAuth struct {
	realm string
	ttl   time.Duration
	key   [32]byte

	macs sync.Pool // of hash.Hash: HMAC-SHA-256 keyed with key

	// decoy is the secret an unknown extension is checked against: random,
	// never told, so its checks fail as a wrong password does.
	decoy string

	seq atomic.Uint64 // nonce counter

	mu       sync.Mutex
	genStart time.Time
	cur      map[uint64]uint32 // by the nonce's counter, which is unique to it
	prev     map[uint64]uint32
}

func newDigestAuth(realm string, ttl time.Duration) *digestAuth {
	d := &digestAuth{realm: realm, ttl: ttl, cur: map[uint64]uint32{}, prev: map[uint64]uint32{}, genStart: time.Now()}
	if _, err := rand.Read(d.key[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	d.macs.New = func() any { return hmac.New(sha256.New, d.key[:]) }
	var decoy [32]byte
	rand.Read(decoy[:])
	var seq [8]byte
	rand.Read(seq[:])
	d.seq.Store(binary.BigEndian.Uint64(seq[:]))
	d.decoy = base64.RawURLEncoding.EncodeToString(decoy[:])
	return d
}

// nonce makes a fresh nonce: its time, a counter that makes it unique,
// and the HMAC of both. The HMAC already makes it unforgeable and
// unpredictable without the key, so the counter needs no randomness (it
// was 8 bytes from crypto/rand per challenge); it starts at a random value
// so two processes with the same clock do not issue the same nonces.
func (d *digestAuth) nonce(now time.Time) string {
	var b [nonceSize]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	binary.BigEndian.PutUint64(b[8:16], d.seq.Add(1))
	d.sign(b[16:], b[:16])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sign writes the first len(dst) bytes of the HMAC of msg into dst.
func (d *digestAuth) sign(dst, msg []byte) {
	m := d.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	var sum [sha256.Size]byte
	copy(dst, m.Sum(sum[:0]))
	d.macs.Put(m)
}

// checkNonce verifies a nonce's signature and age, and returns its
// counter: signed, so it names the nonce as well as the nonce does.
func (d *digestAuth) checkNonce(n string, now time.Time) (uint64, error) {
	var b [nonceSize]byte
	if base64.RawURLEncoding.DecodedLen(len(n)) != nonceSize {
		return 0, errBadNonce
	}
	if _, err := base64.RawURLEncoding.Decode(b[:], unsafe.Slice(unsafe.StringData(n), len(n))); err != nil {
		return 0, errBadNonce
	}
	var mac [16]byte
	d.sign(mac[:], b[:16])
	if !hmac.Equal(mac[:], b[16:]) {
		return 0, errBadNonce
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	if age := now.Sub(issued); age > d.ttl || age < -time.Minute {
		return 0, errStaleNonce
	}
	return binary.BigEndian.Uint64(b[8:16]), nil
}

// useCount records that the nonce with counter id was used with count
// nc, refusing counts that do not increase. Without qop a client sends no
// count: the nonce is then good for one request only (nc 1). (Keyed by
// the counter, not the nonce's text: at thousands of registrations a
// second the maps hold a hundred thousand nonces, and hashing and
// comparing 43-byte strings was most of the time spent here.)
func (d *digestAuth) useCount(id uint64, nc uint32, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.genStart) >= d.ttl {
		d.prev, d.cur = d.cur, make(map[uint64]uint32, len(d.cur))
		d.genStart = now
	}
	last, ok := d.cur[id]
	if !ok {
		last = d.prev[id]
	}
	if nc <= last {
		return errReplay
	}
	d.cur[id] = nc
	return nil
}

// challenges returns the WWW-Authenticate/Proxy-Authenticate values for an
// extension allowed algs, in the order given (SHA-256 first when both).
func (d *digestAuth) challenges(algs []string, stale bool, now time.Time) []string {
	n := d.nonce(now)
	out := make([]string, 0, len(algs))
	for _, alg := range algs {
		out = append(out, string(d.appendChallenge(nil, n, alg, stale)))
	}
	return out
}

// appendChallengeLines appends challenges' values as header lines named
// name, without making strings of them (the REGISTER fast path).
func (d *digestAuth) appendChallengeLines(b []byte, name string, algs []string, stale bool, now time.Time) []byte {
	n := d.nonce(now)
	for _, alg := range algs {
		b = append(b, name...)
		b = append(b, ": "...)
		b = d.appendChallenge(b, n, alg, stale)
		b = append(b, "\r\n"...)
	}
	return b
}

// appendChallenge appends one challenge value with nonce n.
func (d *digestAuth) appendChallenge(b []byte, n, alg string, stale bool) []byte {
	b = append(b, `Digest realm="`...)
	b = append(b, d.realm...)
	b = append(b, `", nonce="`...)
	b = append(b, n...)
	b = append(b, `", algorithm=`...)
	b = append(b, alg...)
	b = append(b, `, qop="auth"`...)
	if stale {
		b = append(b, ", stale=true"...)
	}
	return b
}

// credentials is what verify needs to know about a request.
type credentials struct {
	header string // Authorization or Proxy-Authorization value
	method string
}

// verify checks a digest response against the extension's secret. user is
// the identity the request claims (To user for REGISTER, From user
// otherwise). It returns the parsed username even on failure, for logging.
func (d *digestAuth) verify(c credentials, user, secret string, algs []string, now time.Time) (string, error) {
	if c.header == "" {
		return "", errNoCredentials
	}
	cr, ok := parseDigestCredentials(c.header)
	if !ok || cr.Nonce == "" || cr.Response == "" || cr.Username == "" {
		return "", errBadCredentials
	}
	if cr.Username != user {
		return cr.Username, errWrongUser
	}
	if cr.Realm != d.realm {
		return cr.Username, errWrongRealm
	}
	alg := strings.ToUpper(cr.Algorithm)
	if alg == "" {
		alg = AlgMD5
	}
	allowed := false
	for _, a := range algs {
		allowed = allowed || a == alg
	}
	if !allowed {
		return cr.Username, errWrongAlgorithm
	}
	id, err := d.checkNonce(cr.Nonce, now)
	if err != nil {
		return cr.Username, err
	}
	sha := alg == AlgSHA256
	var ha1, ha2, want [sha256.Size * 2]byte
	n1 := hexDigest(ha1[:], sha, cr.Username, ":", d.realm, ":", secret)
	n2 := hexDigest(ha2[:], sha, c.method, ":", cr.URI)
	nc := uint32(1)
	var nw int
	switch cr.QOP {
	case "":
		nw = hexDigest(want[:], sha, b2s(ha1[:n1]), ":", cr.Nonce, ":", b2s(ha2[:n2]))
	case "auth":
		if cr.Nc == 0 || cr.Cnonce == "" {
			return cr.Username, errBadCredentials
		}
		nc = cr.Nc
		var ncHex [8]byte
		hex.Encode(ncHex[:], binary.BigEndian.AppendUint32(nil, nc))
		nw = hexDigest(want[:], sha, b2s(ha1[:n1]), ":", cr.Nonce, ":", b2s(ncHex[:]), ":", cr.Cnonce, ":", cr.QOP, ":", b2s(ha2[:n2]))
	default:
		return cr.Username, errBadCredentials
	}
	if len(cr.Response) != nw || subtle.ConstantTimeCompare(want[:nw], []byte(strings.ToLower(cr.Response))) != 1 {
		return cr.Username, errWrongPassword
	}
	if err := d.useCount(id, nc, now); err != nil {
		return cr.Username, err
	}
	return cr.Username, nil
}

// hexDigest writes the lower-case hex MD5 (or SHA-256) of the joined parts
// into dst and returns its length. It works in a stack buffer: it runs
// several times for every authenticated request.
func hexDigest(dst []byte, sha bool, parts ...string) int {
	var buf [512]byte
	in := buf[:0]
	for _, p := range parts {
		in = append(in, p...)
	}
	if sha {
		sum := sha256.Sum256(in)
		return hex.Encode(dst, sum[:])
	}
	sum := md5.Sum(in)
	return hex.Encode(dst, sum[:])
}

// b2s views b as a string without copying; b must not change while the
// string is in use.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
