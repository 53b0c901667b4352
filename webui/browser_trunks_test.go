package webui_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// TestConsoleTrunks drives the trunks page: a field error beside its
// field, a trunk created through the form, listed with its status.
func TestConsoleTrunks(t *testing.T) {
	t.Setenv("PBXTEST_QUIET", "1")
	p := pbxtest.Start(t)
	b := newBrowser(t, p.URL)
	defer b.check()
	b.do(t, chromedp.Navigate(p.URL+"/"))
	b.probeConsole(t)
	b.login(t, "admin", pbxtest.AdminPassword)
	b.do(t, waitText("h1", "Dashboard"))
	b.do(t,
		click(`nav a[href="#/trunks"]`),
		waitText("#trunk-results", "No trunks yet"),
		click(`a[href="#/trunks/new"]`),
		waitText("h1", "New trunk"),
		typeInto("#f-name", "pstn"),
		click("#trunk-form button[type=submit]"),
		waitText("#f-host-err", "required"),
		typeInto("#f-host", "10.0.0.1"),
		typeInto("#f-match", "203.0.113.0/24"),
		click("#trunk-form button[type=submit]"),
		waitText("h1", "Trunk pstn"),
		waitText("#trunk-live", "unregistered"),
		click(`nav a[href="#/trunks"]`),
		waitText("#trunk-table", "10.0.0.1:5060/udp"),
	)
	code, tr := getJSON(t, p, "/api/v1/trunks/pstn")
	if code != http.StatusOK || tr["host"] != "10.0.0.1" {
		t.Fatalf("stored trunk %d %v", code, tr)
	}
	if m, _ := tr["match"].([]any); len(m) != 1 || m[0] != "203.0.113.0/24" {
		t.Fatalf("match %v", tr["match"])
	}
}
