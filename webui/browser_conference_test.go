package webui_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// TestConsoleConferenceRoom drives the conference pages: a room created
// through the form (a field error first), then its live page with two
// callers in it: Mute from the page silences one for the other on the
// call, and Remove ends that caller's call.
func TestConsoleConferenceRoom(t *testing.T) {
	t.Setenv("PBXTEST_QUIET", "1")
	p := pbxtest.Start(t)
	ann := p.Phone("101", pbxtest.WithTone(450))
	bob := p.Phone("102", pbxtest.WithTone(1050))
	b := newBrowser(t, p.URL)
	defer b.check()
	b.do(t, chromedp.Navigate(p.URL+"/"))
	b.probeConsole(t)
	b.login(t, "admin", pbxtest.AdminPassword)
	b.do(t, waitText("h1", "Dashboard"))
	b.do(t,
		click(`nav a[href="#/conferences"]`),
		waitText("#conf-results", "No conference rooms yet"),
		click(`a[href="#/conferences/new"]`),
		waitText("h1", "New conference room"),
		typeInto("#f-number", "800"),
		typeInto("#f-max-participants", "1"),
		click("#conf-form button[type=submit]"),
		waitText("#f-max-participants-err", "from 2 to 500"),
		typeInto("#f-max-participants", "10"),
		click("#f-announce"), // no tones: the test listens for the callers only
		click("#conf-form button[type=submit]"),
		waitText("h1", "Conference room 800"),
		waitText("#room-status", "0 callers"),
	)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	calls := map[string]*pbxtest.Call{}
	for n, ua := range map[string]*pbxtest.UA{"101": ann, "102": bob} {
		c, err := ua.Dial(ctx, "800")
		if err != nil || c.Status() != sip.StatusOK {
			t.Fatalf("%s dial: %v %d", n, err, c.Status())
		}
		calls[n] = c
	}
	b.do(t, waitText("#room-status", "2 callers"), waitText(`#participants tr[data-caller="102"]`, "102"))
	if err := calls["101"].WaitHeard(ctx, 1050, 1e6); err != nil {
		t.Fatalf("101 does not hear 102: %v", err)
	}

	b.do(t,
		click(`#participants tr[data-caller="102"] button.mute`),
		waitText("#room-msg", "Muted"), waitText("#room-msg", "102"),
		waitText(`#participants tr[data-caller="102"]`, "muted"),
		waitText(`#participants tr[data-caller="102"] button.mute`, "Unmute"),
	)
	if err := calls["101"].Listen(ctx, 30); err != nil {
		t.Fatal(err)
	}
	if got := calls["101"].Heard(1050); got > 1e4 {
		t.Errorf("101 still hears 102 after Mute on the page (%.0f)", got)
	}
	code, body := p.Do(http.MethodGet, "/api/v1/conferences/800/participants", nil)
	if code != http.StatusOK {
		t.Fatalf("participants %d %s", code, body)
	}

	b.do(t,
		click(`#participants tr[data-caller="102"] button.kick`),
		waitText("#room-msg", "Removed"), waitText("#room-msg", "102"),
		waitText("#room-status", "1 caller"),
	)
	if err := calls["102"].WaitEnded(ctx); err != nil {
		t.Fatalf("Remove did not end 102's call: %v", err)
	}
	if err := calls["101"].Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	b.do(t, waitText("#room-empty", "Nobody is in the room"))
}
