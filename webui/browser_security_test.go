package webui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
)

// watchCSP makes every page the tab opens record Content-Security-Policy
// violations in window.__csp, so a test can assert the console never trips
// the server's policy.
func (b *browser) watchCSP(t *testing.T) {
	t.Helper()
	_, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation',
			(e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	})
	if err != nil {
		t.Fatalf("watch CSP: %v", err)
	}
}

// TestConsoleSecurity drives the Security page (a source blocked by SIP
// password guessing is listed and unblocked; the allow-list edited, with a
// field error; the scanner list and rate saved) and the Audit log page,
// which shows those changes; no page of the console trips the CSP.
func TestConsoleSecurity(t *testing.T) {
	t.Setenv("PBXTEST_QUIET", "1")
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) { c.AuthFailLimit = 2 }))
	if code, out := p.Do(http.MethodPut, "/api/v1/security/allowlist", map[string]any{"items": []any{
		map[string]any{"cidr": "127.0.0.1", "note": "this machine"}}}); code != http.StatusOK {
		t.Fatalf("allow-list: %d %s", code, out)
	}
	ext := p.CreateExtension("101", nil)
	guesser := p.NewUA("101", "wrong-secret", pbxtest.WithLocalIP("127.0.0.2"))
	for i := 0; i < 2; i++ {
		if res, err := guesser.Register(context.Background(), 60); err != nil || res.StatusCode != 403 {
			t.Fatalf("guess %d: %v %v", i, res, err)
		}
	}

	b := newBrowser(t, p.URL)
	defer b.check()
	b.watchCSP(t)
	b.do(t, chromedp.Navigate(p.URL+"/"))
	b.probeConsole(t)
	b.login(t, "admin", pbxtest.AdminPassword)
	b.do(t, waitText("h1", "Dashboard"),
		click(`nav a[href="#/security"]`),
		waitText("h1", "Security"),
		waitText(`#blocked-table tr[data-source="127.0.0.2"]`, "repeated authentication failures"),
	)
	b.screenshot(t, "security")
	b.do(t,
		click(`#blocked-table tr[data-source="127.0.0.2"] button.unblock`),
		waitText("#security-status", "127.0.0.2 unblocked"),
		waitText("#blocked-results", "No source is blocked"),
	)
	if bl := p.App.Engine.BlockedSources(); len(bl) != 0 {
		t.Fatalf("still blocked: %+v", bl)
	}
	// The phone registers now.
	phone := p.NewUA("101", ext.Secret, pbxtest.WithLocalIP("127.0.0.2"))
	if res, err := phone.Register(context.Background(), 60); err != nil || res.StatusCode != 200 {
		t.Fatalf("register after unblock: %v %v", res, err)
	}

	// The allow-list: a bad network is refused beside its field.
	if v := b.eval(t, `document.querySelector('#allow-cidr-0').value`); v != "127.0.0.1/32" {
		t.Fatalf("allow-list row 0 = %q", v)
	}
	b.do(t,
		click("#allow-add"),
		typeInto("#allow-cidr-1", "office.example"),
		typeInto("#allow-note-1", "office NAT"),
		click("#allow-save"),
		waitText("#allow-cidr-1-err", "must be an IP address or a network"),
		typeInto("#allow-cidr-1", "203.0.113.9/24"),
		click("#allow-save"),
		waitText("#security-status", "Allow-list saved"),
	)
	if v := b.eval(t, `document.querySelector('#allow-cidr-1').value`); v != "203.0.113.0/24" {
		t.Fatalf("saved row shows %q, want the normalised network", v)
	}
	_, allow := getJSON(t, p, "/api/v1/security/allowlist")
	if items, _ := allow["items"].([]any); len(items) != 2 || items[1].(map[string]any)["note"] != "office NAT" {
		t.Fatalf("stored allow-list %v", allow)
	}

	// Scanner list and rate.
	b.do(t,
		typeInto("#f-scanner-user-agents", "friendly-scanner\nevil-scan"),
		typeInto("#f-rate-per-second", "50"),
		typeInto("#f-rate-burst", "10"),
		click("#scanner-form button[type=submit]"),
		waitText("#f-rate-burst-err", "must be from rate_per_second"),
		typeInto("#f-rate-burst", "500"),
		click("#scanner-form button[type=submit]"),
		waitText("#security-status", "Scanner list and rate limit saved"),
	)
	_, set := getJSON(t, p, "/api/v1/security/settings")
	if js, _ := json.Marshal(set); !strings.Contains(string(js), `"scanner_user_agents":["friendly-scanner","evil-scan"]`) ||
		set["rate_per_second"] != 50.0 || set["rate_burst"] != 500.0 {
		t.Fatalf("stored settings %s", js)
	}

	// The audit log shows the changes, newest first, with who and the answer.
	b.do(t,
		click(`nav a[href="#/audit"]`),
		waitText("h1", "Audit log"),
		waitText("#audit-table tbody tr:first-child", "PUT /api/v1/security/settings"),
		waitText("#audit-table", "DELETE /api/v1/security/blocked/127.0.0.2"),
		waitText("#audit-table", "security/blocked/127.0.0.2"),
		waitText(`#audit-table tr[data-status="400"]`, "PUT /api/v1/security/settings"),
		waitText("#audit-table", "PUT /api/v1/security/allowlist"),
		waitText("#audit-table tbody tr:first-child", "admin"),
	)
	b.screenshot(t, "audit")
	b.do(t,
		typeInto("#f-username", "nobody"),
		click("#audit-form button[type=submit]"),
		waitText("#audit-results", "No entries"),
	)
	if v := b.eval(t, `JSON.stringify(window.__csp)`); v != "[]" {
		t.Fatalf("the console tripped the CSP: %s", v)
	}
	// Every other page too.
	for _, hash := range []string{"#/dashboard", "#/history", "#/extensions", "#/extensions/new", "#/ringgroups/new", "#/ivrs/new",
		"#/voicemail", "#/users", "#/prompts", "#/dialplan", "#/trunks/new", "#/email"} {
		b.do(t, goTo(hash), chromedp.WaitVisible(chromedp.CSS("h1")))
	}
	b.do(t, goTo("#/dashboard"), waitText("h1", "Dashboard"))
	if v := b.eval(t, `JSON.stringify(window.__csp)`); v != "[]" {
		t.Fatalf("the console tripped the CSP: %s", v)
	}
}
