package webui_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// plainSMTP is the least SMTP server a test mail needs (no TLS, no AUTH):
// it answers every command with success and reports each recipient.
func plainSMTP(t *testing.T) (port int, rcpts <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				say := func(s string) { c.Write([]byte(s + "\r\n")) }
				say("220 test ESMTP")
				inData := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					if inData {
						if line == "." {
							inData = false
							say("250 queued")
						}
						continue
					}
					switch verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0]); verb {
					case "EHLO", "HELO":
						say("250 test")
					case "RCPT":
						if i, j := strings.IndexByte(line, '<'), strings.IndexByte(line, '>'); i >= 0 && j > i {
							ch <- line[i+1 : j]
						}
						say("250 ok")
					case "DATA":
						inData = true
						say("354 go ahead")
					case "QUIT":
						say("221 bye")
						return
					default:
						say("250 ok")
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, ch
}

// TestConsoleEmail drives the e-mail settings page: a validation error
// beside its field, a save that keeps the password out of the page, and
// the test-mail button's success and failure.
func TestConsoleEmail(t *testing.T) {
	t.Setenv("PBXTEST_QUIET", "1")
	p := pbxtest.Start(t)
	b := newBrowser(t, p.URL)
	defer b.check()
	port, rcpts := plainSMTP(t)

	b.do(t, chromedp.Navigate(p.URL+"/"))
	b.login(t, "admin", pbxtest.AdminPassword)
	b.do(t, waitText("h1", "Dashboard"))

	run(t, "validation", func(t *testing.T) {
		b.do(t,
			click(`nav a[href="#/email"]`),
			waitText("h1", "E-mail"),
			click("#f-enabled"),
			typeInto("#f-from", "not an address"),
			click("#smtp-form button[type=submit]"),
			waitText("#f-host-err", "required when e-mail is enabled"),
			waitText("#f-from-err", "must be an email address"),
		)
		if v := b.eval(t, `document.activeElement.id`); v != "f-from" && v != "f-host" {
			t.Errorf("focus on %q after the error, want an invalid field", v)
		}
	})

	const password = "smtp-Secret-42"
	run(t, "save", func(t *testing.T) {
		b.do(t,
			typeInto("#f-host", "127.0.0.1"),
			typeInto("#f-port", strconv.Itoa(port)),
			setSelect("#f-security", "none"),
			typeInto("#f-username", "pbx"),
			typeInto("#f-password", password),
			typeInto("#f-from", "pbx@example.com"),
			click("#smtp-form button[type=submit]"),
			waitText("#smtp-status", "E-mail settings saved"),
			waitText("#f-password-help", "A password is stored"),
		)
		if v := b.eval(t, `document.querySelector('#f-password').value`); v != "" {
			t.Errorf("password field holds %q after saving", v)
		}
		_, s := getJSON(t, p, "/api/v1/settings/smtp")
		if s["host"] != "127.0.0.1" || s["port"] != float64(port) || s["security"] != "none" || s["password_set"] != true || s["enabled"] != true {
			t.Errorf("saved %v", s)
		}
		// Opened afresh: the password is nowhere in the page.
		b.do(t, goTo("#/dashboard"), waitText("h1", "Dashboard"), goTo("#/email"), waitText("h1", "E-mail"),
			waitText("#f-password-help", "A password is stored"))
		if v := b.eval(t, `document.querySelector('#f-password').value + document.documentElement.outerHTML`); strings.Contains(v, password) {
			t.Error("the stored password is in the page")
		}
		b.screenshot(t, "email")
	})

	run(t, "test mail fails", func(t *testing.T) {
		// A username is saved, and the plain server offers no AUTH: the
		// mailer's error is shown.
		b.do(t,
			typeInto("#f-to", "anna@example.com"),
			click("#smtp-test"),
			waitText("#smtp-test-form .form-error", "sending the test mail failed"),
		)
	})

	run(t, "test mail sent", func(t *testing.T) {
		// Without a login the plain server takes it.
		b.do(t,
			typeInto("#f-username", ""),
			typeInto("#f-password", ""),
			click("#smtp-form button[type=submit]"),
			waitText("#smtp-status", "E-mail settings saved"),
		)
		b.do(t, click("#smtp-test"), waitText("#smtp-test-status", "Test mail sent to anna@example.com"))
		select {
		case to := <-rcpts:
			if to != "anna@example.com" {
				t.Errorf("recipient %q", to)
			}
		default:
			t.Error("the server saw no recipient")
		}
	})

	run(t, "extension asks for e-mail", func(t *testing.T) {
		if code, body := p.Do(http.MethodPost, "/api/v1/extensions", map[string]any{"number": "101", "name": "Anna", "email": "anna@example.com"}); code != http.StatusCreated {
			t.Fatalf("create extension: %d %s", code, body)
		}
		b.do(t,
			goTo("#/extensions/101"),
			waitText("h1", "Extension 101"),
			click("#f-voicemail-email"),
			click("#ext-form button[type=submit]"),
			waitText("#ext-status", "Extension 101 saved"),
		)
		_, ext := getJSON(t, p, "/api/v1/extensions/101")
		if vm, _ := ext["voicemail"].(map[string]any); vm["email"] != true {
			t.Errorf("voicemail after saving: %v", ext["voicemail"])
		}
	})

	run(t, "a new message is mailed", func(t *testing.T) {
		st := p.App.Store
		f, err := st.CreateVoicemailFile("101")
		if err != nil {
			t.Fatal(err)
		}
		w, err := media.NewWAVWriter(f)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteAudio(make([]int16, 8000))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		m := store.VoicemailMessage{Mailbox: "101", Caller: "102", Duration: w.Duration()}
		if err := st.CommitVoicemail(context.Background(), f, &m); err != nil {
			t.Fatal(err)
		}
		select {
		case to := <-rcpts:
			if to != "anna@example.com" {
				t.Errorf("recipient %q", to)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the new message was not mailed within 10 s")
		}
		if code, body := p.Do(http.MethodGet, "/metrics", nil); code != http.StatusOK || !strings.Contains(string(body), "pbx_voicemail_email_sent_total") {
			t.Errorf("/metrics %d without the mailer's counters", code)
		}
	})
}
