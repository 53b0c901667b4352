package conference_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// Each phone sends its own tone, away from the DTMF frequencies and from
// each other's intermodulation products (G.711 and the limiter are not
// linear), so what a phone hears tells whom it hears.
var tones = map[string]float64{"101": 450, "102": 1050, "103": 2150}

const intruderTone = 2900

// A phone's tone reaches the others at about 1.6e7 (Goertzel power of the
// pbxtest window); G.711's quantisation noise leaves a few hundred at any
// frequency.
const (
	heard    = 1e6 // a tone at least this strong is heard
	notHeard = 1e4 // and below this (-32 dB) it is not
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

type participant struct {
	ID        string `json:"id"`
	Caller    string `json:"caller"`
	Muted     bool   `json:"muted"`
	Moderator bool   `json:"moderator"`
}

func participants(t *testing.T, p *pbxtest.PBX, room string) []participant {
	t.Helper()
	var page struct {
		Items []participant `json:"items"`
	}
	body := p.MustDo(http.StatusOK, http.MethodGet, "/api/v1/conferences/"+room+"/participants", nil)
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	return page.Items
}

func participantOf(t *testing.T, p *pbxtest.PBX, room, caller string) participant {
	t.Helper()
	for _, x := range participants(t, p, room) {
		if x.Caller == caller {
			return x
		}
	}
	t.Fatalf("%s is not in room %s", caller, room)
	return participant{}
}

// enter dials the room and keys pin (with #) once the PIN prompt plays.
func enter(t *testing.T, ua *pbxtest.UA, room, pin string) *pbxtest.Call {
	t.Helper()
	call, err := ua.Dial(ctxFor(t, 10*time.Second), room)
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("dial %s: %v (status %d), want the room to answer", room, err, call.Status())
	}
	if pin != "" {
		if err := call.WaitAudio(ctxFor(t, 5*time.Second), 5); err != nil {
			t.Fatalf("no PIN prompt: %v", err)
		}
		if err := call.SendDTMF(ctxFor(t, 5*time.Second), pin+"#"); err != nil {
			t.Fatal(err)
		}
	}
	return call
}

// listen lets a call hear the room for a fresh window (0.6 s).
func listen(t *testing.T, c *pbxtest.Call) {
	t.Helper()
	if err := c.Listen(ctxFor(t, 5*time.Second), 30); err != nil {
		t.Fatal(err)
	}
}

// wantHears checks what one phone hears of each of the others' tones.
func wantHears(t *testing.T, who string, c *pbxtest.Call, hears, notHears []string) {
	t.Helper()
	for _, n := range hears {
		if err := c.WaitHeard(ctxFor(t, 5*time.Second), tones[n], heard); err != nil {
			t.Errorf("%s does not hear %s: %v", who, n, err)
		}
	}
	if len(notHears) == 0 {
		return
	}
	listen(t, c)
	for _, n := range notHears {
		if got := c.Heard(tones[n]); got > notHeard {
			t.Errorf("%s hears %s (%.0f), want silence from it (others: %v)", who, n, got, levels(c))
		}
	}
}

func levels(c *pbxtest.Call) map[float64]int {
	m := map[float64]int{}
	for _, f := range tones {
		m[f] = int(c.Heard(f))
	}
	return m
}

