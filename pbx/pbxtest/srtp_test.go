package pbxtest

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// A re-INVITE that repeats the other side's key leaves the test phone
// decrypting with the context it had: the PBX keeps encrypting with its
// own (media.Endpoint.SetSRTP), rollover counter included. A fresh
// context guessed a rollover counter of 0 and failed every packet once
// the PBX's sequence numbers had wrapped, as they now and then do before
// TestSRTPCallTLS holds the call (they start at random); that test failed
// so once under load.
func TestAnswerRekeyKeepsContextOfRepeatedKey(t *testing.T) {
	pbxKey := newKey()
	pbxEnc, err := srtp.CreateContext(pbxKey[:16], pbxKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	m := &mediaSession{localKey: newKey()}
	s, err := newPhoneSRTP(srtpSuite80, m.localKey, pbxKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.srtp.Store(s)

	seq := uint16(65530)
	send := func() []byte {
		t.Helper()
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x1234},
			Payload: make([]byte, 160)}
		seq++
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out, err := pbxEnc.EncryptRTP(nil, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Across the wrap before the re-key: the PBX's rollover counter is 1.
	for i := range 10 {
		if _, err := m.srtp.Load().dec.DecryptRTP(nil, send(), nil); err != nil {
			t.Fatalf("packet %d before the re-key: %v", i, err)
		}
	}
	line, ok := m.answerRekey([]cryptoLine{{tag: 1, suite: srtpSuite80, key: pbxKey}})
	if !ok {
		t.Fatal("no answer to the re-keying offer")
	}
	if string(line.key) == string(s.local) {
		t.Error("the answer repeats the phone's old key")
	}
	for i := range 10 {
		if _, err := m.srtp.Load().dec.DecryptRTP(nil, send(), nil); err != nil {
			t.Fatalf("packet %d after the re-key, PBX key unchanged: %v", i, err)
		}
	}
	// A new key from the PBX starts a new context on both sides.
	newPBXKey := newKey()
	if pbxEnc, err = srtp.CreateContext(newPBXKey[:16], newPBXKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.answerRekey([]cryptoLine{{tag: 1, suite: srtpSuite80, key: newPBXKey}}); !ok {
		t.Fatal("no answer to the second re-keying offer")
	}
	if _, err := m.srtp.Load().dec.DecryptRTP(nil, send(), nil); err != nil {
		t.Fatalf("first packet under the PBX's new key: %v", err)
	}
}
