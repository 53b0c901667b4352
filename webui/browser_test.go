package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// chromiumPath is Debian's chromium package: the tests never download a
// browser.
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is where the tests leave pictures of the main pages: the
// pictures README.md shows when PBX_UPDATE_SCREENSHOTS is set, otherwise a
// temporary directory, so that a test run does not change tracked files
// (every run has new secrets, ports and times in the pictures).
func screenshotDir() string {
	if os.Getenv("PBX_UPDATE_SCREENSHOTS") != "" {
		return filepath.Join("..", "docs", "screenshots")
	}
	return filepath.Join(os.TempDir(), "pbx-screenshots")
}

// browser is one headless Chromium tab on the console, recording what the
// page does that a test must not allow: console errors, uncaught
// exceptions, and requests to any origin but the PBX's own.
type browser struct {
	t      *testing.T
	ctx    context.Context
	origin string

	mu       sync.Mutex
	problems []string
	requests int
}

func newBrowser(t *testing.T, origin string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need Debian's Chromium at %s: apt-get install -y chromium (%v)", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, origin: origin}
	if err := chromedp.Listen(ctx, b.observe); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("network domain: %v", err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("runtime domain: %v", err)
	}
	return b
}

// observe runs on chromedp's reader goroutine: record and return.
func (b *browser) observe(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == "error" || ev.Type == "assert" {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.problems = append(b.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.problems = append(b.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *network.EventRequestWillBeSent:
		b.requests++
		u := ev.Request.URL
		if pu, err := url.Parse(u); err != nil || pu.Scheme+"://"+pu.Host != b.origin {
			if !strings.HasPrefix(u, "about:") {
				b.problems = append(b.problems, "request to another origin: "+u)
			}
		}
	}
}

// check fails the test for anything observe recorded.
func (b *browser) check() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Error(p)
	}
	b.problems = nil
	if b.requests == 0 {
		b.t.Error("no request was observed: is the network domain listening?")
	}
}

// probeConsole checks that a console error reaches observe, so a quiet
// console means a clean page rather than a deaf listener.
func (b *browser) probeConsole(t *testing.T) {
	t.Helper()
	b.eval(t, `console.error("pbx-probe"), "ok"`)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, p := range b.problems {
		if strings.Contains(p, "pbx-probe") {
			b.problems = append(b.problems[:i], b.problems[i+1:]...)
			return
		}
	}
	t.Fatal("a console.error was not observed: the console check would miss errors")
}

// do runs actions with a deadline, failing t on error.
func (b *browser) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// goTo navigates inside the single-page app, as a click on a link does.
func goTo(hash string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf("location.hash = %q", hash))(ctx, tg)
		return err
	})
}

// waitText waits until the element sel is shown and its text contains want.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && !e.closest('[hidden]') && e.textContent.includes(%q); })()`, sel, want)
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
		if err != nil {
			return fmt.Errorf("waiting for %s to show %q: %w", sel, want, err)
		}
		return nil
	})
}

// typeInto replaces the value of an input as a user typing would.
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	clear := fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](clear)(ctx, tg)
			return err
		}),
		chromedp.SendKeys(chromedp.CSS(sel), text),
	)
}

func click(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(sel))
}

func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) eval(t *testing.T, js string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("eval %s: %v", js, err)
	}
	return s
}

// screenshot saves the whole page as NAME.png in screenshotDir.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot %s: %d bytes is no picture of a page", name, len(png))
	}
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// login fills the login form.
func (b *browser) login(t *testing.T, user, password string) {
	t.Helper()
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		typeInto("#username", user),
		typeInto("#password", password),
		click("#login-form button[type=submit]"),
	)
}

// extension reads an extension through the API.
func extension(t *testing.T, p *pbxtest.PBX, number string) (int, map[string]any) {
	t.Helper()
	code, body := p.Do(http.MethodGet, "/api/v1/extensions/"+number, nil)
	var out map[string]any
	if code == http.StatusOK {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
	}
	return code, out
}

