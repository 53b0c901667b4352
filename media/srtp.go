package media

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTP crypto suites (RFC 4568 §6.2) an endpoint takes.
const (
	SuiteAES128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAES128SHA1_32 = "AES_CM_128_HMAC_SHA1_32"
)

// SRTPKeyLen is the length of an SDES inline key of both suites: a 16-byte
// master key followed by a 14-byte master salt.
const SRTPKeyLen = 30

// ErrSRTP wraps a bad SRTP configuration.
var ErrSRTP = errors.New("media: bad SRTP configuration")

// srtpOverhead is what SRTP adds to an RTP packet at most: the 10-byte
// authentication tag (no MKI); SRTCP adds the tag and a 4-byte index.
const srtpOverhead = 16

// SRTPConfig is the keying of an SRTP leg (RFC 3711, keyed by SDES):
// what the PBX encrypts with (the key of its own a=crypto line) and what
// the phone encrypts with (the phone's), in one suite.
type SRTPConfig struct {
	Suite     string // SuiteAES128SHA1_80 or SuiteAES128SHA1_32
	LocalKey  []byte // SRTPKeyLen bytes: the PBX's master key and salt
	RemoteKey []byte // SRTPKeyLen bytes: the phone's
}

// SuiteSupported reports whether an endpoint takes an SDES crypto suite.
func SuiteSupported(suite string) bool {
	_, err := suiteProfile(suite)
	return err == nil
}

func suiteProfile(suite string) (srtp.ProtectionProfile, error) {
	switch suite {
	case SuiteAES128SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case SuiteAES128SHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	}
	return 0, fmt.Errorf("%w: crypto suite %q", ErrSRTP, suite)
}

// srtpLeg holds an endpoint's SRTP contexts: enc protects what goes to the
// phone (used by whoever feeds the endpoint: the bridged peer's goroutine,
// a playback), dec checks and decrypts what the phone sends (its RTP and
// RTCP goroutines). A pion context is not safe for concurrent use, hence
// the mutexes, which are uncontended in the steady state. The buffers are
// reused, so the per-packet path allocates nothing.
type srtpLeg struct {
	cfg SRTPConfig

	encMu   sync.Mutex
	enc     *srtp.Context
	encHdr  rtp.Header
	encRTCP rtcp.Header
	encBuf  [maxPacket + srtpOverhead]byte

	decMu   sync.Mutex
	dec     *srtp.Context
	decHdr  rtp.Header
	decRTCP rtcp.Header
	decBuf  [maxPacket]byte
}

func newSRTPLeg(cfg SRTPConfig) (*srtpLeg, error) {
	profile, err := suiteProfile(cfg.Suite)
	if err != nil {
		return nil, err
	}
	if len(cfg.LocalKey) != SRTPKeyLen || len(cfg.RemoteKey) != SRTPKeyLen {
		return nil, fmt.Errorf("%w: keys must be %d bytes", ErrSRTP, SRTPKeyLen)
	}
	enc, err := srtp.CreateContext(cfg.LocalKey[:16], cfg.LocalKey[16:], profile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSRTP, err)
	}
	dec, err := srtp.CreateContext(cfg.RemoteKey[:16], cfg.RemoteKey[16:], profile,
		srtp.SRTPReplayProtection(128), srtp.SRTCPReplayProtection(128))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSRTP, err)
	}
	return &srtpLeg{cfg: cfg, enc: enc, dec: dec}, nil
}

// decryptRTP authenticates and decrypts one SRTP packet from the phone
// into the leg's buffer; only the endpoint's RTP goroutine calls it, and
// the result is valid until its next call.
func (s *srtpLeg) decryptRTP(pkt []byte) ([]byte, bool) {
	if len(pkt) < rtpHeaderSize || pkt[0]>>6 != 2 {
		return nil, false // the parser's errors allocate
	}
	s.decMu.Lock()
	out, err := s.dec.DecryptRTP(s.decBuf[:0], pkt, &s.decHdr)
	s.decMu.Unlock()
	return out, err == nil
}

// decryptRTCP is decryptRTP for SRTCP, into dst.
func (s *srtpLeg) decryptRTCP(dst, pkt []byte) ([]byte, bool) {
	s.decMu.Lock()
	out, err := s.dec.DecryptRTCP(dst[:0], pkt, &s.decRTCP)
	s.decMu.Unlock()
	return out, err == nil
}

// writeRTP sends an RTP packet to the phone at dst, encrypted when the
// endpoint speaks SRTP.
func (e *Endpoint) writeRTP(pkt []byte, dst netip.AddrPort) {
	s := e.srtp.Load()
	if s == nil {
		_, _ = e.leg.ports.RTP.WriteToUDPAddrPort(pkt, dst)
		return
	}
	s.encMu.Lock()
	out, err := s.enc.EncryptRTP(s.encBuf[:0], pkt, &s.encHdr)
	if err == nil {
		_, _ = e.leg.ports.RTP.WriteToUDPAddrPort(out, dst)
	}
	s.encMu.Unlock()
}

// writeRTCP sends an RTCP packet to the phone at dst, as SRTCP when the
// endpoint speaks SRTP.
func (e *Endpoint) writeRTCP(pkt []byte, dst netip.AddrPort) {
	s := e.srtp.Load()
	if s == nil {
		_, _ = e.leg.ports.RTCP.WriteToUDPAddrPort(pkt, dst)
		return
	}
	s.encMu.Lock()
	out, err := s.enc.EncryptRTCP(s.encBuf[:0], pkt, &s.encRTCP)
	if err == nil {
		_, _ = e.leg.ports.RTCP.WriteToUDPAddrPort(out, dst)
	}
	s.encMu.Unlock()
}

// SetSRTP makes the phone's stream SRTP keyed by cfg (SDES), or plain RTP
// again (nil). What the phone sends is then authenticated and decrypted
// before anything else looks at it, and everything sent to it, RTP and
// RTCP, is encrypted; a packet that fails authentication is dropped. The
// bridged peer may be plain RTP: the relay decrypts on one leg and
// encrypts on the other. New keys (a re-INVITE's) start fresh contexts;
// the same keys again change nothing.
func (e *Endpoint) SetSRTP(cfg *SRTPConfig) error {
	if cfg == nil {
		e.srtp.Store(nil)
		return nil
	}
	if old := e.srtp.Load(); old != nil && old.cfg.Suite == cfg.Suite &&
		bytes.Equal(old.cfg.LocalKey, cfg.LocalKey) && bytes.Equal(old.cfg.RemoteKey, cfg.RemoteKey) {
		return nil // the same keys again (early media, then the answer): the streams go on
	}
	s, err := newSRTPLeg(*cfg)
	if err != nil {
		return err
	}
	e.srtp.Store(s)
	return nil
}

// SRTPKeys returns the endpoint's SRTP keying, if it speaks SRTP.
func (e *Endpoint) SRTPKeys() (SRTPConfig, bool) {
	if s := e.srtp.Load(); s != nil {
		return s.cfg, true
	}
	return SRTPConfig{}, false
}

// SRTP reports whether the endpoint speaks SRTP to its phone.
func (e *Endpoint) SRTP() bool { return e.srtp.Load() != nil }
