package pbx_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// srtpPhone registers extension number over TLS as a phone that speaks
// SRTP, sending a tone at freq.
func srtpPhone(t *testing.T, p *pbxtest.PBX, number string, freq float64, fields map[string]any) *pbxtest.UA {
	t.Helper()
	return phone(t, p, p.CreateExtension(number, fields), pbxtest.WithTransport("tls"), pbxtest.WithSRTP(), pbxtest.WithTone(freq))
}

// wantEncrypted checks that a call's media is SRTP and that what came
// off the wire is not the audio it carries: decoded as G.711 as it came,
// the latest packet holds none of the tone its plaintext holds.
func wantEncrypted(t *testing.T, name string, c *pbxtest.Call, tone float64) {
	t.Helper()
	if !c.SRTP() {
		t.Fatalf("%s: media is not SRTP", name)
	}
	if n := c.SRTPFailures(); n != 0 {
		t.Errorf("%s: %d packets failed SRTP authentication", name, n)
	}
	wire, plain := c.WirePacket()
	if len(plain) < 12+media.FrameSamples || len(wire) < len(plain) {
		t.Fatalf("%s: no SRTP packet seen (wire %d bytes, plain %d)", name, len(wire), len(plain))
	}
	wirePayload, plainPayload := wire[12:12+media.FrameSamples], plain[12:12+media.FrameSamples]
	if bytes.Equal(wirePayload, plainPayload) {
		t.Fatalf("%s: the payload on the wire is the plain audio", name)
	}
	pt := plain[1] & 0x7f
	var w, p [media.FrameSamples]int16
	media.DecodePCM(w[:], wirePayload, pt)
	media.DecodePCM(p[:], plainPayload, pt)
	// The share of the frame's power at the tone: about 1/2 for a pure
	// tone, a few percent for noise such as ciphertext.
	share := func(pcm []int16) float64 {
		var sum float64
		for _, x := range pcm {
			sum += float64(x) * float64(x)
		}
		if sum == 0 {
			return 0
		}
		return pbxtest.TonePower(pcm, tone) / (sum / float64(len(pcm)))
	}
	onWire, inPlain := share(w[:]), share(p[:])
	t.Logf("%s: %.0f Hz tone's share of the power %.3f decrypted, %.3f as on the wire", name, tone, inPlain, onWire)
	if inPlain < 0.3 || onWire > 0.15 {
		t.Errorf("%s: tone share %.3f decrypted and %.3f on the wire: want the tone only after decryption", name, inPlain, onWire)
	}
}

// cryptoKey is the inline key of an SDP body's a=crypto line.
func cryptoKey(t *testing.T, body string) string {
	t.Helper()
	_, after, ok := strings.Cut(body, "a=crypto:")
	_, key, ok2 := strings.Cut(after, "inline:")
	if !ok || !ok2 {
		t.Fatalf("no a=crypto in\n%s", body)
	}
	return strings.Fields(key)[0]
}

