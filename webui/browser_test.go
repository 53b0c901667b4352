package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
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

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
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
			// data: URLs load nothing (Chromium's date inputs draw their
			// calendar icon from one).
			if !strings.HasPrefix(u, "about:") && !strings.HasPrefix(u, "data:") {
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

// evalAsync evaluates js that returns a promise and gives its string.
func (b *browser) evalAsync(t *testing.T, js string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
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

// leaveMessage stores a voicemail message of d of a tone in mailbox as the
// call application does: a file from the store, a WAV writer, a commit.
func leaveMessage(t *testing.T, st *store.Store, mailbox, caller, name string, d time.Duration) store.VoicemailMessage {
	t.Helper()
	f, err := st.CreateVoicemailFile(mailbox)
	if err != nil {
		t.Fatal(err)
	}
	w, err := media.NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, int(d.Seconds()*8000))
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	w.WriteAudio(pcm)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m := store.VoicemailMessage{Mailbox: mailbox, Caller: caller, CallerName: name, Duration: w.Duration()}
	if err := st.CommitVoicemail(context.Background(), f, &m); err != nil {
		t.Fatal(err)
	}
	return m
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
			typeInto("#f-pickup-group", "Front Desk"),
			click("#ext-form button[type=submit]"),
			waitText("#f-voicemail-pin-err", "4 to 10 digits"),
			waitText("#f-forward-always-err", "no extension 999"),
			waitText("#f-pickup-group-err", "a-z, 0-9"),
		)
	})

	run(t, "edit extension", func(t *testing.T) {
		b.do(t,
			goTo("#/extensions/101"),
			waitText("h1", "Extension 101"),
			typeInto("#f-name", "Front desk"),
			click("#f-call-waiting"),
			typeInto("#f-pickup-group", "front-desk"),
			typeInto("#f-max-calls", "3"),
			chromedp.SetValue(chromedp.CSS("#f-srtp"), "required"),
			click("#ext-form button[type=submit]"),
			waitText("#ext-status", "Extension 101 saved"),
		)
		if _, ext := extension(t, p, "101"); ext["name"] != "Front desk" || ext["email"] != "reception@example.com" ||
			ext["call_waiting"] != false || ext["pickup_group"] != "front-desk" || ext["max_calls"] != float64(3) ||
			ext["srtp"] != "required" {
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

	var ua102 *pbxtest.UA
	run(t, "live registration", func(t *testing.T) {
		ext := p.CreateExtension("102", nil)
		b.do(t,
			click(`nav a[href="#/dashboard"]`),
			waitText("#live-status", "Live: 0 registered phones"),
			waitText("#registrations-empty", "No phone is registered"),
		)
		ua102 = p.NewUA("102", ext.Secret)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := ua102.Register(ctx, 300)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("register: %v %v", res, err)
		}
		// No reload: the row arrives over the event stream.
		b.do(t, waitText(`#registrations tr[data-extension="102"]`, "pbxtest-ua"))
		b.screenshot(t, "dashboard")
	})

	var callCDR store.CDR
	run(t, "live call", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		ext := p.CreateExtension("101", nil)
		ua101 := p.NewUA("101", ext.Secret, pbxtest.WithTone(440))
		if res, err := ua101.Register(ctx, 300); err != nil || res.StatusCode != 200 {
			t.Fatalf("register 101: %v %v", res, err)
		}
		b.do(t, waitText("#calls-empty", "No calls in progress"))
		caller, err := ua101.Dial(ctx, "102")
		if err != nil || caller.Status() != 200 {
			t.Fatalf("dial 102: %v", err)
		}
		callee, err := ua102.NextCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// No reload: the row arrives over the event stream, and its
		// duration counts up from the answer.
		row := `#calls tr[data-state="answered"]`
		b.do(t,
			waitText(row, "Test 101 (101)"),
			waitText(row+" td:nth-child(2)", "102"),
			waitText(row+" td:nth-child(5)", "PCMU / PCMU"),
			waitText(row+" td:nth-child(4)", "0:01"),
		)
		b.screenshot(t, "dashboard-call")
		b.do(t,
			click(row+" button.hangup"),
			waitText("#calls-status", "Call 101 → 102 hung up"),
			waitText("#calls-empty", "No calls in progress"),
		)
		if err := caller.WaitEnded(ctx); err != nil {
			t.Errorf("caller: %v", err)
		}
		if err := callee.WaitEnded(ctx); err != nil {
			t.Errorf("callee: %v", err)
		}
		if n := b.eval(t, `String(document.querySelectorAll('#calls tr').length)`); n != "0" {
			t.Errorf("%s call rows left after the hang-up", n)
		}
		callCDR = p.LastCDR(ctx) // waits for the PBX to be idle and writes the record
	})

	run(t, "call history", func(t *testing.T) {
		row := fmt.Sprintf(`#cdr-table tr[data-id="%d"]`, callCDR.ID)
		b.do(t,
			click(`nav a[href="#/history"]`),
			waitText("h1", "Call history"),
			waitText(row, "101 (Test 101)"),
			waitText(row+" td:nth-child(4)", "answered"),
			waitText(row+" td:nth-child(7)", "hung up by administrator"),
		)
		today := time.Now().Format(time.DateOnly)
		b.do(t,
			typeInto("#f-number", "102"),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				// Date inputs take keys in the browser's locale order; set them.
				_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('f-from').value = %q; document.getElementById('f-to').value = %q`, today, today))(ctx, tg)
				return err
			}),
			click("#cdr-form button[type=submit]"),
			waitText(row, "answered"),
		)
		b.screenshot(t, "history")
		href := b.eval(t, `document.getElementById('cdr-csv').href`)
		u, err := url.Parse(href)
		if err != nil || u.Path != "/api/v1/cdr.csv" || u.Query().Get("number") != "102" || u.Query().Get("from") == "" || u.Query().Get("to") == "" {
			t.Errorf("CSV link %q lacks the filters", href)
		}
		// The link downloads with the session cookie, as a click would.
		csv := b.evalAsync(t, `fetch(document.getElementById('cdr-csv').href).then(async (r) => r.status + ' ' + r.headers.get('content-type') + '\n' + await r.text())`)
		lines := strings.Split(strings.TrimSpace(csv), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "200 text/csv") || !strings.HasPrefix(lines[1], "id,caller,") ||
			!strings.HasPrefix(lines[2], fmt.Sprintf("%d,101,Test 101,102,", callCDR.ID)) || !strings.Contains(lines[2], ",answered,") {
			t.Errorf("CSV download:\n%s", csv)
		}
		b.do(t,
			typeInto("#f-number", "999"),
			click("#cdr-form button[type=submit]"),
			waitText("#cdr-empty", "No calls match these filters"),
			typeInto("#f-number", "12x"),
			click("#cdr-form button[type=submit]"),
			waitText("#f-number-err", "digits"),
			waitText("#cdr-results .notice", "could not be loaded"),
			click("#cdr-form button[type=reset]"),
			waitText(row, "answered"),
		)
	})

	run(t, "narrow screen", func(t *testing.T) {
		b.do(t, chromedp.EmulateViewport(360, 740), goTo("#/extensions/102"), waitText("h1", "Extension 102"))
		if w := b.eval(t, `String(document.documentElement.scrollWidth)`); w != "360" {
			t.Errorf("at 360 px the extension page is %s px wide", w)
		}
		b.do(t, chromedp.EmulateViewport(1280, 800))
	})

	run(t, "prompts", func(t *testing.T) {
		dir := t.TempDir()
		good, bad := filepath.Join(dir, "front-desk.wav"), filepath.Join(dir, "notes.wav")
		if err := os.WriteFile(good, pbxtest.ToneWAV(1000, 1.5), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bad, []byte("these are not sound"), 0o644); err != nil {
			t.Fatal(err)
		}
		row := `#prompt-table tr[data-name="front-desk"]`
		b.do(t,
			click(`nav a[href="#/prompts"]`),
			waitText("h1", "Prompts"),
			waitText(`#prompt-table tr[data-name="music-on-hold"]`, "built in"),
			typeInto("#f-name", "front-desk"),
			chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{bad}),
			click("#prompt-form button[type=submit]"),
			waitText("#f-file-err", "not a WAV file"),
			chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{good}),
			click("#prompt-form button[type=submit]"),
			waitText("#prompt-status", "Uploaded front-desk (1.5 s)"),
			waitText(row, "uploaded"),
		)
		// The browser's own player loads the audio through the API.
		d := b.evalAsync(t, `new Promise((done) => {
			const a = document.querySelector('`+row+` audio');
			a.addEventListener('loadedmetadata', () => done(String(a.duration)), { once: true });
			a.addEventListener('error', () => done('error ' + (a.error && a.error.code)), { once: true });
			a.preload = 'metadata';
			a.load();
		})`)
		if d != "1.5" {
			t.Errorf("the player reports %s for the 1.5 s prompt", d)
		}
		b.screenshot(t, "prompts")
		b.do(t,
			click(row+" button.delete"),
			click(row+" button.confirm-yes"),
			waitText("#prompt-status", "Deleted front-desk"),
		)
		if n := b.eval(t, `String(document.querySelectorAll('`+row+`').length)`); n != "0" {
			t.Error("the deleted prompt is still listed")
		}
		if code, _ := p.Do(http.MethodGet, "/api/v1/prompts/front-desk", nil); code != http.StatusNotFound {
			t.Errorf("GET deleted prompt: %d", code)
		}
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
			click("#f-call-waiting"),
			typeInto("#f-voicemail-pin", "4321"),
			click("#me-form button[type=submit]"),
			waitText("#me-status", "Saved"),
		)
		_, ext := extension(t, p, "103")
		fw, _ := ext["forward"].(map[string]any)
		vm, _ := ext["voicemail"].(map[string]any)
		if fw["always"] != "voicemail:103" || ext["dnd"] != true || vm["pin"] != "4321" || ext["call_waiting"] != false {
			t.Errorf("extension 103 after self-service: forward %v dnd %v call waiting %v voicemail %v", fw, ext["dnd"], ext["call_waiting"], vm)
		}
		b.screenshot(t, "self-service")
		if n := b.eval(t, `String(document.querySelectorAll('nav a[href="#/users"]').length)`); n != "0" {
			t.Error("the navigation offers Users to role user")
		}
		b.do(t, goTo("#/users"), waitText("main .notice", "administrators only"))

		// Call history: alice sees the calls of 103 only.
		now := time.Now().UTC().Truncate(time.Second)
		own := []store.CDR{{CallID: "alice-call", Caller: "103", CallerName: "Alice", Callee: "101", StartedAt: now.Add(-time.Minute),
			AnsweredAt: now.Add(-50 * time.Second), EndedAt: now, Disposition: "answered", HangupCause: "caller hung up"}}
		if err := p.App.Store.InsertCDRs(context.Background(), own); err != nil {
			t.Fatal(err)
		}
		b.do(t,
			click(`nav a[href="#/history"]`),
			waitText("#cdr-form", "your extension 103"),
			waitText(fmt.Sprintf(`#cdr-table tr[data-id="%d"]`, own[0].ID), "103 (Alice)"),
		)
		if v := b.eval(t, `String(document.querySelectorAll('#cdr-table tbody tr').length) + ' ' + String(!!document.getElementById('f-number'))`); v != "1 false" {
			t.Errorf("alice's history: rows and number filter = %q, want her one call and no number filter", v)
		}
		csv := b.evalAsync(t, `fetch(document.getElementById('cdr-csv').href).then((r) => r.text())`)
		if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) != 2 || !strings.Contains(lines[1], ",103,Alice,101,") {
			t.Errorf("alice's CSV:\n%s", csv)
		}
		b.do(t, goTo("#/dashboard"), waitText("#calls-empty", "No calls in progress"))
		b.do(t, click("#logout"), waitText("h1", "Log in"))
	})

	run(t, "user voicemail", func(t *testing.T) {
		// The call application is not in the console's reach: the messages
		// are stored as it stores them.
		first := leaveMessage(t, p.App.Store, "103", "101", "Front desk", 2*time.Second)
		second := leaveMessage(t, p.App.Store, "103", "102", "", time.Second)
		b.login(t, "alice", "alice-password-1")
		row := fmt.Sprintf(`#vm-table tr[data-id="%d"]`, first.ID)
		b.do(t,
			waitText("h1", "My extension 103"),
			waitText(row, "Front desk (101)"),
			waitText(row, "New"),
			waitText(fmt.Sprintf(`#vm-table tr[data-id="%d"]`, second.ID), "102"),
		)
		// The player loads the audio with the session cookie.
		audio := row + " audio"
		b.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const a = document.querySelector(%q); return a.readyState >= 1 && a.duration > 1.9; })()`, audio),
				chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
			return err
		}))
		b.do(t, click(row+" td")) // a user gesture, which the browser wants before playing
		if res := b.evalAsync(t, fmt.Sprintf(`document.querySelector(%q).play().then(() => 'playing', (e) => e.name)`, audio)); res != "playing" {
			t.Fatalf("play: %s", res)
		}
		// Listening marks the message old.
		b.do(t, waitText(row+" .vm-state", "Old"))
		b.screenshot(t, "voicemail-self")
		if m, err := p.App.Store.GetVoicemail(context.Background(), "103", first.ID); err != nil || !m.Read {
			t.Errorf("message after playing: %+v %v, want read", m, err)
		}
		b.do(t,
			click(row+" .vm-toggle"),
			waitText(row+" .vm-state", "New"),
			click(row+" .delete"),
			click(row+" .confirm-yes"),
			waitText("#vm-status", "Deleted the message from Front desk (101)"),
		)
		if n := b.eval(t, fmt.Sprintf(`String(document.querySelectorAll(%q).length)`, row)); n != "0" {
			t.Error("the deleted message is still listed")
		}
		path := fmt.Sprintf("/api/v1/voicemail/103/messages/%d", first.ID)
		if code, body := p.Do(http.MethodGet, path, nil); code != http.StatusNotFound {
			t.Errorf("GET %s after delete: %d %s", path, code, body)
		}
		if code, _ := p.Do(http.MethodGet, path+"/audio", nil); code != http.StatusNotFound {
			t.Errorf("audio after delete: %d", code)
		}
		// Another box's messages are not hers.
		if v := b.evalAsync(t, `fetch('/api/v1/voicemail/102/messages').then((r) => String(r.status))`); v != "403" {
			t.Errorf("alice reading box 102: %s, want 403", v)
		}
		b.do(t, click("#logout"), waitText("h1", "Log in"))

		// An administrator picks any box.
		b.login(t, "admin", pbxtest.AdminPassword)
		b.do(t,
			waitText("h1", "Dashboard"),
			click(`nav a[href="#/voicemail"]`),
			waitText("main", "Choose a box"),
			chromedp.SetValue(chromedp.CSS("#vm-box"), "103"),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Evaluate[chromedp.Void](`document.getElementById('vm-box').dispatchEvent(new Event('change'))`)(ctx, tg)
				return err
			}),
			waitText("h1", "Voicemail 103"),
			waitText(fmt.Sprintf(`#vm-table tr[data-id="%d"]`, second.ID), "102"),
		)
		href := b.eval(t, fmt.Sprintf(`document.querySelector('#vm-table tr[data-id="%d"] .vm-download').href`, second.ID))
		if !strings.HasSuffix(href, fmt.Sprintf("/api/v1/voicemail/103/messages/%d/audio?download=1", second.ID)) {
			t.Errorf("download link %s", href)
		}
		b.screenshot(t, "voicemail")

		// Mailbox settings on the extension form, the operator from the picker.
		change := func(sel, value string) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event('change')); })()`, sel, value))(ctx, tg)
				return err
			})
		}
		b.do(t,
			goTo("#/extensions/103"),
			waitText("h1", "Extension 103"),
			typeInto("#f-voicemail-max-seconds", "60"),
			typeInto("#f-voicemail-delete-after-days", "30"),
			click("#f-voicemail-skip-pin-own"),
			click("#f-voicemail-email"),
			change("#f-voicemail-operator", "extension"),
			change("#f-voicemail-operator-target", "102"),
			click("#ext-form button[type=submit]"),
			waitText("#ext-status", "Extension 103 saved"),
		)
		_, ext := extension(t, p, "103")
		vm, _ := ext["voicemail"].(map[string]any)
		if vm["max_seconds"] != 60.0 || vm["delete_after_days"] != 30.0 || vm["skip_pin_own"] != false || vm["email"] != true ||
			vm["operator"] != "extension:102" || vm["max_messages"] != 100.0 || vm["pin"] != "4321" {
			t.Errorf("voicemail settings after the form: %v", vm)
		}
		b.do(t,
			typeInto("#f-voicemail-max-messages", "0"),
			click("#ext-form button[type=submit]"),
			waitText("#f-voicemail-max-messages-err", "from 1 to 1000"),
		)
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
		measure("extensions list", p.URL+"/#/extensions", "#ext-table tbody tr", "101")
		measure("extension edit", p.URL+"/#/extensions/2250", "#setup-sheet", "2250")
		measure("users list", p.URL+"/#/users", "#user-table tbody tr", "admin")
		measure("dashboard", p.URL+"/#/dashboard", `#registrations tr[data-extension="102"]`, "102")
		start = time.Now()
		b.do(t, goTo("#/dashboard"), goTo("#/extensions"), waitText("#ext-table tbody tr", "101"))
		t.Logf("extensions list: first row %v after an in-app navigation", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		b.do(t, typeInto("#ext-search", "Person 49"), waitText("#ext-table tbody tr", "Person 49"))
		t.Logf("extensions search (300 ms debounce included): %v", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		b.do(t, typeInto("#ext-search", ""), click("form.search button"), waitText("#ext-table", "2000"), click(".pager button:last-child"), waitText(".pager", "Page 2"), waitText("#ext-table tbody tr", "2022"))
		t.Logf("extensions next page: %v", time.Since(start).Round(time.Millisecond))

		cdrs := make([]store.CDR, 10000)
		base := time.Now().UTC().Add(-30 * 24 * time.Hour)
		for i := range cdrs {
			at := base.Add(time.Duration(i) * 4 * time.Minute)
			cdrs[i] = store.CDR{CallID: fmt.Sprintf("bulk-%d", i), Caller: strconv.Itoa(2000 + i%500), CallerName: fmt.Sprintf("Person %d", i%500),
				Callee: strconv.Itoa(2000 + (i+7)%500), StartedAt: at, AnsweredAt: at.Add(5 * time.Second), EndedAt: at.Add(95 * time.Second),
				Disposition: "answered", HangupCause: "caller hung up"}
		}
		start = time.Now()
		if err := p.App.Store.InsertCDRs(context.Background(), cdrs); err != nil {
			t.Fatal(err)
		}
		t.Logf("inserted 10,000 CDRs into the store in %v", time.Since(start).Round(time.Millisecond))
		newest := fmt.Sprintf(`#cdr-table tr[data-id="%d"]`, cdrs[len(cdrs)-1].ID)
		measure("call history (10,000 calls)", p.URL+"/#/history", newest, "Person")
		start = time.Now()
		b.do(t, goTo("#/dashboard"), goTo("#/history"), waitText(newest, "Person"))
		t.Logf("call history: first row %v after an in-app navigation", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		b.do(t, click(".pager button:last-child"), waitText(".pager", "Page 2"))
		t.Logf("call history next page: %v", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		b.do(t, typeInto("#f-number", "2250"), click("#cdr-form button[type=submit]"), waitText("#cdr-table tbody tr", "2250"))
		t.Logf("call history filtered by number: %v", time.Since(start).Round(time.Millisecond))
	})
}
