package voicemail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/voicemail"
)

const (
	callerTone = 440
	beepTone   = 1000
)

func ctxFor(t testing.TB, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// boxPBX starts a PBX with a short silence time, phone 101 (the caller)
// and extension 102 with its voicemail box on (PIN 1234, asked from its
// own phone too) and no phone registered.
func boxPBX(t *testing.T) (*pbxtest.PBX, *pbxtest.UA, pbxtest.Extension) {
	t.Helper()
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) {
		c.TuneVoicemail = func(a *voicemail.App) { a.Silence = 1500 * time.Millisecond }
	}))
	caller := p.Phone("101", pbxtest.WithTone(callerTone))
	box := p.CreateExtension("102", map[string]any{"voicemail": map[string]any{"enabled": true, "pin": "1234",
		"skip_pin_own": false}})
	return p, caller, box
}

// message is a voicemail message as the API lists it.
type message struct {
	ID        int64   `json:"id"`
	Caller    string  `json:"caller"`
	DurationS float64 `json:"duration_s"`
	Read      bool    `json:"read"`
}

func messages(t testing.TB, p *pbxtest.PBX, box string) []message {
	t.Helper()
	var out struct {
		Items []message `json:"items"`
	}
	body := p.MustDo(http.StatusOK, http.MethodGet, "/api/v1/voicemail/"+box+"/messages?limit=500", nil)
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("messages: %v: %s", err, body)
	}
	return out.Items
}

// audio fetches a message's audio through the API.
func audio(t testing.TB, p *pbxtest.PBX, box string, id int64) []int16 {
	t.Helper()
	body := p.MustDo(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/v1/voicemail/%s/messages/%d/audio", box, id), nil)
	a, err := media.ReadWAV(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("message audio: %v", err)
	}
	return a.Samples
}

// leaveMessage has ua call number, hear the greeting and the beep, talk
// for talk (its tone), then end with end ("#", "hangup" or "silence").
func leaveMessage(t *testing.T, ua *pbxtest.UA, number string, talk time.Duration, end string) {
	t.Helper()
	call, err := ua.Dial(ctxFor(t, 10*time.Second), number)
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("dial %s: %v, want voicemail to answer", number, err)
	}
	if err := call.WaitTone(ctxFor(t, 15*time.Second), beepTone); err != nil {
		t.Fatalf("no beep: %v", err)
	}
	time.Sleep(talk) // the caller talks: the scenario's length, not a wait for an event
	switch end {
	case "#":
		if err := call.SendDTMF(ctxFor(t, 5*time.Second), "#"); err != nil {
			t.Fatal(err)
		}
	case "hangup":
		if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		return
	case "silence":
		call.StopMedia()
	}
	if err := call.WaitEnded(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("voicemail did not hang up after %s: %v", end, err)
	}
}

// A call to an extension with no phone registered goes to its voicemail:
// the message holds the caller's tone, the API names caller and length;
// its owner listens with *97 (PIN asked), hears it, and deletes it with 7.
func TestLeaveAndListen(t *testing.T) {
	p, caller, box := boxPBX(t)
	leaveMessage(t, caller, "102", 3*time.Second, "#")
	msgs := messages(t, p, "102")
	if len(msgs) != 1 || msgs[0].Caller != "101" || msgs[0].DurationS < 2 || msgs[0].DurationS > 4 || msgs[0].Read {
		t.Fatalf("messages %+v, want one unread from 101 of about 3 s (2-4)", msgs)
	}
	pcm := audio(t, p, "102", msgs[0].ID)
	if d := float64(len(pcm)) / 8000; math.Abs(d-msgs[0].DurationS) > 0.05 {
		t.Errorf("the API says %.2f s, the audio is %.2f s", msgs[0].DurationS, d)
	}
	tone, other := pbxtest.TonePower(pcm, callerTone), pbxtest.TonePower(pcm, 1300)
	t.Logf("message: %d samples, power at 440 Hz %.0f, at 1300 Hz %.0f", len(pcm), tone, other)
	if tone < 1e5 || tone < 100*other {
		t.Errorf("the message does not hold the caller's 440 Hz tone (%.0f, %.0f at 1300 Hz)", tone, other)
	}

	owner := p.NewUA("102", box.Secret, pbxtest.WithTone(700))
	if res, err := owner.Register(ctxFor(t, 5*time.Second), 300); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("register 102: %v", err)
	}
	// The phone's message lamp: told at registration (unsolicited MWI).
	if n, err := owner.WaitUnsolicitedNotify(ctxFor(t, 5*time.Second)); err != nil || !n.MessagesWaiting || n.NewMessages != 1 || n.OldMessages != 0 {
		t.Fatalf("MWI at registration: %+v, %v; want yes 1/0", n, err)
	}
	call, err := owner.Dial(ctxFor(t, 10*time.Second), "*97")
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("*97: %v", err)
	}
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "1234#"); err != nil {
		t.Fatal(err)
	}
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "1"); err != nil { // listen
		t.Fatal(err)
	}
	if err := call.WaitHeard(ctxFor(t, 20*time.Second), callerTone, 1000); err != nil {
		t.Fatalf("the message is not played: %v", err)
	}
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "7"); err != nil { // delete
		t.Fatal(err)
	}
	pbxtest.WaitFor(t, "the message to be deleted", func() bool { return len(messages(t, p, "102")) == 0 })
	// The lamp follows: heard (0 new, 1 old; a newer count may replace it
	// before it is sent), then deleted (0/0).
	for n := (pbxtest.Notify{NewMessages: -1}); n.NewMessages != 0 || n.OldMessages != 0; {
		var err error
		if n, err = owner.WaitUnsolicitedNotify(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatalf("MWI after listening and deleting: %v", err)
		}
		if n.MessagesWaiting || n.NewMessages != 0 || n.OldMessages > 1 {
			t.Fatalf("MWI %v %d/%d after listening, want no 0/1 then no 0/0", n.MessagesWaiting, n.NewMessages, n.OldMessages)
		}
	}
	if err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// Silence ends a message; a message shorter than the minimum is dropped.
