package pbx

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/officepbx/pbx/media"
)

// telephoneEventPT is the dynamic payload type the PBX offers for RFC 4733
// telephone-event/8000.
const telephoneEventPT uint8 = 101

// mediaOffer is what the PBX needs from one side's SDP: where its audio
// goes and which codecs it takes, in its order of preference.
type mediaOffer struct {
	remote  netip.AddrPort // zero when the address is not an IP (or 0.0.0.0): wait for the phone's packets
	rtcp    netip.AddrPort // from a=rtcp; zero means RTP port + 1
	codecs  []uint8        // PCMU and PCMA only, in the SDP's order
	eventPT uint8          // telephone-event/8000 payload type, 0 if none
	dir     direction      // the stream's direction attribute
	// inband is set for a phone's SDP without telephone-event: its keys
	// come as tones in its audio (or by SIP INFO), so its leg listens
	// for them.
	inband bool
	// savp is set for a secure profile (RTP/SAVP): the stream must be
	// SRTP. crypto holds its usable a=crypto lines (RFC 4568), in order.
	savp   bool
	crypto []sdesCrypto
	// srtp is the SRTP the PBX negotiated for this SDP (an answer to its
	// offer, or its answer to this offer); nil for plain RTP.
	srtp *media.SRTPConfig
	// sdes is the PBX's a=crypto line answering this offer.
	sdes *sdesLine
}

// direction is an SDP stream's direction (RFC 3264 §5.1): what the side
// that wrote it will do.
type direction uint8

const (
	dirSendRecv direction = iota
	dirSendOnly
	dirRecvOnly
	dirInactive
)

var directionNames = [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}

func (d direction) String() string { return directionNames[d] }

// sends and receives tell what the side that wrote d does.
func (d direction) sends() bool    { return d == dirSendRecv || d == dirSendOnly }
func (d direction) receives() bool { return d == dirSendRecv || d == dirRecvOnly }

// answer is the direction that answers an offer of d (RFC 3264 §6.1).
func (d direction) answer() direction {
	switch d {
	case dirSendOnly:
		return dirRecvOnly
	case dirRecvOnly:
		return dirSendOnly
	}
	return d
}

// parseDirection reads a direction attribute from a media section, else
// from the session, else sendrecv.
func parseDirection(m *sdp.MediaDescription, s *sdp.SessionDescription) direction {
	find := func(attrs []sdp.Attribute) (direction, bool) {
		for _, a := range attrs {
			for i, name := range directionNames {
				if a.Key == name {
					return direction(i), true
				}
			}
		}
		return dirSendRecv, false
	}
	if d, ok := find(m.Attributes); ok {
		return d
	}
	d, _ := find(s.Attributes)
	return d
}

// parseSDP reads the first active audio stream of an SDP body. A body that
// does not parse, or has no audio stream, wraps errBadSDP; one offering
// neither PCMU nor PCMA wraps errNoCodec.
func parseSDP(body []byte) (mediaOffer, error) {
	var out mediaOffer
	if len(body) == 0 {
		return out, fmt.Errorf("%w: no session description", errNoOffer)
	}
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return out, fmt.Errorf("%w: %v", errBadSDP, err)
	}
	var audio *sdp.MediaDescription
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			audio = m
			break
		}
	}
	if audio == nil {
		return out, fmt.Errorf("%w: no audio stream", errNoCodec)
	}
	port := audio.MediaName.Port.Value
	if port < 1 || port > 65535 {
		return out, fmt.Errorf("%w: audio port %d", errBadSDP, port)
	}
	conn := audio.ConnectionInformation
	if conn == nil {
		conn = s.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return out, fmt.Errorf("%w: no connection address", errBadSDP)
	}
	out.savp = strings.Contains(strings.Join(audio.MediaName.Protos, "/"), "SAVP")
	for _, a := range audio.Attributes {
		if a.Key == "crypto" {
			if c, err := parseCrypto(a.Value); err == nil {
				out.crypto = append(out.crypto, c)
			}
		}
	}
	out.dir = parseDirection(audio, &s)
	ip, err := netip.ParseAddr(conn.Address.Address)
	if err == nil && ip.IsUnspecified() && out.dir == dirSendRecv {
		// RFC 2543 hold, still sent by some phones: c=0.0.0.0.
		out.dir = dirSendOnly
	}
	if err == nil && !ip.IsUnspecified() {
		out.remote = netip.AddrPortFrom(ip.Unmap(), uint16(port))
		if v, ok := audio.Attribute("rtcp"); ok {
			if p, err := strconv.Atoi(strings.Fields(v + " ")[0]); err == nil && p > 0 && p <= 65535 {
				out.rtcp = netip.AddrPortFrom(out.remote.Addr(), uint16(p))
			}
		}
	}
	rtpmap := map[uint8]string{}
	for _, a := range audio.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		n, err := strconv.ParseUint(pt, 10, 8)
		if ok && err == nil {
			rtpmap[uint8(n)] = strings.ToLower(strings.TrimSpace(enc))
		}
	}
	for _, f := range audio.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			continue
		}
		pt := uint8(n)
		switch {
		case pt == media.PayloadPCMU || pt == media.PayloadPCMA:
			out.codecs = append(out.codecs, pt)
		case rtpmap[pt] == "telephone-event/8000" && out.eventPT == 0:
			out.eventPT = pt
		}
	}
	if len(out.codecs) == 0 {
		return out, fmt.Errorf("%w: neither PCMU nor PCMA offered", errNoCodec)
	}
	out.inband = out.eventPT == 0
	return out, nil
}

// sdpParams describes an SDP the PBX sends.
type sdpParams struct {
	sessionID uint64
	version   uint64
	addr      netip.Addr // the PBX's media address
	port      int        // RTP port; RTCP is port+1
	codecs    []uint8
	eventPT   uint8     // 0: no telephone-event
	dir       direction // sendrecv unless holding
	sdes      *sdesLine // SRTP: the PBX's a=crypto line and profile
}

func newSessionID() uint64 { return rand.Uint64N(1 << 62) }

// buildSDP writes a one-stream audio SDP.
func buildSDP(p sdpParams) []byte {
	ipVer := "IP4"
	if p.addr.Is6() {
		ipVer = "IP6"
	}
	addr := p.addr.String()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=pbx %d %d IN %s %s\r\ns=pbx\r\nc=IN %s %s\r\nt=0 0\r\n", p.sessionID, p.version, ipVer, addr, ipVer, addr)
	profile := "RTP/AVP"
	if p.sdes != nil && p.sdes.savp {
		profile = "RTP/SAVP"
	}
	fmt.Fprintf(&b, "m=audio %d %s", p.port, profile)
	for _, c := range p.codecs {
		fmt.Fprintf(&b, " %d", c)
	}
	if p.eventPT != 0 {
		fmt.Fprintf(&b, " %d", p.eventPT)
	}
	b.WriteString("\r\n")
	for _, c := range p.codecs {
		switch c {
		case media.PayloadPCMU:
			b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		case media.PayloadPCMA:
			b.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		}
	}
	if p.eventPT != 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", p.eventPT, p.eventPT)
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=rtcp:%d\r\na=%s\r\n", p.port+1, p.dir)
	if p.sdes != nil {
		b.WriteString("a=crypto:" + p.sdes.crypto.String() + "\r\n")
	}
	return []byte(b.String())
}

// pickCodec returns the first codec in the SDP's order: for an offer the
// codec the PBX answers with, for an answer the one the callee chose. Both
// G.711 laws do, since the relay transcodes between them.
func pickCodec(o mediaOffer) uint8 { return o.codecs[0] }