// run runs a scenario step; the steps build on each other, so the first
// failure ends the test.
func run(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// TestConsole drives the web console through its main scenarios in one
// headless Chromium, against a whole PBX on loopback.
func TestConsole(t *testing.T) {
	t.Setenv("PBXTEST_QUIET", "1")
	p := pbxtest.Start(t)
	b := newBrowser(t, p.URL)
	defer b.check()

	run(t, "wrong password", func(t *testing.T) {
		b.do(t, chromedp.Navigate(p.URL+"/"))
		b.probeConsole(t)
		b.login(t, "admin", "not the password")
		b.do(t, waitText("#login-error", "Wrong username or password"))
		if v := b.eval(t, `document.activeElement.id`); v != "password" {
			t.Errorf("focus on %q after a failed login, want the password field", v)
		}
		b.screenshot(t, "login")
	})

	run(t, "login", func(t *testing.T) {
		b.login(t, "admin", pbxtest.AdminPassword)
		b.do(t, waitText("h1", "Dashboard"), waitText("#live-status", "Live"))
	})

	var secret string
	run(t, "create extension", func(t *testing.T) {
		b.do(t,
			click(`nav a[href="#/extensions"]`),
			waitText("#ext-results", "No extensions yet"),
			click(`a[href="#/extensions/new"]`),
			waitText("h1", "New extension"),
			typeInto("#f-number", "101"),
			typeInto("#f-name", "Reception"),
			typeInto("#f-email", "reception@example.com"),
			click("#ext-form button[type=submit]"),
			waitText("h1", "Extension 101"),
			waitText("#ext-status", "Extension 101 created"),
			waitText("#setup-sheet", "Phone set-up sheet"),
		)
		code, ext := extension(t, p, "101")
		if code != http.StatusOK || ext["name"] != "Reception" {
			t.Fatalf("extension 101 after create: %d %v", code, ext)
		}
		secret, _ = ext["secret"].(string)
		if got := b.text(t, "#secret-value"); strings.Contains(got, secret) {
			t.Error("the secret is shown before Show was pressed")
		}
		b.do(t, click("#secret-show"), waitText("#secret-value", secret))
		b.screenshot(t, "extension-edit")
	})

	run(t, "regenerate secret", func(t *testing.T) {
		b.do(t, click("#secret-regen"), waitText("#secret-status", "New SIP password saved"))
		_, ext := extension(t, p, "101")
		if ext["secret"] == secret || b.text(t, "#secret-value") != ext["secret"] {
			t.Errorf("after regenerate: page shows %q, API has %v (old %q)", b.text(t, "#secret-value"), ext["secret"], secret)
		}
	})

	run(t, "duplicate number", func(t *testing.T) {
		b.do(t,
			goTo("#/extensions/new"),
			waitText("h1", "New extension"),
			typeInto("#f-number", "101"),
			click("#ext-form button[type=submit]"),
			waitText("#f-number-err", "already in use"),
		)
		if v := b.eval(t, `document.getElementById('f-number').getAttribute('aria-invalid') + ' ' + document.getElementById('f-number').getAttribute('aria-describedby')`); !strings.HasPrefix(v, "true ") || !strings.Contains(v, "f-number-err") {
			t.Errorf("number field: aria-invalid and aria-describedby = %q", v)
		}
	})

	run(t, "validation next to fields", func(t *testing.T) {
		b.do(t,
			typeInto("#f-number", "102"),
			typeInto("#f-voicemail-pin", "12"),
			typeInto("#f-forward-always", "extension:999"),
			click("#ext-form button[type=submit]"),
			waitText("#f-voicemail-pin-err", "4 to 12 digits"),
			waitText("#f-forward-always-err", "no extension 999"),
		)
	})

	run(t, "edit extension", func(t *testing.T) {
		b.do(t,
			goTo("#/extensions/101"),
			waitText("h1", "Extension 101"),
			typeInto("#f-name", "Front desk"),
			click("#ext-form button[type=submit]"),
			waitText("#ext-status", "Extension 101 saved"),
		)
		if _, ext := extension(t, p, "101"); ext["name"] != "Front desk" || ext["email"] != "reception@example.com" {
			t.Errorf("after edit: %v", ext)
		}
		b.do(t, goTo("#/extensions"), waitText(`#ext-table tr[data-number="101"]`, "Front desk"))
		b.screenshot(t, "extensions")
	})

	run(t, "delete extension", func(t *testing.T) {
		b.do(t,
			goTo("#/extensions/101"),
			waitText("h1", "Extension 101"),
			click("#delete-start"),
			click("#delete-yes"),
			waitText("main .notice", "Extension 101 deleted"),
			waitText("#ext-results", "No extensions yet"),
		)
		if code, _ := extension(t, p, "101"); code != http.StatusNotFound {
			t.Errorf("extension 101 after delete: %d", code)
		}
	})

	run(t, "live registration", func(t *testing.T) {
		ext := p.CreateExtension("102", nil)
		b.do(t,
			click(`nav a[href="#/dashboard"]`),
			waitText("#live-status", "Live: 0 registered phones"),
			waitText("#registrations-empty", "No phone is registered"),
		)
		ua := p.NewUA("102", ext.Secret)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := ua.Register(ctx, 300)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("register: %v %v", res, err)
		}
		// No reload: the row arrives over the event stream.
		b.do(t, waitText(`#registrations tr[data-extension="102"]`, "pbxtest-ua"))
		b.screenshot(t, "dashboard")
	})

	run(t, "narrow screen", func(t *testing.T) {
		b.do(t, chromedp.EmulateViewport(360, 740), goTo("#/extensions/102"), waitText("h1", "Extension 102"))
		if w := b.eval(t, `String(document.documentElement.scrollWidth)`); w != "360" {
			t.Errorf("at 360 px the extension page is %s px wide", w)
		}
		b.do(t, chromedp.EmulateViewport(1280, 800))
	})

	run(t, "user self-service", func(t *testing.T) {
		p.CreateExtension("103", nil)
		code, body := p.Do(http.MethodPost, "/api/v1/users",
			map[string]any{"username": "alice", "password": "alice-password-1", "role": "user", "extension": "103"})
		if code != http.StatusCreated {
			t.Fatalf("create user: %d %s", code, body)
		}
		b.do(t, click("#logout"), waitText("h1", "Log in"))
		b.login(t, "alice", "alice-password-1")
		b.do(t,
			waitText("h1", "My extension 103"),
			typeInto("#f-forward-always", "voicemail:103"),
			click("#f-dnd"),
			typeInto("#f-voicemail-pin", "4321"),
			click("#me-form button[type=submit]"),
			waitText("#me-status", "Saved"),
		)
		_, ext := extension(t, p, "103")
		fw, _ := ext["forward"].(map[string]any)
		vm, _ := ext["voicemail"].(map[string]any)
		if fw["always"] != "voicemail:103" || ext["dnd"] != true || vm["pin"] != "4321" {
			t.Errorf("extension 103 after self-service: forward %v dnd %v voicemail %v", fw, ext["dnd"], vm)
		}
		b.screenshot(t, "self-service")
		if n := b.eval(t, `String(document.querySelectorAll('nav a[href="#/users"]').length)`); n != "0" {
			t.Error("the navigation offers Users to role user")
		}
		b.do(t, goTo("#/users"), waitText("main .notice", "administrators only"))
		b.do(t, click("#logout"), waitText("h1", "Log in"))
	})

	// Measured, not asserted: how long pages take to become usable with an
	// office's worth of extensions.
	run(t, "timing with 500 extensions", func(t *testing.T) {
		start := time.Now()
		for i := range 500 {
			code, body := p.Do(http.MethodPost, "/api/v1/extensions", map[string]any{"number": strconv.Itoa(2000 + i), "name": fmt.Sprintf("Person %d", i)})
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, body)
			}
		}
		t.Logf("created 500 extensions through the API in %v", time.Since(start).Round(time.Millisecond))
		b.login(t, "admin", pbxtest.AdminPassword)
		b.do(t, waitText("h1", "Dashboard"))
		measure := func(name, url, sel, want string) {
			start := time.Now()
			b.do(t, chromedp.Navigate(url), waitText(sel, want))
			t.Logf("%s: first row visible %v after navigation (full page load)", name, time.Since(start).Round(time.Millisecond))
		}
		measure("extensions list", p.URL+"/#/extensions", "#ext-table tbody tr", "102")
		measure("extension edit", p.URL+"/#/extensions/2250", "#setup-sheet", "2250")
		measure("users list", p.URL+"/#/users", "#user-table tbody tr", "admin")
		measure("dashboard", p.URL+"/#/dashboard", `#registrations tr[data-extension="102"]`, "102")
		start = time.Now()
		b.do(t, goTo("#/dashboard"), goTo("#/extensions"), waitText("#ext-table tbody tr", "102"))
		t.Logf("extensions list: first row %v after an in-app navigation", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		b.do(t, typeInto("#ext-search", "Person 49"), waitText("#ext-table tbody tr", "Person 49"))
		t.Logf("extensions search (300 ms debounce included): %v", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		b.do(t, typeInto("#ext-search", ""), click("form.search button"), waitText("#ext-table", "2000"), click(".pager button:last-child"), waitText(".pager", "Page 2"), waitText("#ext-table tbody tr", "2023"))
		t.Logf("extensions next page: %v", time.Since(start).Round(time.Millisecond))
	})
}
