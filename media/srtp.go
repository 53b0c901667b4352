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
	enc *srtpDir
	dec *srtpDir
}

// srtpDir is one direction's context and buffers. A new keying that keeps
// a direction's key keeps its srtpDir, and with it the context's rollover
// counter and replay window: a fresh context for the same key would start
// its packet index over and reuse key stream.
type srtpDir struct {
	mu   sync.Mutex
	ctx  *srtp.Context
	hdr  rtp.Header
	rtcp rtcp.Header
	buf  [maxPacket + srtpOverhead]byte
}

func newSRTPDir(key []byte, profile srtp.ProtectionProfile, opts ...srtp.ContextOption) (*srtpDir, error) {
	ctx, err := srtp.CreateContext(key[:16], key[16:], profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSRTP, err)
	}
	return &srtpDir{ctx: ctx}, nil
}

// newSRTPLeg keys a leg by cfg, keeping the directions of old (nil for
// none) whose suite and key stay the same.
func newSRTPLeg(cfg SRTPConfig, old *srtpLeg) (*srtpLeg, error) {
	profile, err := suiteProfile(cfg.Suite)
	if err != nil {
		return nil, err
	}
	if len(cfg.LocalKey) != SRTPKeyLen || len(cfg.RemoteKey) != SRTPKeyLen {
		return nil, fmt.Errorf("%w: keys must be %d bytes", ErrSRTP, SRTPKeyLen)
	}
	s := &srtpLeg{cfg: cfg}
	if old != nil && old.cfg.Suite == cfg.Suite {
		if bytes.Equal(old.cfg.LocalKey, cfg.LocalKey) {
			s.enc = old.enc
		}
		if bytes.Equal(old.cfg.RemoteKey, cfg.RemoteKey) {
			s.dec = old.dec
		}
	}
	if s.enc == nil {
		if s.enc, err = newSRTPDir(cfg.LocalKey, profile); err != nil {
			return nil, err
		}
	}
	if s.dec == nil {
		if s.dec, err = newSRTPDir(cfg.RemoteKey, profile,
			srtp.SRTPReplayProtection(128), srtp.SRTCPReplayProtection(128)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// decryptRTP authenticates and decrypts one SRTP packet from the phone
// into the leg's buffer; only the endpoint's RTP goroutine calls it, and
// the result is valid until its next call.
func (s *srtpLeg) decryptRTP(pkt []byte) ([]byte, bool) {
	if len(pkt) < rtpHeaderSize || pkt[0]>>6 != 2 {
		return nil, false // the parser's errors allocate
	}
	d := s.dec
	d.mu.Lock()
	out, err := d.ctx.DecryptRTP(d.buf[:0], pkt, &d.hdr)
	d.mu.Unlock()
	return out, err == nil
}

// decryptRTCP is decryptRTP for SRTCP, into dst.
func (s *srtpLeg) decryptRTCP(dst, pkt []byte) ([]byte, bool) {
	d := s.dec
	d.mu.Lock()
	out, err := d.ctx.DecryptRTCP(dst[:0], pkt, &d.rtcp)
	d.mu.Unlock()
	return out, err == nil
}

// writeRTP sends an RTP packet to the phone at dst, encrypted when the
// endpoint speaks SRTP. A closed endpoint sends nothing: its sockets may
// be another call's by now (see PortAllocator).
func (e *Endpoint) writeRTP(pkt []byte, dst netip.AddrPort) {
	if e.closed.Load() {
		return
	}
	s := e.srtp.Load()
	if s == nil {
		_, _ = e.leg.ports.RTP.WriteToUDPAddrPort(pkt, dst)
		return
	}
	d := s.enc
	d.mu.Lock()
	out, err := d.ctx.EncryptRTP(d.buf[:0], pkt, &d.hdr)
	if err == nil {
		_, _ = e.leg.ports.RTP.WriteToUDPAddrPort(out, dst)
	}
	d.mu.Unlock()
}

// writeRTCP sends an RTCP packet to the phone at dst, as SRTCP when the
// endpoint speaks SRTP. A closed endpoint sends nothing (see writeRTP).
func (e *Endpoint) writeRTCP(pkt []byte, dst netip.AddrPort) {
	if e.closed.Load() {
		return
	}
	s := e.srtp.Load()
	if s == nil {
		_, _ = e.leg.ports.RTCP.WriteToUDPAddrPort(pkt, dst)
		return
	}
	d := s.enc
	d.mu.Lock()
	out, err := d.ctx.EncryptRTCP(d.buf[:0], pkt, &d.rtcp)
	if err == nil {
		_, _ = e.leg.ports.RTCP.WriteToUDPAddrPort(out, dst)
	}
	d.mu.Unlock()
}

// SetSRTP makes the phone's stream SRTP keyed by cfg (SDES), or plain RTP
// again (nil). What the phone sends is then authenticated and decrypted
// before anything else looks at it, and everything sent to it, RTP and
// RTCP, is encrypted; a packet that fails authentication is dropped. The
// bridged peer may be plain RTP: the relay decrypts on one leg and
// encrypts on the other. A new key (a re-INVITE's) starts a fresh context
// for its direction; a direction whose key stays keeps its context (its
// rollover counter and replay window), so a key is never used twice
// from packet index 0.
func (e *Endpoint) SetSRTP(cfg *SRTPConfig) error {
	if cfg == nil {
		e.srtp.Store(nil)
		return nil
	}
	old := e.srtp.Load()
	if old != nil && old.cfg.Suite == cfg.Suite &&
		bytes.Equal(old.cfg.LocalKey, cfg.LocalKey) && bytes.Equal(old.cfg.RemoteKey, cfg.RemoteKey) {
		return nil // the same keys again (early media, then the answer): the streams go on
	}
	s, err := newSRTPLeg(*cfg, old)
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
