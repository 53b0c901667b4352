package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// setSelect picks value in the select sel, as a user choosing it does
// (a change event follows); an option that is not offered is an error.
func setSelect(sel, value string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e) throw new Error('no element ' + %q);
		if (![...e.options].some((o) => o.value === %q)) throw new Error(%q + ' offers no ' + %q + ': ' + [...e.options].map((o) => o.value).join(','));
		e.value = %q;
		e.dispatchEvent(new Event('change', { bubbles: true }));
	})()`, sel, sel, value, sel, value, value)
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[chromedp.Void](js)(ctx, tg)
		return err
	})
}

// getJSON reads an API resource as admin.
func getJSON(t *testing.T, p *pbxtest.PBX, path string) (int, map[string]any) {
	t.Helper()
	code, body := p.Do(http.MethodGet, path, nil)
	var out map[string]any
	if code == http.StatusOK {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
	}
	return code, out
}

// TestConsoleIVRsAndRingGroups drives the ring group and IVR menu pages:
// forms with ordered members and destination pickers, errors beside their
// fields, and a delete refused while a menu still sends calls to a group.
func TestConsoleIVRsAndRingGroups(t *testing.T) {
	t.Setenv("PBXTEST_QUIET", "1")
	p := pbxtest.Start(t)
	for _, n := range []string{"101", "102", "103"} {
		p.CreateExtension(n, nil)
	}
	b := newBrowser(t, p.URL)
	defer b.check()
	b.do(t, chromedp.Navigate(p.URL+"/"))
	b.probeConsole(t)
	b.login(t, "admin", pbxtest.AdminPassword)
	b.do(t, waitText("h1", "Dashboard"))

	run(t, "ring group needs members", func(t *testing.T) {
		b.do(t,
			click(`nav a[href="#/ringgroups"]`),
			waitText("#rg-results", "No ring groups yet"),
			click(`a[href="#/ringgroups/new"]`),
			waitText("h1", "New ring group"),
			typeInto("#f-number", "600"),
			click("#rg-form button[type=submit]"),
			waitText("#f-members-err", "at least one"),
		)
	})

	run(t, "create ring group", func(t *testing.T) {
		b.do(t,
			typeInto("#f-name", "Sales"),
			setSelect("#f-strategy", "hunt"),
			setSelect("#f-members", "101"), click("#member-add"),
			setSelect("#f-members", "102"), click("#member-add"),
			waitText(`#rg-members li:nth-child(2)`, "102"),
			typeInto("#f-member-seconds", "10"),
			click("#rg-form button[type=submit]"),
			waitText("h1", "Ring group 600"),
			waitText("#rg-status", "Ring group 600 created"),
		)
		code, g := getJSON(t, p, "/api/v1/ringgroups/600")
		if code != http.StatusOK || g["strategy"] != "hunt" || g["name"] != "Sales" || g["member_seconds"] != 10.0 ||
			!reflect.DeepEqual(g["members"], []any{"101", "102"}) {
			t.Fatalf("ring group 600 after create: %d %v", code, g)
		}
	})

	run(t, "reorder members", func(t *testing.T) {
		b.do(t,
			click(`#rg-members li[data-member="102"] button.up`),
			waitText(`#rg-members li:nth-child(1)`, "102"),
			setSelect("#f-members", "103"), click("#member-add"),
			click(`#rg-members li[data-member="101"] button.remove`),
			waitText(`#rg-members li:nth-child(2)`, "103"),
		)
		b.screenshot(t, "ringgroup-edit")
		b.do(t, click("#rg-form button[type=submit]"), waitText("#rg-status", "Ring group 600 saved"))
		if _, g := getJSON(t, p, "/api/v1/ringgroups/600"); !reflect.DeepEqual(g["members"], []any{"102", "103"}) || g["strategy"] != "hunt" {
			t.Errorf("after reorder: %v", g)
		}
		b.do(t, goTo("#/ringgroups"), waitText(`#rg-table tr[data-number="600"]`, "102, 103"))
		b.screenshot(t, "ringgroups")
	})

	run(t, "IVR errors beside their fields", func(t *testing.T) {
		b.do(t,
			click(`nav a[href="#/ivrs"]`),
			waitText("#ivr-results", "No IVR menus yet"),
			click(`a[href="#/ivrs/new"]`),
			waitText("h1", "New IVR menu"),
			typeInto("#f-number", "500"),
			typeInto("#f-timeout-s", "0"),
			setSelect("#f-opt-3", "conference"),
			typeInto("#f-opt-3-typed", "800"),
			click("#ivr-form button[type=submit]"),
			waitText("#f-timeout-s-err", "from 1 to 60"),
			waitText("#f-opt-3-err", "no conference 800"),
		)
		if v := b.eval(t, `document.getElementById('f-opt-3').getAttribute('aria-invalid')`); v != "true" {
			t.Errorf("option 3 picker: aria-invalid %q", v)
		}
	})

	run(t, "create IVR", func(t *testing.T) {
		b.do(t,
			typeInto("#f-name", "Main menu"),
			typeInto("#f-timeout-s", "7"),
			setSelect("#f-opt-3", ""),
			setSelect("#f-opt-1", "extension"), setSelect("#f-opt-1-target", "101"),
			setSelect("#f-opt-2", "ringgroup"), setSelect("#f-opt-2-target", "600"),
			setSelect("#f-opt-star", "ivr"), setSelect("#f-opt-star-target", "@self"),
			setSelect("#f-on-timeout", "voicemail"), setSelect("#f-on-timeout-target", "103"),
			click("#f-direct-dial"),
			click("#ivr-form button[type=submit]"),
			waitText("h1", "IVR menu 500"),
			waitText("#ivr-status", "IVR menu 500 created"),
		)
		code, v := getJSON(t, p, "/api/v1/ivrs/500")
		want := map[string]any{"1": "extension:101", "2": "ringgroup:600", "*": "ivr:500"}
		if code != http.StatusOK || !reflect.DeepEqual(v["options"], want) || v["name"] != "Main menu" || v["timeout_s"] != 7.0 ||
			v["on_timeout"] != "voicemail:103" || v["on_invalid"] != "hangup" || v["direct_dial"] != false || v["greeting"] != "" {
			t.Fatalf("IVR 500 after create: %d %v", code, v)
		}
		// The edit page shows what was stored, the repeat option as such.
		if got := b.eval(t, `document.getElementById('f-opt-star-target').selectedOptions[0].textContent + ' | ' + document.getElementById('f-opt-2-target').value`); got != "This menu (repeat it) | 600" {
			t.Errorf("edit page pickers: %q", got)
		}
		b.screenshot(t, "ivr-edit")
		b.do(t, goTo("#/ivrs"), waitText(`#ivr-table tr[data-number="500"]`, "1 → extension:101"))
		b.screenshot(t, "ivrs")
	})

	run(t, "narrow screen", func(t *testing.T) {
		b.do(t, chromedp.EmulateViewport(360, 740))
		for _, page := range []struct{ hash, h1 string }{{"#/ivrs/500", "IVR menu 500"}, {"#/ringgroups/600", "Ring group 600"}} {
			b.do(t, goTo(page.hash), waitText("h1", page.h1))
			if w := b.eval(t, `String(document.documentElement.scrollWidth)`); w != "360" {
				t.Errorf("at 360 px %s is %s px wide", page.hash, w)
			}
		}
		b.do(t, chromedp.EmulateViewport(1280, 800))
	})

	run(t, "delete refused while in use", func(t *testing.T) {
		b.do(t,
			goTo("#/ringgroups/600"),
			waitText("h1", "Ring group 600"),
			click("#delete-start"),
			click("#delete-yes"),
			waitText("#delete-status", "ivr 500 option 2"),
		)
		if code, _ := getJSON(t, p, "/api/v1/ringgroups/600"); code != http.StatusOK {
			t.Fatalf("ring group 600 after a refused delete: %d", code)
		}
	})

	run(t, "delete IVR then ring group", func(t *testing.T) {
		b.do(t,
			goTo("#/ivrs/500"),
			waitText("h1", "IVR menu 500"),
			click("#delete-start"),
			click("#delete-yes"),
			waitText("main .notice", "IVR menu 500 deleted"),
			waitText("#ivr-results", "No IVR menus yet"),
			goTo("#/ringgroups/600"),
			waitText("h1", "Ring group 600"),
			click("#delete-start"),
			click("#delete-yes"),
			waitText("main .notice", "Ring group 600 deleted"),
		)
		if code, _ := getJSON(t, p, "/api/v1/ringgroups/600"); code != http.StatusNotFound {
			t.Errorf("ring group 600 after delete: %d", code)
		}
	})
}