// Three phones join a room with a PIN, each sending its own tone: each
// hears the other two and not itself; a participant muted through the
// API is no longer heard while still hearing the others; *6 mutes oneself;
// a kicked participant's call ends; a wrong PIN three times is hung up.
func TestConferenceThreePartiesMuteKickPIN(t *testing.T) {
	p := pbxtest.Start(t)
	phones := map[string]*pbxtest.UA{}
	for n, f := range tones {
		phones[n] = p.Phone(n, pbxtest.WithTone(f))
	}
	intruder := p.Phone("104", pbxtest.WithTone(intruderTone))
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/conferences", map[string]any{
		"number": "800", "name": "Weekly", "pin": "1234", "max_participants": 5, "announce": false})

	calls := map[string]*pbxtest.Call{}
	for _, n := range []string{"101", "102", "103"} {
		calls[n] = enter(t, phones[n], "800", "1234")
		pbxtest.WaitFor(t, n+" in the room", func() bool { return len(participants(t, p, "800")) == len(calls) })
	}
	for n, c := range calls {
		var others []string
		for o := range calls {
			if o != n {
				others = append(others, o)
			}
		}
		wantHears(t, n, c, others, []string{n})
	}

	// A wrong PIN, three times: the caller hears goodbye and is hung up,
	// never having been in the room.
	bad, err := intruder.Dial(ctxFor(t, 10*time.Second), "800")
	if err != nil || bad.Status() != sip.StatusOK {
		t.Fatalf("dial: %v %d", err, bad.Status())
	}
	for range 3 {
		if err := bad.SendDTMF(ctxFor(t, 5*time.Second), "9999#"); err != nil {
			t.Fatal(err)
		}
	}
	if err := bad.WaitEnded(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatalf("wrong PINs: the call was not hung up: %v", err)
	}
	if n := len(participants(t, p, "800")); n != 3 {
		t.Errorf("%d participants after the intruder, want 3", n)
	}
	listen(t, calls["101"])
	if got := calls["101"].Heard(intruderTone); got > notHeard {
		t.Errorf("the room heard the intruder (%.0f)", got)
	}

	// The administrator mutes 103: 101 and 102 stop hearing it, 103
	// still hears them.
	id103 := participantOf(t, p, "800", "103").ID
	p.MustDo(http.StatusOK, http.MethodPatch, "/api/v1/conferences/800/participants/"+id103, map[string]any{"muted": true})
	if !participantOf(t, p, "800", "103").Muted {
		t.Error("103 not shown muted")
	}
	wantHears(t, "101", calls["101"], []string{"102"}, []string{"103"})
	wantHears(t, "102", calls["102"], []string{"101"}, []string{"103"})
	wantHears(t, "103", calls["103"], []string{"101", "102"}, nil)
	p.MustDo(http.StatusOK, http.MethodPatch, "/api/v1/conferences/800/participants/"+id103, map[string]any{"muted": false})
	wantHears(t, "101", calls["101"], []string{"102", "103"}, nil)

	// 101 presses *6: muted, and told so; 102 stops hearing it.
	if err := calls["101"].SendDTMF(ctxFor(t, 5*time.Second), "*6"); err != nil {
		t.Fatal(err)
	}
	pbxtest.WaitFor(t, "101 muted by *6", func() bool { return participantOf(t, p, "800", "101").Muted })
	wantHears(t, "102", calls["102"], []string{"103"}, []string{"101"})
	if err := calls["101"].SendDTMF(ctxFor(t, 5*time.Second), "*6"); err != nil {
		t.Fatal(err)
	}
	pbxtest.WaitFor(t, "101 unmuted by *6", func() bool { return !participantOf(t, p, "800", "101").Muted })
	wantHears(t, "102", calls["102"], []string{"101", "103"}, nil)

	// Kick 102: its call ends, the others stay and hear each other only
	// (103, as 101 may still hear its "unmuted" prompt).
	id102 := participantOf(t, p, "800", "102").ID
	p.MustDo(http.StatusNoContent, http.MethodDelete, "/api/v1/conferences/800/participants/"+id102, nil)
	if err := calls["102"].WaitEnded(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("kicked 102's call did not end: %v", err)
	}
	pbxtest.WaitFor(t, "two left", func() bool { return len(participants(t, p, "800")) == 2 })
	wantHears(t, "103", calls["103"], []string{"101"}, []string{"102"})
	p.MustDo(http.StatusNotFound, http.MethodDelete, "/api/v1/conferences/800/participants/"+id102, nil)

	// The room's list shows its live count; metrics show the room.
	body := p.MustDo(http.StatusOK, http.MethodGet, "/api/v1/conferences/800", nil)
	if !strings.Contains(string(body), `"participants":2`) {
		t.Errorf("room: %s", body)
	}
	_, metrics := p.Do(http.MethodGet, "/metrics", nil)
	for _, want := range []string{"pbx_conference_rooms 1", "pbx_conference_participants 2", "pbx_mixer_tick_seconds_bucket"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	for _, n := range []string{"101", "103"} {
		if err := calls[n].Hangup(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	pbxtest.WaitFor(t, "room empty", func() bool { return len(participants(t, p, "800")) == 0 })
	if err := p.WaitIdle(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	causes := map[string]string{}
	for _, c := range p.CDRs(ctxFor(t, 5*time.Second)) {
		causes[c.Caller] = c.HangupCause
	}
	if causes["102"] != "removed from conference" || causes["104"] != "wrong conference PIN" {
		t.Errorf("CDR causes %v", causes)
	}
}

// A three-way call as a phone in "network conference" mode makes it: 101
// talks to 102 and to 103, calls the three-way code *3 (its own temporary
// room), then transfers (REFER) both calls' parties to *3. All three are
// then in one room, each hearing the other two; 101's first two calls
// end, and the room is gone when everyone has hung up.
func TestConferenceThreeWayByRefer(t *testing.T) {
	p := pbxtest.Start(t)
	phones := map[string]*pbxtest.UA{}
	for n, f := range tones {
		phones[n] = p.Phone(n, pbxtest.WithTone(f))
	}
	a := phones["101"]
	talk := func(callee string) (*pbxtest.Call, *pbxtest.Call) {
		out, err := a.Dial(ctxFor(t, 10*time.Second), callee)
		if err != nil {
			t.Fatal(err)
		}
		in, err := phones[callee].NextCall(ctxFor(t, 10*time.Second))
		if err != nil || out.Status() != sip.StatusOK {
			t.Fatalf("call %s: %v %d", callee, err, out.Status())
		}
		if err := in.WaitHeard(ctxFor(t, 5*time.Second), tones["101"], heard); err != nil {
			t.Fatalf("%s does not hear 101: %v", callee, err)
		}
		return out, in
	}
	toB, atB := talk("102")
	// 101 holds 102 (music on hold, and 102 is told a=sendonly), then
	// calls 103.
	if res, err := toB.Hold(ctxFor(t, 5*time.Second)); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("hold: %v %v", err, res)
	}
	if dir, err := atB.WaitOffered(ctxFor(t, 5*time.Second), 1); err != nil || dir != pbxtest.SendOnly {
		t.Fatalf("102 told %q %v, want sendonly", dir, err)
	}
	toC, atC := talk("103")

	room, err := a.Dial(ctxFor(t, 10*time.Second), "*3")
	if err != nil || room.Status() != sip.StatusOK {
		t.Fatalf("dial *3: %v %d", err, room.Status())
	}
	for _, c := range []*pbxtest.Call{toB, toC} {
		res, err := c.Refer(ctxFor(t, 5*time.Second), "*3")
		if err != nil || res.StatusCode != sip.StatusAccepted {
			t.Fatalf("REFER to *3: %v %v", err, res)
		}
		if err := c.WaitEnded(ctxFor(t, 10*time.Second)); err != nil {
			t.Fatalf("the transferor's call was not ended after the transfer: %v", err)
		}
	}
	// 102, held until it left for the room, is told it no longer is.
	if dir, err := atB.WaitOffered(ctxFor(t, 5*time.Second), 2); err != nil || dir != pbxtest.SendRecv {
		t.Errorf("102 told %q %v after the transfer, want sendrecv", dir, err)
	}
	wantHears(t, "101", room, []string{"102", "103"}, []string{"101"})
	wantHears(t, "102", atB, []string{"101", "103"}, []string{"102"})
	wantHears(t, "103", atC, []string{"101", "102"}, []string{"103"})

	// The room shows on the event stream's source: three in adhoc-101.
	if got := len(p.App.Conference.Participants("adhoc-101")); got != 3 {
		t.Errorf("%d participants in 101's three-way room, want 3", got)
	}
	// 101 leaves: 102 and 103 go on talking.
	if err := room.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	wantHears(t, "102", atB, []string{"103"}, []string{"101"})
	for _, c := range []*pbxtest.Call{atB, atC} {
		if err := c.Hangup(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.WaitIdle(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if rooms := p.App.Conference.Rooms(); len(rooms) != 0 {
		t.Errorf("rooms left: %v", rooms)
	}
}

// A blind transfer to a conference room's number puts the transferee in
// the room, where it hears who is there.
func TestConferenceBlindTransferIntoRoom(t *testing.T) {
	p := pbxtest.Start(t)
	phones := map[string]*pbxtest.UA{}
	for n, f := range tones {
		phones[n] = p.Phone(n, pbxtest.WithTone(f))
	}
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/conferences", map[string]any{"number": "800", "announce": false})
	inRoom := enter(t, phones["103"], "800", "")
	pbxtest.WaitFor(t, "103 in the room", func() bool { return len(participants(t, p, "800")) == 1 })
	// 102 calls 101; 101 transfers 102 into the room.
	out, err := phones["102"].Dial(ctxFor(t, 10*time.Second), "101")
	if err != nil {
		t.Fatal(err)
	}
	in, err := phones["101"].NextCall(ctxFor(t, 10*time.Second))
	if err != nil || out.Status() != sip.StatusOK {
		t.Fatalf("call: %v %d", err, out.Status())
	}
	res, err := in.Refer(ctxFor(t, 5*time.Second), "800")
	if err != nil || res.StatusCode != sip.StatusAccepted {
		t.Fatalf("REFER: %v %v", err, res)
	}
	wantHears(t, "102", out, []string{"103"}, []string{"101"})
	wantHears(t, "103", inRoom, []string{"102"}, nil)
	if ps := participants(t, p, "800"); len(ps) != 2 || ps[1].Caller != "102" {
		t.Errorf("participants %+v, want 103 then 102", ps)
	}
}

// A room with only a moderator PIN: the moderator hears music while alone
// (after "you are the only participant"), others join with # alone; the
// moderator's *8 mutes everyone else (and those who join later), *7 locks
// the room against newcomers; a full room refuses the next caller.
func TestConferenceModeratorLockFullMusic(t *testing.T) {
	p := pbxtest.Start(t)
	phones := map[string]*pbxtest.UA{}
	for n, f := range map[string]float64{"101": 450, "102": 1050, "103": 2150, "104": 2900} {
		phones[n] = p.Phone(n, pbxtest.WithTone(f))
	}
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/conferences", map[string]any{
		"number": "801", "moderator_pin": "99", "max_participants": 3, "announce": true, "music_when_alone": true})

	mod := enter(t, phones["101"], "801", "99")
	pbxtest.WaitFor(t, "moderator in", func() bool { return len(participants(t, p, "801")) == 1 })
	if !participantOf(t, p, "801", "101").Moderator {
		t.Error("101 is not shown as moderator")
	}
	// Alone: music, well above silence (the prompt is over by then).
	pbxtest.WaitFor(t, "music for the lone moderator", func() bool { return mod.Energy() > 1e5 })

	b := enter(t, phones["102"], "801", "")
	pbxtest.WaitFor(t, "102 in", func() bool { return len(participants(t, p, "801")) == 2 })
	wantHears(t, "101", mod, []string{"102"}, nil)

	// *8: everyone else muted; 103 joins muted.
	if err := mod.SendDTMF(ctxFor(t, 5*time.Second), "*8"); err != nil {
		t.Fatal(err)
	}
	pbxtest.WaitFor(t, "102 muted by *8", func() bool { return participantOf(t, p, "801", "102").Muted })
	enter(t, phones["103"], "801", "")
	pbxtest.WaitFor(t, "103 in", func() bool { return len(participants(t, p, "801")) == 3 })
	if !participantOf(t, p, "801", "103").Muted {
		t.Error("103 joined unmuted while everyone else is muted")
	}
	if participantOf(t, p, "801", "101").Muted {
		t.Error("*8 muted the moderator too")
	}
	listen(t, b)
	wantHears(t, "102", b, []string{"101"}, []string{"103"})

	// The room is full: 104 is told so and hung up.
	full, err := phones["104"].Dial(ctxFor(t, 10*time.Second), "801")
	if err != nil || full.Status() != sip.StatusOK {
		t.Fatalf("dial: %v %d", err, full.Status())
	}
	if err := full.SendDTMF(ctxFor(t, 5*time.Second), "#"); err != nil {
		t.Fatal(err)
	}
	if err := full.WaitEnded(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatalf("a full room did not hang up: %v", err)
	}

	// *7 locks: with a place free, a newcomer is still refused.
	if err := b.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := mod.SendDTMF(ctxFor(t, 5*time.Second), "*7"); err != nil {
		t.Fatal(err)
	}
	pbxtest.WaitFor(t, "room locked", func() bool {
		_, body := p.Do(http.MethodGet, "/api/v1/conferences/801", nil)
		return strings.Contains(string(body), `"locked":true`)
	})
	locked, err := phones["104"].Dial(ctxFor(t, 10*time.Second), "801")
	if err != nil || locked.Status() != sip.StatusOK {
		t.Fatalf("dial: %v %d", err, locked.Status())
	}
	if err := locked.SendDTMF(ctxFor(t, 5*time.Second), "#"); err != nil {
		t.Fatal(err)
	}
	if err := locked.WaitEnded(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatalf("a locked room did not hang up: %v", err)
	}
	if n := len(participants(t, p, "801")); n != 2 {
		t.Errorf("%d in the room, want 2", n)
	}
	// The refused calls' records: written once each call has ended.
	var causes []string
	pbxtest.WaitFor(t, "104's two CDRs", func() bool {
		causes = causes[:0]
		for _, c := range p.CDRs(ctxFor(t, 5*time.Second)) {
			if c.Caller == "104" {
				causes = append(causes, c.HangupCause)
			}
		}
		return len(causes) == 2
	})
	slices.Sort(causes)
	if strings.Join(causes, ",") != "conference full,conference locked" {
		t.Errorf("104's CDR causes %v", causes)
	}
}