func TestSilenceAndTooShort(t *testing.T) {
	p, caller, _ := boxPBX(t)
	leaveMessage(t, caller, "102", 2500*time.Millisecond, "silence")
	if msgs := messages(t, p, "102"); len(msgs) != 1 || msgs[0].DurationS < 1 {
		t.Fatalf("after silence: messages %+v, want one", msgs)
	}
	leaveMessage(t, caller, "102", 100*time.Millisecond, "hangup")
	if err := p.WaitIdle(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if msgs := messages(t, p, "102"); len(msgs) != 1 {
		t.Fatalf("a too short message was kept: %+v", msgs)
	}
}

// *98 asks for a box and its PIN; three wrong PINs end the call, and are
// logged.
func TestWrongPINs(t *testing.T) {
	p, caller, _ := boxPBX(t)
	call, err := caller.Dial(ctxFor(t, 10*time.Second), "*98")
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("*98: %v", err)
	}
	if err := call.SendDTMF(ctxFor(t, 5*time.Second), "102#"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := call.SendDTMF(ctxFor(t, 5*time.Second), "9999#"); err != nil {
			t.Fatal(err)
		}
	}
	if err := call.WaitEnded(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatalf("three wrong PINs did not end the call: %v", err)
	}
	// The log lines of the attempts (the call's end names the same cause).
	if n := strings.Count(p.Logs.String(), `msg="voicemail: wrong PIN"`); n != 3 {
		t.Errorf("%d wrong PINs logged, want 3", n)
	}
}

// An uploaded greeting is what the box's callers hear before the beep;
// deleting it brings back the built-in one.
func TestUploadedGreeting(t *testing.T) {
	p, caller, _ := boxPBX(t)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("file", "greeting.wav")
	fw.Write(pbxtest.ToneWAV(700, 2))
	w.Close()
	req, _ := http.NewRequest(http.MethodPut, p.URL+"/api/v1/voicemail/102/greeting", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+p.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT greeting: %v %v", res, err)
	}
	res.Body.Close()
	call, err := caller.Dial(ctxFor(t, 10*time.Second), "102")
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("dial 102: %v", err)
	}
	if err := call.WaitTone(ctxFor(t, 5*time.Second), 700); err != nil {
		t.Fatalf("the uploaded greeting is not played: %v", err)
	}
	if err := call.WaitTone(ctxFor(t, 5*time.Second), beepTone); err != nil {
		t.Fatalf("no beep after the greeting: %v", err)
	}
	call.Hangup(ctxFor(t, 5*time.Second))
	p.MustDo(http.StatusOK, http.MethodGet, "/api/v1/voicemail/102/greeting", nil)
	p.MustDo(http.StatusNoContent, http.MethodDelete, "/api/v1/voicemail/102/greeting", nil)
	p.MustDo(http.StatusNotFound, http.MethodGet, "/api/v1/voicemail/102/greeting", nil)
}
