package pbxtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// The test phone's SRTP (SDES, RFC 4568): with WithSRTP it offers RTP/SAVP
// with an a=crypto line and answers an offer's a=crypto with its own key,
// then encrypts what it sends and authenticates and decrypts what it
// receives.

const srtpSuite80 = "AES_CM_128_HMAC_SHA1_80"

// WithSRTP makes the UA a phone that speaks SRTP keyed by SDES. Use it with
// WithTransport("tls"): the PBX keys SRTP only over TLS.
func WithSRTP() UAOption { return func(u *UA) { u.SRTP = true } }

// cryptoLine is one a=crypto attribute.
type cryptoLine struct {
	tag   int
	suite string
	key   []byte
}

func (c cryptoLine) String() string {
	return fmt.Sprintf("%d %s inline:%s", c.tag, c.suite, base64.StdEncoding.EncodeToString(c.key))
}

func parseCryptoLine(v string) (cryptoLine, bool) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return cryptoLine{}, false
	}
	tag, err := strconv.Atoi(f[0])
	inline, ok := strings.CutPrefix(f[2], "inline:")
	if err != nil || !ok {
		return cryptoLine{}, false
	}
	key, err := base64.StdEncoding.DecodeString(strings.Split(inline, "|")[0])
	if err != nil || len(key) != 30 {
		return cryptoLine{}, false
	}
	return cryptoLine{tag: tag, suite: f[1], key: key}, true
}

func profileOf(suite string) (srtp.ProtectionProfile, bool) {
	switch suite {
	case srtpSuite80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, true
	case "AES_CM_128_HMAC_SHA1_32":
		return srtp.ProtectionProfileAes128CmHmacSha1_32, true
	}
	return 0, false
}

// withCrypto adds an a=crypto line to a phone's SDP, in RTP/SAVP if savp.
func withCrypto(body []byte, c cryptoLine, savp bool) []byte {
	if savp {
		body = bytes.Replace(body, []byte(" RTP/AVP "), []byte(" RTP/SAVP "), 1)
	}
	return append(body, "a=crypto:"+c.String()+"\r\n"...)
}

// phoneSRTP is a call's SRTP contexts: enc for what the phone sends (its
// own key), dec for what it receives (the other side's), and the keys
// they were made from.
type phoneSRTP struct {
	enc, dec      *srtp.Context
	suite         string
	local, remote []byte
}

// newPhoneSRTP keys a call's SRTP. A direction whose suite and key are
// those of old (nil for none) keeps its context, as the PBX does for a
// key that an offer or answer repeats (media.Endpoint.SetSRTP): the
// sender goes on with its rollover counter, and a fresh context here
// would guess 0 and fail every packet once the sender's sequence numbers
// had wrapped.
func newPhoneSRTP(suite string, local, remote []byte, old *phoneSRTP) (*phoneSRTP, error) {
	p, ok := profileOf(suite)
	if !ok {
		return nil, fmt.Errorf("suite %q", suite)
	}
	s := &phoneSRTP{suite: suite, local: local, remote: remote}
	if old != nil && old.suite == suite {
		if bytes.Equal(old.local, local) {
			s.enc = old.enc
		}
		if bytes.Equal(old.remote, remote) {
			s.dec = old.dec
		}
	}
	var err error
	if s.enc == nil {
		if s.enc, err = srtp.CreateContext(local[:16], local[16:], p); err != nil {
			return nil, err
		}
	}
	if s.dec == nil {
		if s.dec, err = srtp.CreateContext(remote[:16], remote[16:], p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func newKey() []byte {
	k := make([]byte, 30)
	_, _ = rand.Read(k)
	return k
}

// offerCrypto is the phone's a=crypto line for an offer (tag 1, its own
// key); nil without WithSRTP.
func (m *mediaSession) offerCrypto() *cryptoLine {
	if m.localKey == nil {
		return nil
	}
	return &cryptoLine{tag: 1, suite: srtpSuite80, key: m.localKey}
}

// keyFrom takes the other side's a=crypto lines: the first the phone
// can use keys the session (as answerer, any; as offerer, the tag it
// offered). It returns the phone's own line to answer with, if any.
func (m *mediaSession) keyFrom(lines []cryptoLine, offeredTag int) (*cryptoLine, error) {
	if m.localKey == nil {
		return nil, nil
	}
	for _, l := range lines {
		if _, ok := profileOf(l.suite); !ok || (offeredTag >= 0 && l.tag != offeredTag) {
			continue
		}
		s, err := newPhoneSRTP(l.suite, m.localKey, l.key, m.srtp.Load())
		if err != nil {
			return nil, err
		}
		m.srtp.Store(s)
		return &cryptoLine{tag: l.tag, suite: l.suite, key: m.localKey}, nil
	}
	return nil, nil
}

// SRTP reports whether the call's media is SRTP (keys negotiated).
func (c *Call) SRTP() bool { return c.media.srtp.Load() != nil }

// SRTPFailures is how many received packets failed SRTP authentication.
func (c *Call) SRTPFailures() int64 { return c.media.srtpFailures.Load() }

// WirePacket is the latest SRTP packet received as it came off the wire,
// and the RTP packet it decrypted to (nil, nil before any).
func (c *Call) WirePacket() (wire, plain []byte) {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return append([]byte(nil), c.media.wire...), append([]byte(nil), c.media.plain...)
}

// rekey takes the answer to a re-INVITE that offered the phone's new key.
func (m *mediaSession) rekey(local, answer []byte) error {
	rm, err := parseSDP(answer)
	if err != nil {
		return err
	}
	for _, l := range rm.crypto {
		if l.tag != 1 {
			continue
		}
		s, err := newPhoneSRTP(l.suite, local, l.key, m.srtp.Load())
		if err != nil {
			return err
		}
		m.srtp.Store(s)
		return nil
	}
	return fmt.Errorf("answer to the re-keying re-INVITE has no a=crypto with tag 1")
}

// answerRekey answers a re-INVITE's a=crypto on an SRTP call with a new
// key of the phone's own: from now on the phone encrypts with it and
// decrypts with the offer's key. ok is false for a plain call or an offer
// without a usable line.
func (m *mediaSession) answerRekey(offered []cryptoLine) (cryptoLine, bool) {
	if m.localKey == nil || m.srtp.Load() == nil {
		return cryptoLine{}, false
	}
	for _, l := range offered {
		fresh := newKey()
		s, err := newPhoneSRTP(l.suite, fresh, l.key, m.srtp.Load())
		if err != nil {
			continue
		}
		m.srtp.Store(s)
		return cryptoLine{tag: l.tag, suite: l.suite, key: fresh}, true
	}
	return cryptoLine{}, false
}
