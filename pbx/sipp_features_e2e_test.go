package pbx_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// In-call features driven by sipp scenarios (bench/sipp), as another
// implementation of a phone than the test kit's: hold and resume, blind
// transfer. sipp plays extension 101 and streams sippTone; the other
// phones are the kit's.

// sippTone is the tone sipp streams (tone.ulaw in its working directory).
const sippTone = 440

// ulawTone is one second of a sine at freq (a whole number of Hz, so it
// loops without a click) as raw G.711 u-law, for sipp's rtp_stream.
func ulawTone(freq float64) []byte {
	pcm := make([]int16, 8000)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	out := make([]byte, len(pcm))
	media.EncodePCM(out, pcm, media.PayloadPCMU)
	return out
}

// hears checks that c hears the tone want and none of the others, in
// audio received from now on.
func hears(t *testing.T, name string, c *pbxtest.Call, want float64, others ...float64) {
	t.Helper()
	listen(t, c)
	w := c.Heard(want)
	t.Logf("%s: %.0f at %v Hz", name, w, want)
	if w < 1000 {
		t.Errorf("%s hears %.0f at %v Hz: want that tone", name, w, want)
	}
	for _, o := range others {
		if h := c.Heard(o); w < 100*h {
			t.Errorf("%s hears %.0f at %v Hz beside %.0f at %v Hz: want only the latter", name, h, o, w, want)
		}
	}
}

// nextStep ends the phase sipp's scenario is in (talk, held...): an INFO
// from the other phone, which the PBX passes on and sipp answers 200.
func nextStep(t *testing.T, c *pbxtest.Call, step string) {
	t.Helper()
	res, err := c.SendInfo(ctx(t), "application/x-pbxtest-step", []byte(step+"\r\n"))
	if err != nil {
		t.Fatalf("INFO %q to sipp: %v", step, err)
	}
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("INFO %q to sipp answered %d %s: sipp is not where the test expects it", step, res.StatusCode, res.Reason)
	}
}

// failWithSipp ends the test with what sipp saw: it stops sipp (at once
// if it has not ended by itself within a second) and shows its output and
// messages beside the message.
func failWithSipp(t *testing.T, s *sippRun, format string, args ...any) {
	t.Helper()
	code, log := s.waitUpTo(t, time.Second)
	t.Fatalf(format+"\nsipp (exit %d):\n%s", append(args, code, log)...)
}

// untilSippEnds is a test context that also ends when sipp exits, so
// that waiting for what sipp should cause stops when sipp gave up.
func untilSippEnds(t *testing.T, s *sippRun) context.Context {
	c, cancel := context.WithCancel(ctx(t))
	go func() {
		defer cancel()
		select {
		case <-s.done:
		case <-c.Done():
		}
	}()
	return c
}

// sippMustPass waits for sipp and fails the test unless it exited 0.
func sippMustPass(t *testing.T, s *sippRun) {
	t.Helper()
	if code, log := s.wait(t); code != 0 {
		t.Fatalf("sipp scenario failed (exit %d):\n%s", code, log)
	}
}

// sipp holds (re-INVITE a=sendonly, answered a=recvonly, which the
// scenario checks) and resumes (a=sendrecv both ways) a call to a test
// phone: the phone is told (the PBX's own re-INVITEs), hears music on hold
// in between and sipp's tone before and after.
func TestSippHoldAndResume(t *testing.T) {
	p := pbxtest.Start(t)
	caller := p.CreateExtension("101", nil)
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(1000))
	s := startSipp(t, p, "hold_uac.xml", "101;102;[authentication username=101 password="+caller.Secret+"]",
		map[string][]byte{"tone.ulaw": ulawTone(sippTone)}, "-timeout", "60s")
	held, err := b.NextCall(ctx(t))
	if err != nil {
		failWithSipp(t, s, "102 is not called: %v", err)
	}
	hears(t, "102 before the hold", held, sippTone, 1000)

	nextStep(t, held, "hold")
	if d, err := held.WaitOffered(ctx(t), 1); err != nil || d != pbxtest.SendOnly {
		t.Fatalf("held phone was offered %q (%v), want sendonly", d, err)
	}
	if got := holdingLegs(t, p); !got["caller"] || got["callee"] {
		t.Errorf("calls API holding = %v, want only the caller", got)
	}
	listen(t, held)
	hearsMusic(t, held, sippTone)

	nextStep(t, held, "resume")
	if d, err := held.WaitOffered(ctx(t), 2); err != nil || d != pbxtest.SendRecv {
		t.Fatalf("held phone's second offer %q (%v), want sendrecv", d, err)
	}
	hears(t, "102 after the resume", held, sippTone, 1000)

	nextStep(t, held, "hang up")
	if err := held.WaitEnded(ctx(t)); err != nil {
		t.Fatalf("102 not hung up after sipp's BYE: %v", err)
	}
	sippMustPass(t, s)
	if got := held.Offered(); len(got) != 2 {
		t.Errorf("the PBX re-INVITEd 102 %d times (%v), want 2", len(got), got)
	}
	c := p.LastCDR(ctx(t))
	if c.Caller != "101" || c.Callee != "102" || c.Disposition != store.DispositionAnswered || c.HangupCause != "caller hung up" {
		t.Errorf("CDR %+v", c)
	}
}

// liveCalls is the number of calls the calls API lists.
func liveCalls(t *testing.T, p *pbxtest.PBX) int {
	t.Helper()
	code, body := p.Do(http.MethodGet, "/api/v1/calls", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /calls: %d %s", code, body)
	}
	var calls liveCallsJSON
	if err := json.Unmarshal(body, &calls); err != nil {
		t.Fatalf("calls %s: %v", body, err)
	}
	return len(calls.Items)
}

