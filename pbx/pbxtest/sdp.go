package pbxtest

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// defaultEventPT is the payload type the test phones use for
// telephone-event unless WithEventPT says otherwise.
const defaultEventPT = 101

// buildSDP writes a phone's audio SDP: codecs in preference order plus
// telephone-event with payload type eventPT, on 127.0.0.1:port.
func buildSDP(port int, codecs []uint8, eventPT uint8) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=pbxtest 1 1 IN IP4 127.0.0.1\r\ns=pbxtest\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP", port)
	for _, c := range codecs {
		fmt.Fprintf(&b, " %d", c)
	}
	if eventPT != 0 {
		fmt.Fprintf(&b, " %d", eventPT)
	}
	b.WriteString("\r\n")
	for _, c := range codecs {
		switch c {
		case PCMU:
			b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		case PCMA:
			b.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		}
	}
	if eventPT != 0 { // 0: a phone without RFC 4733 (in-band DTMF or SIP INFO)
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", eventPT, eventPT)
	}
	b.WriteString("a=ptime:20\r\na=sendrecv\r\n")
	return []byte(b.String())
}

// remoteMedia is what a phone reads from the other side's SDP.
type remoteMedia struct {
	addr    netip.AddrPort
	codecs  []uint8 // G.711 payload types, in order
	eventPT uint8   // telephone-event/8000 payload type, 0 if none
	savp    bool    // RTP/SAVP
	crypto  []cryptoLine
	raw     string
}

func parseSDP(body []byte) (remoteMedia, error) {
	var out remoteMedia
	out.raw = string(body)
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return out, err
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		conn := m.ConnectionInformation
		if conn == nil {
			conn = s.ConnectionInformation
		}
		if conn == nil || conn.Address == nil {
			return out, fmt.Errorf("no c= line")
		}
		ip, err := netip.ParseAddr(conn.Address.Address)
		if err != nil {
			return out, err
		}
		out.addr = netip.AddrPortFrom(ip, uint16(m.MediaName.Port.Value))
		out.savp = strings.Contains(strings.Join(m.MediaName.Protos, "/"), "SAVP")
		for _, a := range m.Attributes {
			if c, ok := parseCryptoLine(a.Value); ok && a.Key == "crypto" {
				out.crypto = append(out.crypto, c)
			}
		}
		for _, f := range m.MediaName.Formats {
			if n, err := strconv.Atoi(f); err == nil && (n == int(PCMU) || n == int(PCMA)) {
				out.codecs = append(out.codecs, uint8(n))
			}
		}
		for _, a := range m.Attributes {
			pt, enc, ok := strings.Cut(a.Value, " ")
			n, err := strconv.ParseUint(pt, 10, 8)
			if a.Key == "rtpmap" && ok && err == nil && strings.EqualFold(strings.TrimSpace(enc), "telephone-event/8000") {
				out.eventPT = uint8(n)
				break
			}
		}
		return out, nil
	}
	return out, fmt.Errorf("no audio stream")
}

// chooseCodec picks the first of the offer's codecs that the phone takes.
func chooseCodec(offered, mine []uint8) (uint8, bool) {
	for _, o := range offered {
		for _, m := range mine {
			if o == m {
				return o, true
			}
		}
	}
	return 0, false
}
