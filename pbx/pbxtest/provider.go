package pbxtest

import (
	"net"
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// providerRealm and providerNonce are the challenge a UA acting as a
// provider (Policy.Challenge) sends.
const (
	providerRealm = "provider.test"
	providerNonce = "trunk-nonce-1"
)

// Addr is the UA's SIP address (ip:port): where it listens and sends
// from. A test provider's trunk names it as host and port.
func (u *UA) Addr() string { return u.laddr }

// Port is the UA's SIP port.
func (u *UA) Port() int {
	_, p, _ := net.SplitHostPort(u.laddr)
	n, _ := strconv.Atoi(p)
	return n
}

// checkChallenge answers an INVITE without valid credentials (the UA's
// User and Secret) with the challenge code (401 or 407), or 403 when they
// are wrong; it reports whether the INVITE may go on.
func (u *UA) checkChallenge(req *sip.Request, tx sip.ServerTransaction, code int) bool {
	name, hdr := "WWW-Authenticate", "Authorization"
	if code == sip.StatusProxyAuthRequired {
		name, hdr = "Proxy-Authenticate", "Proxy-Authorization"
	}
	h := req.GetHeader(hdr)
	if h == nil {
		res := sip.NewResponseFromRequest(req, code, "Authentication Required", nil)
		res.AppendHeader(sip.NewHeader(name, `Digest realm="`+providerRealm+`", nonce="`+providerNonce+`", algorithm=MD5, qop="auth"`))
		tx.Respond(res)
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	ok := err == nil && cred.Username == u.User && cred.Realm == providerRealm && cred.Nonce == providerNonce
	if ok {
		chal := &digest.Challenge{Realm: providerRealm, Nonce: providerNonce, Algorithm: "MD5", QOP: []string{"auth"}}
		want, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: cred.URI, Username: u.User,
			Password: u.Secret, Cnonce: cred.Cnonce, Count: cred.Nc})
		ok = err == nil && want.Response == cred.Response
	}
	if !ok {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return false
	}
	return true
}
