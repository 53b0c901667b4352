package pbx_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
)

var nonceParam = regexp.MustCompile(`nonce="[^"]*"`)

// responseShape is what a phone can tell from a response: its status,
// reason, which headers it has, and the challenge and Server values with
// the nonce (random) left out.
func responseShape(res *sip.Response) string {
	var names []string
	for _, h := range res.Headers() {
		name := h.Name()
		switch strings.ToLower(name) {
		case "www-authenticate", "proxy-authenticate", "server":
			name += ": " + nonceParam.ReplaceAllString(h.Value(), `nonce="N"`)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Sprintf("%d %s | %s | body %d", res.StatusCode, res.Reason, strings.Join(names, "; "), len(res.Body()))
}

// An unknown extension gets exactly the answers a known extension with a
// wrong password gets, whatever the credentials look like: no user
// enumeration through the registrar (or through the 407s of INVITE, which
// take the same path).
func TestRegisterUnknownExtensionLooksLikeWrongPassword(t *testing.T) {
	type probe struct {
		name string
		// send returns the final response to one attempt for extension
		// number from a UA that knows secret.
		send func(t *testing.T, p *pbxtest.PBX, number, secret string) *sip.Response
		want int
	}
	noCredentials := func(t *testing.T, p *pbxtest.PBX, number, secret string) *sip.Response {
		ua := p.NewUA(number, secret)
		res, err := ua.Send(ctx(t), ua.RegisterRequest(120, "<"+ua.Contact()+">"))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// authed answers a challenge with credentials, then lets edit change
	// the Authorization value before it is sent.
	authed := func(edit func(auth string) string) func(*testing.T, *pbxtest.PBX, string, string) *sip.Response {
		return func(t *testing.T, p *pbxtest.PBX, number, secret string) *sip.Response {
			ua := p.NewUA(number, secret)
			challenge, err := ua.Send(ctx(t), ua.RegisterRequest(120, "<"+ua.Contact()+">"))
			mustCode(t, challenge, err, sip.StatusUnauthorized)
			req := ua.RegisterRequest(120, "<"+ua.Contact()+">")
			if err := ua.Authorize(req, challenge); err != nil {
				t.Fatal(err)
			}
			auth := edit(req.GetHeader("Authorization").Value())
			req.RemoveHeader("Authorization")
			req.AppendHeader(sip.NewHeader("Authorization", auth))
			res, err := ua.Send(ctx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
	}
	same := func(s string) string { return s }
	foreignNonce := func(s string) string {
		return nonceParam.ReplaceAllString(s, `nonce="`+strings.Repeat("A", 43)+`"`)
	}
	otherUser := func(s string) string { return strings.Replace(s, `username="`, `username="5`, 1) }

	for _, tc := range []struct {
		name   string
		opts   []pbxtest.Option
		probes []probe
	}{
		{name: "fresh nonces", probes: []probe{
			{"no credentials", noCredentials, sip.StatusUnauthorized},
			{"wrong password", authed(same), sip.StatusForbidden},
			{"nonce not ours", authed(foreignNonce), sip.StatusUnauthorized},
			{"username not the extension", authed(otherUser), sip.StatusForbidden},
		}},
		{
			// Every nonce is stale by the time it comes back.
			name: "stale nonces",
			opts: []pbxtest.Option{pbxtest.WithConfig(func(c *app.Config) {
				c.TuneSIP = func(s *pbx.Config) { s.NonceTTL = time.Nanosecond }
			})},
			probes: []probe{
				{"no credentials", noCredentials, sip.StatusUnauthorized},
				{"stale nonce", authed(same), sip.StatusUnauthorized},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pbxtest.Start(t, tc.opts...)
			ext := p.CreateExtension("101", nil)
			for _, pr := range tc.probes {
				known := pr.send(t, p, "101", "not-the-secret")
				unknown := pr.send(t, p, "999", "not-the-secret")
				if known.StatusCode != pr.want {
					t.Errorf("%s: known extension got %d, want %d", pr.name, known.StatusCode, pr.want)
				}
				if k, u := responseShape(known), responseShape(unknown); k != u {
					t.Errorf("%s: an unknown extension can be told apart:\nknown:   %s\nunknown: %s", pr.name, k, u)
				}
			}
			if tc.name == "stale nonces" {
				// The right password with a stale nonce: challenged again
				// with stale=true, as the unknown extension was.
				res := authed(same)(t, p, "101", ext.Secret)
				mustCode(t, res, nil, sip.StatusUnauthorized)
				if !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
					t.Errorf("stale nonce challenged without stale=true: %s", res.GetHeader("WWW-Authenticate").Value())
				}
			}
		})
	}
}