// TestSRTPCallTLS: two phones registered over TLS call each other with
// SRTP: each hears the other's tone, what they receive is encrypted, and
// the SDP on both sides carries the PBX's own keys.
func TestSRTPCallTLS(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithTLS())
	a := srtpPhone(t, p, "101", 440, nil)
	b := srtpPhone(t, p, "102", 1000, nil)

	var list struct {
		Items []struct {
			Extension string `json:"extension"`
			Source    string `json:"source"`
		} `json:"items"`
	}
	if err := json.Unmarshal(p.MustDo(200, "GET", "/api/v1/registrations", nil), &list); err != nil {
		t.Fatal(err)
	}
	regs := list.Items
	for _, r := range regs {
		if !strings.HasSuffix(r.Source, "/tls") {
			t.Errorf("registration of %s from %s, want over TLS", r.Extension, r.Source)
		}
	}
	if len(regs) != 2 {
		t.Fatalf("%d registrations, want 2", len(regs))
	}

	caller, callee := connect(t, a, b, "102")
	hearEachOther(t, caller, callee, 440, 1000)
	wantEncrypted(t, "caller", caller, 1000)
	wantEncrypted(t, "callee", callee, 440)

	answer := string(caller.Response().Body())
	if !strings.Contains(answer, "m=audio") || !strings.Contains(answer, " RTP/SAVP ") || !strings.Contains(answer, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") {
		t.Errorf("answer to the SRTP caller:\n%s", answer)
	}
	offer := string(callee.Invite.Body())
	if !strings.Contains(offer, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") || !strings.Contains(offer, " RTP/AVP ") {
		t.Errorf("offer to the optional-SRTP callee (best effort, RTP/AVP with a=crypto):\n%s", offer)
	}

	// Hold and resume: the caller re-keys with each re-INVITE, the PBX
	// answers with a new key of its own; the callee re-keys in its answers
	// to the PBX's re-INVITEs. Audio flows again both ways under the new
	// keys.
	firstKey := cryptoKey(t, answer)
	res, err := caller.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	// The PBX tells the callee it is held; the callee's answer re-keys its
	// side too, and the PBX follows.
	if d, err := callee.WaitOffered(ctx(t), 1); err != nil || d != pbxtest.SendOnly {
		t.Fatalf("held phone offered %q (%v)", d, err)
	}
	// A PBX re-INVITE may still be pending: the resume is then answered 500
	// with Retry-After, and the phone retries (RFC 3261 14.2).
	pbxtest.WaitFor(t, "the caller's resume", func() bool {
		res, err = caller.Resume(ctx(t))
		return err == nil && res.StatusCode == sip.StatusOK
	})
	if k := cryptoKey(t, string(res.Body())); k == firstKey {
		t.Error("the PBX answered the re-keying re-INVITE with its old key")
	}
	for i, c := range []*pbxtest.Call{caller, callee} {
		if err := c.WaitAudio(ctx(t), c.Received()+50); err != nil {
			t.Fatalf("%s: no audio after re-keying: %v (%d packets in all, %d failed to authenticate)",
				[]string{"caller", "callee"}[i], err, c.Received(), c.SRTPFailures())
		}
	}
	hearEachOther(t, caller, callee, 440, 1000)
	// Packets in flight while a side switched keys may fail to
	// authenticate; once both have, none does.
	failed := [2]int64{caller.SRTPFailures(), callee.SRTPFailures()}
	for _, c := range []*pbxtest.Call{caller, callee} {
		if err := c.WaitAudio(ctx(t), c.Received()+50); err != nil {
			t.Fatalf("audio stopped after re-keying: %v", err)
		}
	}
	if now := [2]int64{caller.SRTPFailures(), callee.SRTPFailures()}; now != failed {
		t.Errorf("SRTP failures went on after re-keying: %v then %v", failed, now)
	}
	t.Logf("packets lost to re-keying (caller, callee): %v", failed)
	hangUp(t, caller, callee)
	wantCDR(t, p, store.DispositionAnswered, "caller hung up")
}

