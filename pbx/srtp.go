package pbx

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// SRTP keyed by SDES (RFC 4568): each side puts the master key it will
// encrypt with in an a=crypto line of its SDP. The keys travel in the SIP
// body, so the PBX takes part only on TLS signalling (keys in clear over
// UDP protect nothing), and never logs them.

// errNeedSRTP refuses a call the phone's srtp setting and SDP do not
// agree on (488).
var errNeedSRTP = fmt.Errorf("%w: SRTP required or refused", errNoCodec)

// errBadCrypto wraps an a=crypto value the PBX cannot use.
var errBadCrypto = errors.New("bad a=crypto")

// sdesCrypto is one a=crypto line: tag, crypto suite and the inline
// master key and salt (media.SRTPKeyLen bytes).
type sdesCrypto struct {
	tag   int
	suite string
	key   []byte
}

// String is the attribute's value (after "a=crypto:"). It holds a key:
// never log it.
func (c sdesCrypto) String() string {
	return fmt.Sprintf("%d %s inline:%s", c.tag, c.suite, base64.StdEncoding.EncodeToString(c.key))
}

// parseCrypto reads an a=crypto value: "TAG SUITE inline:KEY[|LIFETIME]
// [|MKI:LEN] [SESSION-PARAMS]". Only the two AES_CM_128 suites with one
// inline key and no MKI are taken; session parameters other than none are
// refused, since they change how packets are protected.
func parseCrypto(v string) (sdesCrypto, error) {
	var c sdesCrypto
	f := strings.Fields(v)
	if len(f) < 3 {
		return c, fmt.Errorf("%w: want tag, suite and key", errBadCrypto)
	}
	if len(f) > 3 {
		return c, fmt.Errorf("%w: session parameters not supported", errBadCrypto)
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 || len(f[0]) > 9 {
		return c, fmt.Errorf("%w: tag %q", errBadCrypto, truncate(f[0], 16))
	}
	c.tag = tag
	c.suite = f[1]
	if !media.SuiteSupported(c.suite) {
		return c, fmt.Errorf("%w: suite %q not supported", errBadCrypto, truncate(c.suite, 40))
	}
	params, ok := strings.CutPrefix(f[2], "inline:")
	if !ok {
		return c, fmt.Errorf("%w: key method not inline", errBadCrypto)
	}
	if strings.Contains(params, ";") {
		return c, fmt.Errorf("%w: more than one key", errBadCrypto)
	}
	parts := strings.Split(params, "|")
	if len(parts) > 3 {
		return c, fmt.Errorf("%w: key parameters", errBadCrypto)
	}
	for _, p := range parts[1:] {
		if strings.Contains(p, ":") {
			return c, fmt.Errorf("%w: MKI not supported", errBadCrypto)
		}
		if _, err := parseLifetime(p); err != nil {
			return c, err
		}
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		// Some phones leave the padding out.
		key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	}
	if err != nil || len(key) != media.SRTPKeyLen {
		return c, fmt.Errorf("%w: key is not %d bytes of base64", errBadCrypto, media.SRTPKeyLen)
	}
	c.key = key
	return c, nil
}

// parseLifetime reads a key lifetime, "N" or "2^N"; the PBX does not
// rekey, and a call never comes near 2^31 packets, so it is only checked.
func parseLifetime(p string) (uint64, error) {
	exp, pow := strings.CutPrefix(p, "2^")
	n, err := strconv.ParseUint(exp, 10, 64)
	if err != nil || (pow && n > 63) {
		return 0, fmt.Errorf("%w: lifetime %q", errBadCrypto, truncate(p, 24))
	}
	if pow {
		return 1 << n, nil
	}
	return n, nil
}

// newSRTPKey makes a fresh master key and salt.
func newSRTPKey() []byte {
	k := make([]byte, media.SRTPKeyLen)
	_, _ = rand.Read(k) // crypto/rand does not fail (Go 1.24)
	return k
}

// sdesLine is what the PBX puts in its own SDP to a phone with SRTP: its
// a=crypto line and the transport profile (RTP/SAVP, or RTP/AVP for a
// best-effort offer).
type sdesLine struct {
	crypto sdesCrypto
	savp   bool
}

// secureTransport reports whether signalling came over TLS.
func secureTransport(tp string) bool { return strings.EqualFold(tp, "tls") }

// srtpSetting is an extension's srtp, "optional" when unset (a trunk call
// has no extension).
func srtpSetting(ext store.Extension) string {
	if ext.SRTP == "" {
		return store.SRTPOptional
	}
	return ext.SRTP
}

// answerSRTP decides the SRTP of a phone's offer, given the phone's srtp
// setting and whether its INVITE came over TLS. It returns the PBX's own
// a=crypto line and the media configuration, or nil for plain RTP, or
// errNeedSRTP: an RTP/SAVP offer the PBX must not take (UDP signalling,
// srtp off, no usable crypto line), or a phone that must use SRTP and
// did not offer it over TLS.
func answerSRTP(setting string, tls bool, o mediaOffer) (*sdesLine, *media.SRTPConfig, error) {
	use := tls && setting != store.SRTPOff && len(o.crypto) > 0
	switch {
	case use:
		theirs := o.crypto[0]
		ours := sdesCrypto{tag: theirs.tag, suite: theirs.suite, key: newSRTPKey()}
		return &sdesLine{crypto: ours, savp: o.savp},
			&media.SRTPConfig{Suite: ours.suite, LocalKey: ours.key, RemoteKey: theirs.key}, nil
	case o.savp:
		return nil, nil, fmt.Errorf("%w: RTP/SAVP offer the PBX cannot key (TLS %v, srtp %s, %d usable crypto lines)",
			errNeedSRTP, tls, setting, len(o.crypto))
	case setting == store.SRTPRequired:
		return nil, nil, fmt.Errorf("%w: extension requires SRTP (TLS %v)", errNeedSRTP, tls)
	}
	return nil, nil, nil
}

// offerSRTP is the SRTP the PBX offers a phone it rings: on a TLS
// registration of an extension whose srtp is not off, an a=crypto line
// with a fresh key, in RTP/SAVP for srtp=required and in RTP/AVP for
// optional (a best-effort offer: a phone without SRTP ignores the line
// and answers plain RTP rather than refusing the call). ok is false for a
// required extension's registration that is not TLS: it is not rung.
func offerSRTP(setting string, tls bool) (line *sdesLine, ok bool) {
	switch {
	case setting == store.SRTPOff:
		return nil, true
	case !tls:
		return nil, setting != store.SRTPRequired
	}
	return &sdesLine{crypto: sdesCrypto{tag: 1, suite: media.SuiteAES128SHA1_80, key: newSRTPKey()},
		savp: setting == store.SRTPRequired}, true
}

// acceptSRTP checks a phone's answer to an SRTP offer: the media
// configuration when it took the crypto line, nil when it answered plain
// RTP to a best-effort offer, errNeedSRTP otherwise.
func acceptSRTP(offered *sdesLine, a mediaOffer) (*media.SRTPConfig, error) {
	if offered == nil {
		if a.savp {
			return nil, fmt.Errorf("%w: RTP/SAVP answer to an RTP/AVP offer", errNeedSRTP)
		}
		return nil, nil
	}
	for _, c := range a.crypto {
		if c.tag == offered.crypto.tag && c.suite == offered.crypto.suite {
			return &media.SRTPConfig{Suite: c.suite, LocalKey: offered.crypto.key, RemoteKey: c.key}, nil
		}
	}
	if offered.savp || a.savp {
		return nil, fmt.Errorf("%w: answer without the offered crypto line", errNeedSRTP)
	}
	return nil, nil
}

// withSDES turns an RTP/AVP offer the PBX built into one with SRTP.
func withSDES(offer []byte, l *sdesLine) []byte {
	if l == nil {
		return offer
	}
	out := offer
	if l.savp {
		out = bytes.Replace(out, []byte(" RTP/AVP "), []byte(" RTP/SAVP "), 1)
	}
	return append(out[:len(out):len(out)], "a=crypto:"+l.crypto.String()+"\r\n"...)
}

// secureOffer applies the caller's srtp setting to its offer: the PBX's
// answer line and the leg's keys go into o, or the call is refused
// (errNeedSRTP).
func (c *call) secureOffer(o *mediaOffer) error {
	line, cfg, err := answerSRTP(srtpSetting(c.caller), secureTransport(c.in.req.Transport()), *o)
	if err != nil {
		c.log.Info("SRTP negotiation failed", "error", err)
		return err
	}
	o.sdes, o.srtp = line, cfg
	return nil
}

// srtpOfferFor is the SRTP to offer a phone of the callee: by its
// extension's srtp and its registration's transport. errNeedSRTP: the
// phone must use SRTP but did not register over TLS, and is not rung.
func (c *call) srtpOfferFor(b store.Registration) (*sdesLine, error) {
	var ext store.Extension
	if b.Extension != "" {
		ext, _ = c.e.exts.get(c.e.ctx, b.Extension) // unknown: the default
	}
	line, ok := offerSRTP(srtpSetting(ext), secureTransport(b.Transport))
	if !ok {
		return nil, fmt.Errorf("%w: extension %s requires SRTP, registration on %s", errNeedSRTP, b.Extension, b.Transport)
	}
	return line, nil
}

// secureAnswer checks a phone's answer against the SRTP offered to it
// and puts the leg's keys into a.
func (f *fork) secureAnswer(a *mediaOffer) error {
	cfg, err := acceptSRTP(f.sdes, *a)
	if err != nil {
		return err
	}
	a.srtp = cfg
	f.mu.Lock()
	f.srtpOn = cfg != nil
	f.mu.Unlock()
	return nil
}

// calleeSDES is the a=crypto line of a leg whose phone the PBX rang and
// which took SRTP, for the PBX's later offers and answers to it.
func (l *leg) calleeSDES() *sdesLine {
	f, ok := l.dlg.(*fork)
	if !ok {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.srtpOn {
		return nil
	}
	return f.sdes
}

// rekeySRTP takes the a=crypto of a phone's new offer (a re-INVITE or
// UPDATE) on a leg that speaks SRTP. When the phone keeps its key (and
// tag) nothing changes; when it brings a new key, the PBX answers with a
// fresh key of its own and o carries both for the endpoint. It returns
// the line for the answer, or nil to keep the leg's. A leg that is plain
// RTP stays plain, and one whose phone drops a=crypto keeps its keys.
func (c *call) rekeySRTP(side media.Side, o *mediaOffer) *sdesLine {
	c.mu.Lock()
	l := c.legs[side]
	var cur *sdesLine
	if l != nil {
		if cur = l.st.sdp.sdes; cur == nil {
			cur = l.calleeSDES()
		}
	}
	c.mu.Unlock()
	if cur == nil || len(o.crypto) == 0 {
		return nil
	}
	keys, ok := l.ep.SRTPKeys()
	if !ok {
		return nil
	}
	theirs := o.crypto[0]
	if theirs.suite == keys.Suite && bytes.Equal(theirs.key, keys.RemoteKey) {
		if theirs.tag == cur.crypto.tag {
			return nil
		}
		same := *cur
		same.crypto.tag = theirs.tag
		return &same
	}
	line := &sdesLine{crypto: sdesCrypto{tag: theirs.tag, suite: theirs.suite, key: newSRTPKey()}, savp: cur.savp}
	o.srtp = &media.SRTPConfig{Suite: theirs.suite, LocalKey: line.crypto.key, RemoteKey: theirs.key}
	c.log.Info("SRTP re-keyed", "side", side.String(), "suite", theirs.suite)
	return line
}

// followSRTPKey takes a new key the phone of an SRTP leg put in an SDP the
// PBX did not key itself (an answer to the PBX's re-INVITE, where the
// phone may change its key): the leg then decrypts with it, and keeps
// encrypting with the PBX's unchanged key and context.
func followSRTPKey(ep *media.Endpoint, o *mediaOffer) {
	if o.srtp != nil || ep == nil {
		return
	}
	keys, ok := ep.SRTPKeys()
	if !ok {
		return
	}
	for _, cr := range o.crypto {
		if cr.suite != keys.Suite {
			continue
		}
		if !bytes.Equal(cr.key, keys.RemoteKey) {
			o.srtp = &media.SRTPConfig{Suite: keys.Suite, LocalKey: keys.LocalKey, RemoteKey: cr.key}
		}
		return
	}
}
