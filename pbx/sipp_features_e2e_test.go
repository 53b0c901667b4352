package pbx_test

import (
	"math"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// In-call features driven by sipp scenarios (bench/sipp), as another
// implementation of a phone than the test kit's: hold and resume. sipp plays extension 101 and streams sippTone; the other
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