// TestSRTPToRTP: the relay bridges an SRTP leg (a TLS phone) and a plain
// RTP one (a UDP phone), both ways round: two-way audio, encrypted only
// on the SRTP leg.
func TestSRTPToRTP(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithTLS())
	secure := srtpPhone(t, p, "101", 440, nil)
	plain := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(1000))

	t.Run("SRTP caller", func(t *testing.T) {
		caller, callee := connect(t, secure, plain, "102")
		hearEachOther(t, caller, callee, 440, 1000)
		wantEncrypted(t, "SRTP caller", caller, 1000)
		var calls struct {
			Items []struct {
				Legs []struct {
					Role string `json:"role"`
					SRTP bool   `json:"srtp"`
				} `json:"legs"`
			} `json:"items"`
		}
		if err := json.Unmarshal(p.MustDo(200, "GET", "/api/v1/calls", nil), &calls); err != nil {
			t.Fatal(err)
		}
		if len(calls.Items) != 1 || len(calls.Items[0].Legs) != 2 || !calls.Items[0].Legs[0].SRTP || calls.Items[0].Legs[1].SRTP {
			t.Errorf("calls API: %+v, want the caller's leg SRTP and the callee's not", calls.Items)
		}
		if callee.SRTP() || strings.Contains(string(callee.Invite.Body()), "a=crypto") {
			t.Errorf("the UDP callee was offered SRTP:\n%s", callee.Invite.Body())
		}
		hangUp(t, caller, callee)
	})
	t.Run("SRTP callee", func(t *testing.T) {
		caller, callee := connect(t, plain, secure, "101")
		hearEachOther(t, caller, callee, 1000, 440)
		wantEncrypted(t, "SRTP callee", callee, 1000)
		if caller.SRTP() || strings.Contains(string(caller.Response().Body()), "a=crypto") {
			t.Errorf("the UDP caller was answered with SRTP:\n%s", caller.Response().Body())
		}
		hangUp(t, caller, callee)
	})
}

// TestSRTPRequired: an extension with srtp=required calling without SRTP
// gets 488, over TLS or not; with SRTP over TLS it gets through. An SRTP
// offer over UDP (keys in clear) gets 488 whatever the setting, and
// srtp=off refuses an SRTP offer. A required extension's phone that
// registered over UDP is not rung.
func TestSRTPRequired(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithTLS())
	callee := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(1000))
	req := map[string]any{"srtp": "required"}
	plainTLS := phone(t, p, p.CreateExtension("103", req), pbxtest.WithTransport("tls"))
	plainUDP := phone(t, p, p.CreateExtension("104", req))
	srtpUDP := phone(t, p, p.CreateExtension("105", nil), pbxtest.WithSRTP())
	off := phone(t, p, p.CreateExtension("106", map[string]any{"srtp": "off"}), pbxtest.WithTransport("tls"), pbxtest.WithSRTP())
	good := srtpPhone(t, p, "107", 440, req)

	for _, tc := range []struct {
		name string
		ua   *pbxtest.UA
	}{
		{"required, TLS without SRTP", plainTLS},
		{"required, UDP without SRTP", plainUDP},
		{"SRTP offered over UDP", srtpUDP},
		{"SRTP offered with srtp off", off},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.ua.Dial(ctx(t), "102")
			if err != nil || c.Status() != sip.StatusNotAcceptableHere {
				t.Fatalf("dial: %v %d, want 488", err, c.Status())
			}
			if cdr := p.LastCDR(ctx(t)); cdr.Disposition != store.DispositionFailed || cdr.HangupCause != "no common codec" {
				t.Errorf("CDR %s/%q", cdr.Disposition, cdr.HangupCause)
			}
		})
	}
	t.Run("required with SRTP over TLS", func(t *testing.T) {
		caller, answered := connect(t, good, callee, "102")
		hearEachOther(t, caller, answered, 440, 1000)
		wantEncrypted(t, "caller", caller, 1000)
		hangUp(t, caller, answered)
	})
	t.Run("required callee on UDP is not rung", func(t *testing.T) {
		c, err := callee.Dial(ctx(t), "104")
		if err != nil || c.Status() != sip.StatusTemporarilyUnavailable {
			t.Fatalf("dial: %v %d, want 480", err, c.Status())
		}
		if n := plainUDP.Received(sip.INVITE); n != 0 {
			t.Fatalf("the UDP phone of a required extension got %d INVITEs", n)
		}
	})
	t.Run("required callee on TLS is offered RTP/SAVP", func(t *testing.T) {
		caller, answered := connect(t, callee, good, "107")
		if !strings.Contains(string(answered.Invite.Body()), " RTP/SAVP ") {
			t.Errorf("offer to a required callee:\n%s", answered.Invite.Body())
		}
		hearEachOther(t, caller, answered, 1000, 440)
		wantEncrypted(t, "callee", answered, 1000)
		hangUp(t, caller, answered)
	})
}
