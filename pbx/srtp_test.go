package pbx

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

var testKey = bytes.Repeat([]byte{7}, media.SRTPKeyLen)

func TestParseCrypto(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(testKey)
	good := []struct {
		in    string
		tag   int
		suite string
	}{
		{"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64, 1, media.SuiteAES128SHA1_80},
		{"2 AES_CM_128_HMAC_SHA1_32 inline:" + b64 + "|2^31", 2, media.SuiteAES128SHA1_32},
		{"3 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|1048576", 3, media.SuiteAES128SHA1_80},
		{"1  AES_CM_128_HMAC_SHA1_80   inline:" + strings.TrimRight(b64, "="), 1, media.SuiteAES128SHA1_80},
	}
	for _, tt := range good {
		c, err := parseCrypto(tt.in)
		if err != nil || c.tag != tt.tag || c.suite != tt.suite || !bytes.Equal(c.key, testKey) {
			t.Errorf("%q: %+v %v", tt.in, c, err)
		}
	}
	bad := []string{
		"",
		"1 AES_CM_128_HMAC_SHA1_80",
		"x AES_CM_128_HMAC_SHA1_80 inline:" + b64,
		"-1 AES_CM_128_HMAC_SHA1_80 inline:" + b64,
		"1 AES_256_CM_HMAC_SHA1_80 inline:" + b64,
		"1 AEAD_AES_128_GCM inline:" + b64,
		"1 AES_CM_128_HMAC_SHA1_80 uri:" + b64,
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|2^20|1:4",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|2^99",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + ";inline:" + b64,
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + " UNENCRYPTED_SRTP",
		"1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=",
		"1 AES_CM_128_HMAC_SHA1_80 inline:!!!",
	}
	for _, in := range bad {
		if _, err := parseCrypto(in); !errors.Is(err, errBadCrypto) {
			t.Errorf("%q: %v, want errBadCrypto", in, err)
		}
	}
}

// An a=crypto line the PBX writes reads back the same, and the key never
// shows in an error.
func TestCryptoRoundTripAndNoKeyInErrors(t *testing.T) {
	c := sdesCrypto{tag: 9, suite: media.SuiteAES128SHA1_32, key: testKey}
	back, err := parseCrypto(c.String())
	if err != nil || back.tag != 9 || back.suite != c.suite || !bytes.Equal(back.key, testKey) {
		t.Fatalf("%+v %v", back, err)
	}
	b64 := base64.StdEncoding.EncodeToString(testKey)
	for _, in := range []string{"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|2^99", "1 AES_CM_128_HMAC_SHA1_80 inline:" + b64[:20]} {
		if _, err := parseCrypto(in); err == nil || strings.Contains(err.Error(), b64[:20]) {
			t.Errorf("error %v shows the key", err)
		}
	}
}

func TestSDPWithCrypto(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString(testKey)
	body := sdpHead + "m=audio 4000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:" + b64 + b64[:10] + "\r\n" +
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "\r\n"
	o, err := parseSDP([]byte(body))
	if err != nil || !o.savp || len(o.crypto) != 1 || o.crypto[0].tag != 2 {
		t.Fatalf("%+v %v", o, err)
	}
	line, cfg, err := answerSRTP(store.SRTPOptional, true, o)
	if err != nil || line == nil || !line.savp || line.crypto.tag != 2 || cfg == nil ||
		!bytes.Equal(cfg.RemoteKey, testKey) || bytes.Equal(cfg.LocalKey, testKey) {
		t.Fatalf("answer %+v %+v %v", line, cfg, err)
	}
	out := string(buildSDP(sdpParams{addr: o.remote.Addr(), port: 5000, codecs: []uint8{0}, sdes: line}))
	if !strings.Contains(out, "m=audio 5000 RTP/SAVP 0\r\n") || !strings.Contains(out, "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:") {
		t.Fatalf("answer SDP:\n%s", out)
	}
	back, err := parseSDP([]byte(out))
	if err != nil || !back.savp || len(back.crypto) != 1 || !bytes.Equal(back.crypto[0].key, cfg.LocalKey) {
		t.Fatalf("answer reads back as %+v %v", back, err)
	}
}

func TestSRTPNegotiation(t *testing.T) {
	cr := []sdesCrypto{{tag: 1, suite: media.SuiteAES128SHA1_80, key: testKey}}
	tests := []struct {
		name    string
		setting string
		tls     bool
		offer   mediaOffer
		srtp    bool
		refused bool
	}{
		{"optional TLS SAVP", store.SRTPOptional, true, mediaOffer{savp: true, crypto: cr}, true, false},
		{"optional TLS AVP best effort", store.SRTPOptional, true, mediaOffer{crypto: cr}, true, false},
		{"optional TLS plain", store.SRTPOptional, true, mediaOffer{}, false, false},
		{"optional UDP SAVP", store.SRTPOptional, false, mediaOffer{savp: true, crypto: cr}, false, true},
		{"optional UDP AVP with crypto", store.SRTPOptional, false, mediaOffer{crypto: cr}, false, false},
		{"optional TLS SAVP no usable crypto", store.SRTPOptional, true, mediaOffer{savp: true}, false, true},
		{"required TLS plain", store.SRTPRequired, true, mediaOffer{}, false, true},
		{"required UDP", store.SRTPRequired, false, mediaOffer{crypto: cr}, false, true},
		{"required TLS SAVP", store.SRTPRequired, true, mediaOffer{savp: true, crypto: cr}, true, false},
		{"off TLS SAVP", store.SRTPOff, true, mediaOffer{savp: true, crypto: cr}, false, true},
		{"off TLS AVP with crypto", store.SRTPOff, true, mediaOffer{crypto: cr}, false, false},
	}
	for _, tt := range tests {
		line, cfg, err := answerSRTP(tt.setting, tt.tls, tt.offer)
		if tt.refused != errors.Is(err, errNeedSRTP) || tt.srtp != (cfg != nil) || (line != nil) != (cfg != nil) {
			t.Errorf("%s: line %v cfg %v err %v", tt.name, line != nil, cfg != nil, err)
		}
		if line != nil && line.savp != tt.offer.savp {
			t.Errorf("%s: answer profile SAVP %v, offer %v", tt.name, line.savp, tt.offer.savp)
		}
	}

	// Offers to callees, and their answers.
	if l, ok := offerSRTP(store.SRTPOptional, true); !ok || l == nil || l.savp {
		t.Errorf("optional TLS callee: %+v %v, want best-effort RTP/AVP offer", l, ok)
	}
	if l, ok := offerSRTP(store.SRTPRequired, true); !ok || l == nil || !l.savp {
		t.Errorf("required TLS callee: %+v %v, want RTP/SAVP offer", l, ok)
	}
	if l, ok := offerSRTP(store.SRTPOptional, false); !ok || l != nil {
		t.Errorf("optional UDP callee: %+v %v, want plain", l, ok)
	}
	if _, ok := offerSRTP(store.SRTPRequired, false); ok {
		t.Error("required UDP callee would be rung")
	}
	if l, ok := offerSRTP(store.SRTPOff, true); !ok || l != nil {
		t.Errorf("off TLS callee: %+v %v", l, ok)
	}
	offered, _ := offerSRTP(store.SRTPOptional, true)
	if cfg, err := acceptSRTP(offered, mediaOffer{crypto: cr}); err != nil || cfg == nil || !bytes.Equal(cfg.LocalKey, offered.crypto.key) {
		t.Errorf("answer with the offered tag: %+v %v", cfg, err)
	}
	if cfg, err := acceptSRTP(offered, mediaOffer{}); err != nil || cfg != nil {
		t.Errorf("plain answer to a best-effort offer: %+v %v", cfg, err)
	}
	if _, err := acceptSRTP(offered, mediaOffer{crypto: []sdesCrypto{{tag: 5, suite: media.SuiteAES128SHA1_80, key: testKey}}, savp: true}); !errors.Is(err, errNeedSRTP) {
		t.Errorf("SAVP answer with another tag: %v", err)
	}
	required, _ := offerSRTP(store.SRTPRequired, true)
	if _, err := acceptSRTP(required, mediaOffer{}); !errors.Is(err, errNeedSRTP) {
		t.Errorf("plain answer to an RTP/SAVP offer: %v", err)
	}
	if _, err := acceptSRTP(nil, mediaOffer{savp: true}); !errors.Is(err, errNeedSRTP) {
		t.Errorf("SAVP answer to a plain offer: %v", err)
	}
}

// FuzzParseCrypto: any a=crypto value parses or is refused with
// errBadCrypto, never panics; what parses has a usable key and writes
// back to the same line.
func FuzzParseCrypto(f *testing.F) {
	b64 := base64.StdEncoding.EncodeToString(testKey)
	for _, s := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64,
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + b64 + "|2^31|1:1",
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|2^20 KDR=1",
		"", "1", "1 X inline:", "99999999999 AES_CM_128_HMAC_SHA1_80 inline:" + b64,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCrypto(s)
		if err != nil {
			if !errors.Is(err, errBadCrypto) {
				t.Fatalf("%q: %v not errBadCrypto", s, err)
			}
			return
		}
		if len(c.key) != media.SRTPKeyLen || !media.SuiteSupported(c.suite) {
			t.Fatalf("%q parsed to %+v", s, c)
		}
		back, err := parseCrypto(c.String())
		if err != nil || back.tag != c.tag || back.suite != c.suite || !bytes.Equal(back.key, c.key) {
			t.Fatalf("%q: written back as %q: %+v %v", s, c.String(), back, err)
		}
		var e media.Endpoint
		if err := e.SetSRTP(&media.SRTPConfig{Suite: c.suite, LocalKey: c.key, RemoteKey: c.key}); err != nil {
			t.Fatalf("%q: endpoint refuses the keys: %v", s, err)
		}
	})
}
