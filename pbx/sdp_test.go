package pbx

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/officepbx/pbx/media"
)

const sdpHead = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		err     error
		remote  string
		codecs  []uint8
		eventPT uint8
	}{
		{"PCMU and PCMA with events", sdpHead + "m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
			nil, "192.0.2.1:4000", []uint8{8, 0}, 101},
		{"media-level address wins", sdpHead + "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 198.51.100.7\r\n",
			nil, "198.51.100.7:4000", []uint8{0}, 0},
		{"other codecs skipped", sdpHead + "m=audio 4000 RTP/AVP 18 9 0\r\n", nil, "192.0.2.1:4000", []uint8{0}, 0},
		{"video first", sdpHead + "m=video 5000 RTP/AVP 96\r\nm=audio 4000 RTP/AVP 8\r\n", nil, "192.0.2.1:4000", []uint8{8}, 0},
		{"hold address", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
			nil, "invalid AddrPort", []uint8{0}, 0},
		{"no body", "", errNoOffer, "", nil, 0},
		{"garbage", "hello", errBadSDP, "", nil, 0},
		{"no connection", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", errBadSDP, "", nil, 0},
		{"G.729 only", sdpHead + "m=audio 4000 RTP/AVP 18\r\n", errNoCodec, "", nil, 0},
		{"no audio", sdpHead + "m=video 5000 RTP/AVP 96\r\n", errNoCodec, "", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseSDP([]byte(tc.body))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if o.remote.String() != tc.remote || !slices.Equal(o.codecs, tc.codecs) || o.eventPT != tc.eventPT {
				t.Errorf("got %v %v %d, want %s %v %d", o.remote, o.codecs, o.eventPT, tc.remote, tc.codecs, tc.eventPT)
			}
		})
	}
}

func TestBuildSDPParses(t *testing.T) {
	body := buildSDP(sdpParams{sessionID: 7, version: 1, addr: netip.MustParseAddr("203.0.113.5"), port: 10002,
		codecs: []uint8{0, 8}, eventPT: 101})
	o, err := parseSDP(body)
	if err != nil {
		t.Fatalf("%v in\n%s", err, body)
	}
	if o.remote.String() != "203.0.113.5:10002" || o.rtcp.Port() != 10003 || !slices.Equal(o.codecs, []uint8{0, 8}) || o.eventPT != 101 {
		t.Errorf("round trip: %+v", o)
	}
}

func FuzzParseSDP(f *testing.F) {
	f.Add([]byte(sdpHead + "m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:4001\r\n"))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte(sdpHead + "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH|2^31\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseSDP(b)
		if err == nil && len(o.codecs) == 0 {
			t.Fatal("accepted an offer without a codec")
		}
		for _, c := range o.crypto {
			if len(c.key) != media.SRTPKeyLen || !media.SuiteSupported(c.suite) {
				t.Fatalf("unusable crypto line kept: %s", c.suite)
			}
		}
	})
}