// sipp (101) calls a test phone (102), then blind-transfers it to another
// (103) with REFER, as a phone's transfer key does: first holding the call
// (most desk phones) or straight from the conversation; then it waits for
// the PBX's BYE, or hangs up itself once the transfer has succeeded (RFC
// 5589's flow, and baresip's). The scenario checks the 202, the NOTIFYs
// (message/sipfrag, ending in SIP/2.0 200) and the BYE; the test checks
// that 102 hears ringback while 103 rings, then 102 and 103 hear each
// other and nothing of sipp.
func TestSippBlindTransfer(t *testing.T) {
	for _, tc := range []struct{ name, mode, end string }{
		{"held first", "hold", "wait"},
		{"from the conversation", "talk", "wait"},
		{"transferor hangs up", "talk", "bye"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mode := tc.mode
			const toneB, toneC = 1000, 1500
			p := pbxtest.Start(t)
			transferor := p.CreateExtension("101", nil)
			b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(toneB))
			c := phone(t, p, p.CreateExtension("103", nil), pbxtest.WithTone(toneC))
			c.SetPolicy(pbxtest.Policy{RingFor: 2 * time.Second})
			s := startSipp(t, p, "blind_transfer.xml",
				"101;102;[authentication username=101 password="+transferor.Secret+"];103;"+mode+";"+tc.end,
				map[string][]byte{"tone.ulaw": ulawTone(sippTone)}, "-timeout", "60s")
			transferee, err := b.NextCall(ctx(t))
			if err != nil {
				failWithSipp(t, s, "102 is not called: %v", err)
			}
			hears(t, "102 before the transfer", transferee, sippTone, toneB)

			nextStep(t, transferee, "transfer")
			if mode == "hold" {
				if d, err := transferee.WaitOffered(ctx(t), 1); err != nil || d != pbxtest.SendOnly {
					t.Fatalf("102 was offered %q (%v), want sendonly (held)", d, err)
				}
			}
			target, err := c.NextCall(untilSippEnds(t, s))
			if err != nil {
				failWithSipp(t, s, "the transfer target 103 is not called: %v", err)
			}
			if from := target.From().Address.User; from != "102" {
				t.Errorf("103 is called from %q, want 102 (the transferee's caller ID)", from)
			}
			// 103 rings for 2 s: 102 hears ringback (440 + 480 Hz; 480 is
			// not sipp's tone).
			listen(t, transferee)
			rb := transferee.Heard(480)
			t.Logf("102 while 103 rings: %.0f at 480 Hz, %.0f at sipp's %v Hz", rb, transferee.Heard(sippTone), sippTone)
			if rb < 1000 {
				t.Errorf("102 hears %.0f at 480 Hz while 103 rings: want ringback", rb)
			}

			if st, err := target.WaitFinal(ctx(t)); err != nil || st != sip.StatusOK {
				t.Fatalf("103 answered %d (%v)", st, err)
			}
			sippMustPass(t, s) // 202, NOTIFYs up to 200, the PBX's BYE
			if mode == "hold" {
				if d, err := transferee.WaitOffered(ctx(t), 2); err != nil || d != pbxtest.SendRecv {
					t.Fatalf("102's second offer %q (%v), want sendrecv (taken off hold)", d, err)
				}
			}
			waitFor(t, "102 and 103 to hear each other", func() bool {
				return transferee.Heard(toneC) > 1000 && target.Heard(toneB) > 1000
			})
			hears(t, "102 after the transfer", transferee, toneC, toneB, sippTone)
			hears(t, "103", target, toneB, toneC, sippTone)
			if transferee.EndedByRemote() {
				t.Error("102's call was hung up")
			}
			if n := liveCalls(t, p); n != 1 {
				t.Errorf("%d live calls after the transfer, want 1 (102 with 103)", n)
			}

			if err := target.Hangup(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if err := transferee.WaitEnded(ctx(t)); err != nil {
				t.Fatalf("102 not hung up after 103's BYE: %v", err)
			}
			if err := p.WaitIdle(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if n := p.App.Engine.RTPPortsInUse(); n != 0 {
				t.Errorf("%d RTP port pairs still allocated", n)
			}
			// One record per pair of parties (docs/calls.md): 101 with 102
			// until the transfer, then 102 (who stayed, the caller) with 103
			// (who came, the callee), whom 103 hung up.
			cdrs := p.CDRs(ctx(t))
			for _, r := range cdrs {
				t.Logf("CDR %s -> %s %s %q", r.Caller, r.Callee, r.Disposition, r.HangupCause)
			}
			if len(cdrs) != 2 {
				t.Fatalf("%d CDRs, want 2", len(cdrs))
			}
			if r := cdrs[1]; r.Caller != "101" || r.Callee != "102" || r.Disposition != store.DispositionAnswered || r.HangupCause != "transferred" {
				t.Errorf("first CDR %s -> %s %s %q, want 101 -> 102 answered \"transferred\"", r.Caller, r.Callee, r.Disposition, r.HangupCause)
			}
			if r := cdrs[0]; r.Caller != "102" || r.Callee != "103" || r.Disposition != store.DispositionAnswered || r.HangupCause != "callee hung up" {
				t.Errorf("second CDR %s -> %s %s %q, want 102 -> 103 answered \"callee hung up\" (103 sent the BYE)", r.Caller, r.Callee, r.Disposition, r.HangupCause)
			}
		})
	}
}
