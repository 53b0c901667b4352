package pbx_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

type registration struct {
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source"`
	UserAgent string    `json:"user_agent"`
	ExpiresAt time.Time `json:"expires_at"`
}

func registrations(t *testing.T, p *pbxtest.PBX) []registration {
	t.Helper()
	code, body := p.Do(http.MethodGet, "/api/v1/registrations", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /registrations: %d %s", code, body)
	}
	var out struct {
		Items []registration `json:"items"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("registrations: %v in %s", err, body)
	}
	return out.Items
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustCode(t *testing.T, res *sip.Response, err error, want int) *sip.Response {
	t.Helper()
	if err != nil {
		t.Fatalf("request failed: %v", err)
	}
	if res.StatusCode != want {
		t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, want)
	}
	return res
}

func challengeAlgorithms(res *sip.Response) []string {
	var algs []string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		for _, part := range strings.Split(h.Value(), ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "algorithm" {
				algs = append(algs, v)
			}
		}
	}
	return algs
}

func TestRegisterDigestAlgorithms(t *testing.T) {
	p := pbxtest.Start(t)
	tests := []struct {
		name       string
		extAlgs    []string // nil: the default
		challenged []string
		uaAlgs     []string
		want       int
	}{
		{"default is MD5 only", nil, []string{"MD5"}, []string{"MD5"}, 200},
		{"SHA-256 only", []string{"SHA-256"}, []string{"SHA-256"}, []string{"SHA-256"}, 200},
		{"both offered, phone takes SHA-256", []string{"SHA-256", "MD5"}, []string{"SHA-256", "MD5"}, []string{"SHA-256", "MD5"}, 200},
		{"both offered, MD5-only phone", []string{"SHA-256", "MD5"}, []string{"SHA-256", "MD5"}, []string{"MD5"}, 200},
		{"order normalised to SHA-256 first", []string{"MD5", "SHA-256"}, []string{"SHA-256", "MD5"}, []string{"MD5"}, 200},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			num := "20" + string(rune('0'+i))
			fields := map[string]any{}
			if tc.extAlgs != nil {
				fields["auth_algorithms"] = tc.extAlgs
			}
			ext := p.CreateExtension(num, fields)
			ua := p.NewUA(num, ext.Secret, pbxtest.WithAlgorithms(tc.uaAlgs...))

			// The bare challenge offers exactly the extension's algorithms.
			challenge, err := ua.Send(ctx(t), ua.RegisterRequest(120, "<"+ua.Contact()+">"))
			mustCode(t, challenge, err, 401)
			if got := challengeAlgorithms(challenge); strings.Join(got, ",") != strings.Join(tc.challenged, ",") {
				t.Fatalf("challenged with %v, want %v", got, tc.challenged)
			}
			res, err := ua.Register(ctx(t), 120)
			res = mustCode(t, res, err, tc.want)
			if c := res.GetHeader("Contact"); c == nil || !strings.Contains(c.Value(), ua.Contact()) {
				t.Fatalf("200 does not list the binding: %v", res)
			}
		})
	}
}

func TestRegisterWrongPasswordLeavesNoBinding(t *testing.T) {
	p := pbxtest.Start(t)
	p.CreateExtension("101", nil)
	for _, algs := range [][]string{{"MD5"}} {
		ua := p.NewUA("101", "not-the-secret", pbxtest.WithAlgorithms(algs...))
		res, err := ua.Register(ctx(t), 120)
		mustCode(t, res, err, 403)
	}
	// Unknown extensions are challenged like known ones, then refused.
	ua := p.NewUA("999", "whatever-secret")
	res, err := ua.Register(ctx(t), 120)
	mustCode(t, res, err, 403)
	if regs := registrations(t, p); len(regs) != 0 {
		t.Fatalf("a failed registration left bindings: %+v", regs)
	}
	if !strings.Contains(p.Logs.String(), "SIP authentication failed") || strings.Contains(p.Logs.String(), "not-the-secret") {
		t.Fatalf("auth failure must be logged without the secret:\n%s", p.Logs)
	}
	code, metrics := p.Do(http.MethodGet, "/metrics", nil)
	if code != 200 || !strings.Contains(string(metrics), "pbx_sip_auth_failures_total 2") {
		t.Fatalf("metrics do not count the failures: %d\n%s", code, metrics)
	}
}

func TestRegisterBindingsLifecycle(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("101", nil)
	desk := p.NewUA("101", ext.Secret)
	soft := p.NewUA("101", ext.Secret, pbxtest.WithTransport("tcp"))

	expect(t, 200)(desk.Register(ctx(t), 300))
	res := expect(t, 200)(soft.Register(ctx(t), 300))
	if n := len(res.GetHeaders("Contact")); n != 2 {
		t.Fatalf("200 lists %d contacts, want both phones: %v", n, res)
	}
	regs := registrations(t, p)
	if len(regs) != 2 {
		t.Fatalf("want 2 registrations, got %+v", regs)
	}
	sources := regs[0].Source + " " + regs[1].Source
	if !strings.Contains(sources, "/udp") || !strings.Contains(sources, "/tcp") || regs[0].UserAgent != "pbxtest-ua" {
		t.Fatalf("source/transport/user agent not recorded: %+v", regs)
	}

	// Too short: 423 with Min-Expires; too long: capped.
	res = expect(t, 423)(desk.Register(ctx(t), 30))
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
		t.Fatalf("423 without Min-Expires: 60: %v", res)
	}
	res = expect(t, 200)(desk.Register(ctx(t), 86400))
	for _, c := range res.GetHeaders("Contact") {
		if strings.Contains(c.Value(), desk.Contact()) && !strings.Contains(c.Value(), "expires=3600") {
			t.Fatalf("expiry not capped at 3600: %s", c.Value())
		}
	}

	// A query (no Contact) lists without changing.
	res = expect(t, 200)(desk.RegisterContacts(ctx(t), -1))
	if n := len(res.GetHeaders("Contact")); n != 2 {
		t.Fatalf("query lists %d contacts, want 2", n)
	}

	// Expires: 0 removes one contact; Contact: * removes all.
	expect(t, 200)(desk.Register(ctx(t), 0))
	if regs := registrations(t, p); len(regs) != 1 || !strings.Contains(regs[0].Source, "/tcp") {
		t.Fatalf("after unregistering the desk phone: %+v", regs)
	}
	expect(t, 200)(desk.Register(ctx(t), 300))
	expect(t, 200)(desk.Unregister(ctx(t)))
	if regs := registrations(t, p); len(regs) != 0 {
		t.Fatalf("Contact: * left %+v", regs)
	}
	// "*" with a non-zero Expires is refused.
	expect(t, 400)(desk.RegisterContacts(ctx(t), 60, "*"))
}

// expect returns a checker for a (response, error) pair: expect(t, 200)(ua.Register(...)).
func expect(t *testing.T, want int) func(*sip.Response, error) *sip.Response {
	return func(res *sip.Response, err error) *sip.Response {
		t.Helper()
		return mustCode(t, res, err, want)
	}
}

// waitFor polls cond until it holds or the deadline passes: it waits for an
// event, it does not time one.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	pbxtest.WaitFor(t, what, cond)
}

func TestRegistrationsSurviveRestartAndExpire(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) {
		c.TuneSIP = func(sc *pbx.Config) { sc.MinExpires = time.Second }
	}))
	a := p.CreateExtension("101", nil)
	b := p.CreateExtension("102", nil)
	long := p.NewUA("101", a.Secret)
	short := p.NewUA("102", b.Secret)
	expect(t, 200)(long.Register(ctx(t), 600))
	expect(t, 200)(short.Register(ctx(t), 3))

	// A new binding is in the database shortly (write-behind), while running.
	db, err := store.Open(context.Background(), filepath.Join(p.Config.DataDir, app.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor(t, "bindings written to SQLite", func() bool {
		regs, err := db.LoadRegistrations(context.Background(), time.Now())
		return err == nil && len(regs) == 2
	})

	p.Restart()
	regs := registrations(t, p)
	if len(regs) == 0 || regs[0].Extension != "101" || regs[0].Contact != long.Contact() {
		t.Fatalf("after restart: %+v", regs)
	}
	// The short one expires on its own, in memory and in the database.
	waitFor(t, "the 3 s registration to expire", func() bool { return len(registrations(t, p)) == 1 })
	if time.Until(regs[0].ExpiresAt) < 9*time.Minute {
		t.Fatalf("restart changed the expiry: %v", regs[0].ExpiresAt)
	}
	p.Restart()
	if regs := registrations(t, p); len(regs) != 1 || regs[0].Extension != "101" {
		t.Fatalf("after second restart: %+v", regs)
	}
	// The restarted PBX still authenticates (its nonce key is new).
	expect(t, 200)(long.Register(ctx(t), 600))
}

func TestRegisterBehindNAT(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("101", nil)
	ua := p.NewUA("101", ext.Secret)
	// The phone believes it is 10.0.0.5; the PBX sees its real source.
	res := expect(t, 200)(ua.RegisterContacts(ctx(t), 300, "<sip:101@10.0.0.5:5060>"))
	via := res.Via()
	if via == nil {
		t.Fatal("no Via in response")
	}
	rport, _ := via.Params.Get("rport")
	if got, _ := via.Params.Get("received"); got != "127.0.0.1" || rport == "" {
		t.Fatalf("Via received/rport = %q/%q, want 127.0.0.1 and the source port (%s)", got, rport, via)
	}
	binds := p.App.Engine.Lookup("101")
	if len(binds) != 1 || binds[0].Contact != "sip:101@10.0.0.5:5060" || !strings.HasPrefix(binds[0].Source, "127.0.0.1:") {
		t.Fatalf("binding must keep the contact and the real source: %+v", binds)
	}
}

func TestOptionsAnswered(t *testing.T) {
	p := pbxtest.Start(t)
	ua := p.NewUA("101", "x")
	res := expect(t, 200)(ua.Options(ctx(t)))
	if h := res.GetHeader("Allow"); h == nil || !strings.Contains(h.Value(), "REGISTER") {
		t.Fatalf("OPTIONS 200 without Allow: %v", res)
	}
}

func TestRepeatedAuthFailuresBlockTheSource(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) { c.AuthFailLimit = 3 }))
	setSIPSecurity(t, p, func(c *store.SIPSecurity) { c.Allow = nil }) // loopback is trusted by default
	ext := p.CreateExtension("101", nil)
	bad := p.NewUA("101", "guess-guess")
	for i := 0; i < 3; i++ {
		expect(t, 403)(bad.Register(ctx(t), 120))
	}
	// Now even the right password from that address gets no answer at all
	// (guard_e2e_test.go checks the silence packet by packet).
	good := p.NewUA("101", ext.Secret)
	short, cancel := context.WithTimeout(ctx(t), 2*time.Second)
	defer cancel()
	if res, err := good.Register(short, 120); err == nil {
		t.Fatalf("a blocked source was answered: %d %s", res.StatusCode, res.Reason)
	}
	if waitMetric(t, p, `pbx_sip_dropped_total{reason="blocked"}`, 1) < 1 || len(registrations(t, p)) != 0 {
		t.Fatal("a blocked source registered")
	}
}

func TestGracefulShutdownWritesPendingRegistrations(t *testing.T) {
	// With write-behind slowed to an hour, only the shutdown flush can
	// have put the binding in the database.
	p := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) { c.RegistrationFlush = time.Hour }))
	ext := p.CreateExtension("101", nil)
	ua := p.NewUA("101", ext.Secret)
	expect(t, 200)(ua.Register(ctx(t), 600))
	p.Restart()
	if regs := registrations(t, p); len(regs) != 1 || regs[0].Contact != ua.Contact() {
		t.Fatalf("after graceful restart: %+v", regs)
	}
}

func TestReplayedCredentialsAreChallengedAgain(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("101", nil)
	ua := p.NewUA("101", ext.Secret)
	challenge := expect(t, 401)(ua.Send(ctx(t), ua.RegisterRequest(600, "<"+ua.Contact()+">")))
	first := ua.RegisterRequest(600, "<"+ua.Contact()+">")
	if err := ua.Authorize(first, challenge); err != nil {
		t.Fatal(err)
	}
	auth := first.GetHeader("Authorization").Value()
	expect(t, 200)(ua.Send(ctx(t), first))

	// The same credentials (same nonce, same nc) in a new request: a replay.
	again := ua.RegisterRequest(600, "<"+ua.Contact()+">")
	again.AppendHeader(sip.NewHeader("Authorization", auth))
	res := expect(t, 401)(ua.Send(ctx(t), again))
	if len(res.GetHeaders("WWW-Authenticate")) == 0 {
		t.Fatal("replay answered without a fresh challenge")
	}
}

func TestRegisterOverTLS(t *testing.T) {
	p := pbxtest.Start(t, pbxtest.WithTLS())
	ext := p.CreateExtension("101", nil)
	ua := p.NewUA("101", ext.Secret, pbxtest.WithTransport("tls"))
	expect(t, 200)(ua.Register(ctx(t), 300))
	regs := registrations(t, p)
	if len(regs) != 1 || !strings.HasSuffix(regs[0].Source, "/tls") {
		t.Fatalf("TLS registration: %+v", regs)
	}
	// The self-signed certificate was made once and is reused after a restart.
	cert := filepath.Join(p.Config.DataDir, "tls", "cert.pem")
	before, err := os.ReadFile(cert)
	if err != nil {
		t.Fatalf("no certificate in the data directory: %v", err)
	}
	p.Restart()
	after, _ := os.ReadFile(cert)
	if string(before) != string(after) {
		t.Fatal("restart replaced the certificate")
	}
	expect(t, 200)(ua.Register(ctx(t), 300))
}

// TestPhoneBehindNATIsReachedAtItsSource: the phone registers a Contact it
// cannot be reached at (as a phone behind NAT registers its private
// address; a loopback address with nothing listening stands in for it, so
// a regression sends nothing off this machine); the PBX reaches it through
// the address and transport its REGISTER came from.
func TestPhoneBehindNATIsReachedAtItsSource(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("101", nil)
	for _, tp := range []string{"udp", "tcp"} {
		t.Run(tp, func(t *testing.T) {
			ua := p.NewUA("101", ext.Secret, pbxtest.WithTransport(tp))
			expect(t, 200)(ua.RegisterContacts(ctx(t), 300, "<sip:101@127.0.0.2:9;transport="+tp+">"))
			results := p.App.Engine.Ping(ctx(t), "101")
			var got *pbx.PingResult
			for i := range results {
				if strings.Contains(results[i].Contact, "transport="+tp) {
					got = &results[i]
				}
			}
			if got == nil || got.Err != nil || got.Status != 200 {
				t.Fatalf("ping through the registered source: %+v", results)
			}
			if ua.Received(sip.OPTIONS) != 1 {
				t.Fatalf("the phone got %d OPTIONS, want 1", ua.Received(sip.OPTIONS))
			}
		})
	}
}

func TestWatchRegistrationsSignalsChanges(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("101", nil)
	changed, stop := p.App.Engine.WatchRegistrations()
	defer stop()
	ua := p.NewUA("101", ext.Secret)
	expect(t, 200)(ua.Register(ctx(t), 300))
	select {
	case <-changed:
	case <-ctx(t).Done():
		t.Fatal("no signal after a registration")
	}
	if len(p.App.Engine.Registrations()) != 1 {
		t.Fatal("signal before the binding was visible")
	}
	expect(t, 200)(ua.Unregister(ctx(t)))
	select {
	case <-changed:
	case <-ctx(t).Done():
		t.Fatal("no signal after unregistering")
	}
}

// The registrar answers statelessly: a retransmission of an authenticated
// REGISTER that was already answered (its 200 lost on the way) is handled
// again. Its credentials are spent, so it gets a fresh challenge with
// stale=true (phones then retry at once rather than report a wrong
// password), not a 403, and the binding the first one made stays.
func TestRegisterRetransmissionIsChallengedAgain(t *testing.T) {
	p := pbxtest.Start(t)
	ext := p.CreateExtension("101", nil)
	ua := p.NewUA("101", ext.Secret)
	challenge := expect(t, 401)(ua.Send(ctx(t), ua.RegisterRequest(600, "<"+ua.Contact()+">")))
	req := ua.RegisterRequest(600, "<"+ua.Contact()+">")
	if err := ua.Authorize(req, challenge); err != nil {
		t.Fatal(err)
	}
	expect(t, 200)(ua.Send(ctx(t), req))
	branch, _ := req.Via().Params.Get("branch")
	// The registrar ends its transaction just after it responds, so a
	// retransmission sent the instant the 200 arrives may still meet it
	// and get the 200 again; one sent after that is handled anew. (A
	// registrar keeping its transactions would answer 200 for 32 s.)
	var again *sip.Response
	for again == nil {
		res, err := ua.Send(ctx(t), req) // same Via branch, CSeq and credentials
		if err != nil {
			t.Fatal(err)
		}
		switch res.StatusCode {
		case sip.StatusOK: // absorbed by the ending transaction: send it again
		case sip.StatusUnauthorized:
			again = res
		default:
			t.Fatalf("retransmission answered %d %s", res.StatusCode, res.Reason)
		}
	}
	if b, _ := req.Via().Params.Get("branch"); b != branch {
		t.Fatalf("not a retransmission: branch %q, then %q", branch, b)
	}
	if h := again.GetHeader("WWW-Authenticate"); h == nil || !strings.Contains(h.Value(), "stale=true") {
		t.Fatalf("retransmission not answered with a stale=true challenge: %v", h)
	}
	if regs := registrations(t, p); len(regs) != 1 || regs[0].Contact != ua.Contact() {
		t.Fatalf("bindings after the retransmission: %+v", regs)
	}
}
