package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/pbxtest"
)

// setPlan puts text into the dial plan editor as typing would (an input
// event follows).
func setPlan(text string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const ta = document.getElementById('dp-text'); ta.value = %q; ta.dispatchEvent(new Event('input')); })()`, text)
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[chromedp.Void](js)(ctx, tg)
		return err
	})
}

// storedPlan reads the current dial plan through the API.
func storedPlan(t *testing.T, p *pbxtest.PBX) string {
	t.Helper()
	code, body := p.Do(http.MethodGet, "/api/v1/dialplan", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /dialplan: %d %s", code, body)
	}
	return string(body)
}

// caretLine is the editor's line (from 1) where the caret or selection starts.
const caretLine = `String(document.getElementById('dp-text').value.slice(0, document.getElementById('dp-text').selectionStart).split('\n').length)`

// TestDialplanConsole drives the dial plan page: a refused plan shows its
// errors at their lines, a saved one becomes a version, a trace shows its
// steps, and old versions can be viewed and restored.
func TestDialplanConsole(t *testing.T) {
	t.Setenv("PBXTEST_QUIET", "1")
	p := pbxtest.Start(t)
	p.CreateExtension("101", map[string]any{"outbound": "national"})
	b := newBrowser(t, p.URL)
	defer b.check()

	run(t, "open", func(t *testing.T) {
		b.do(t, chromedp.Navigate(p.URL+"/"))
		b.probeConsole(t)
		b.login(t, "admin", pbxtest.AdminPassword)
		b.do(t,
			waitText("h1", "Dashboard"),
			click(`nav a[href="#/dialplan"]`),
			waitText("h1", "Dial plan"),
			waitText(`#dp-versions tr[data-id="1"]`, "current"),
			waitText(`#dp-versions tr[data-id="1"]`, "system"),
			waitText("#dp-version", "Saved version 1"),
		)
		if got := b.eval(t, `document.getElementById('dp-text').value`); got != dialplan.Default {
			t.Errorf("the editor holds %q, want the default plan", got)
		}
		lines := strings.Count(dialplan.Default, "\n") + 1
		if n := b.eval(t, `String(document.querySelectorAll('#dp-gutter .ln').length)`); n != fmt.Sprint(lines) {
			t.Errorf("gutter has %s rows for %d lines", n, lines)
		}
	})

	broken := "context internal {\n    rule 0 {\n        dial extension:101\n        bogus\n    }\n}\n"
	run(t, "broken plan", func(t *testing.T) {
		b.do(t,
			setPlan(broken),
			click("#dp-save"),
			waitText("#dp-status", "Not saved"),
			waitText("#dp-errors", "Line 4, column 9"),
			waitText("#dp-errors", "unknown statement bogus"),
		)
		if v := b.eval(t, `[...document.querySelectorAll('#dp-gutter .ln.err')].map((e) => e.dataset.line + ':' + e.title).join('|')`); !strings.HasPrefix(v, "4:unknown statement bogus") || strings.Contains(v, "|") {
			t.Errorf("gutter marks %q, want line 4 only", v)
		}
		if n := b.eval(t, `String(document.querySelectorAll('#dp-gutter .ln').length)`); n != "7" {
			t.Errorf("gutter has %s rows for the 7 lines of the broken plan", n)
		}
		b.do(t, click(`#dp-errors button.dp-error[data-line="4"]`))
		if l := b.eval(t, caretLine); l != "4" {
			t.Errorf("after a click on the error the caret is on line %s, want 4", l)
		}
		if got := storedPlan(t, p); got != dialplan.Default {
			t.Errorf("a refused save changed the stored plan to %q", got)
		}
		b.screenshot(t, "dialplan-errors")
	})

	good := `context internal {
    rule 0 {
        dial extension:101 ring 15
        dial voicemail:101
    }
    rule _9X. {
        require national
        strip 1
        dial number:${number}
    }
}
` + strings.Repeat("# padding so the editor scrolls\n", 40)
	run(t, "save", func(t *testing.T) {
		b.do(t,
			setPlan(good),
			typeInto("#dp-comment", "operator on 0"),
			click("#dp-save"),
			waitText("#dp-status", "Saved as version 2"),
			waitText(`#dp-versions tr[data-id="2"]`, "current"),
			waitText(`#dp-versions tr[data-id="2"]`, "operator on 0"),
			waitText("#dp-version", "Saved version 2"),
		)
		if n := b.eval(t, `String(document.querySelectorAll('#dp-errors-box:not([hidden]), #dp-gutter .ln.err').length)`); n != "0" {
			t.Errorf("%s error marks left after a good save", n)
		}
		if got := storedPlan(t, p); got != good {
			t.Errorf("stored plan %q", got)
		}
		// The gutter follows the text when it scrolls.
		v := b.eval(t, `(() => { const ta = document.getElementById('dp-text'); ta.scrollTop = 300; ta.dispatchEvent(new Event('scroll'));
			return String(document.getElementById('dp-gutter').scrollTop === ta.scrollTop && ta.scrollTop > 0); })()`)
		if v != "true" {
			t.Error("the gutter does not scroll with the text")
		}
	})

	run(t, "trace", func(t *testing.T) {
		b.do(t,
			typeInto("#f-number", "0"),
			typeInto("#f-from", "101"),
			click("#dp-trace-form button[type=submit]"),
			waitText("#dp-trace-outcome", "extension:101"),
			waitText("#dp-trace-outcome", "voicemail:101"),
			waitText("#dp-steps li", "rule 0"),
		)
		steps := b.eval(t, `[...document.querySelectorAll('#dp-steps li')].map((li) => li.dataset.line).join(',')`)
		if !strings.HasPrefix(steps, "2,3") {
			t.Errorf("step lines %s, want the rule (2) and its dials (3, 4)", steps)
		}
		b.do(t, click(`#dp-steps li[data-line="3"] button.step-line`))
		if v := b.eval(t, `[...document.querySelectorAll('#dp-gutter .ln.hl')].map((e) => e.dataset.line).join(',') + ' ' + `+caretLine); v != "3 3" {
			t.Errorf("highlighted gutter line and selection: %q, want line 3", v)
		}
		b.screenshot(t, "dialplan")

		b.do(t,
			typeInto("#f-number", "90301234"),
			typeInto("#f-from", "555"),
			click("#dp-trace-form button[type=submit]"),
			waitText("#dp-trace-outcome", "Refused"),
			typeInto("#f-number", "12x"),
			click("#dp-trace-form button[type=submit]"),
			waitText("#f-number-err", "digits"),
		)
	})

	run(t, "view", func(t *testing.T) {
		b.do(t,
			click(`#dp-versions tr[data-id="1"] button.view`),
			waitText("#dp-view", "Version 1"),
			waitText("#dp-view-text", "context internal"),
			click("#dp-view-close"),
		)
	})

	run(t, "restore", func(t *testing.T) {
		b.do(t,
			click(`#dp-versions tr[data-id="1"] button.restore`),
			click(`#dp-versions tr[data-id="1"] button.confirm-yes`),
			waitText("#dp-status", "Version 1 restored as version 3"),
			waitText(`#dp-versions tr[data-id="3"]`, "restored from version 1"),
			waitText(`#dp-versions tr[data-id="3"]`, "current"),
		)
		if got := storedPlan(t, p); got != dialplan.Default {
			t.Errorf("stored plan after restoring version 1: %q", got)
		}
		if got := b.eval(t, `document.getElementById('dp-text').value`); got != dialplan.Default {
			t.Errorf("editor after restore: %q", got)
		}
	})

	run(t, "restore refused", func(t *testing.T) {
		if code, body := p.Do(http.MethodDelete, "/api/v1/extensions/101", nil); code != http.StatusNoContent {
			t.Fatalf("delete 101: %d %s", code, body)
		}
		b.do(t,
			click(`#dp-versions tr[data-id="2"] button.restore`),
			click(`#dp-versions tr[data-id="2"] button.confirm-yes`),
			waitText("#dp-status", "Version 2 was not restored"),
			waitText("#dp-errors", "no extension 101"),
		)
		if v := b.eval(t, `[...document.querySelectorAll('#dp-gutter .ln.err')].map((e) => e.dataset.line).join(',')`); v != "3,4" {
			t.Errorf("marked lines %q, want 3,4 (extension:101 and voicemail:101)", v)
		}
		if got := storedPlan(t, p); got != dialplan.Default {
			t.Errorf("a refused restore changed the stored plan to %q", got)
		}
	})
}
