package pbx

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// onRegister is the registrar (RFC 3261 section 10.3): it authenticates the
// extension named in To, then adds, refreshes, removes or lists its bindings.
//
// It answers statelessly, as Kamailio's registrar does (sl_send_reply): the
// transaction ends with its response instead of living on for Timer J
// (32 s over UDP) to absorb retransmissions. At thousands of registrations
// a second those retained transactions (request, response, timer each)
// were most of the live heap the GC had to mark. A retransmitted REGISTER
// is then simply handled again: without credentials it gets a fresh 401;
// with credentials already used it is a replay and gets a fresh 401 too,
// and the phone answers that challenge; the binding update is idempotent.
func (e *Engine) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	defer tx.Terminate()
	to := req.To()
	if to == nil || !dialplan.IsNumber(to.Address.User) {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (To must name an extension)", nil)
		return
	}
	number := to.Address.User
	now := time.Now()
	if _, ok := e.authenticateExtension(req, tx, "Authorization", number, now); !ok {
		return
	}

	// Validate everything before changing anything.
	defaultExp := e.cfg.DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		var ok bool
		if defaultExp, ok = parseExpires(h.Value()); !ok {
			e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Expires)", nil)
			return
		}
	}
	var updates []bindingUpdate
	removeAll := false
	contacts := req.GetHeaders("Contact")
	for _, h := range contacts {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Contact)", nil)
			return
		}
		if c.Address.Wildcard {
			// "*" removes all bindings, and only with Expires: 0 and alone.
			if len(contacts) != 1 || defaultExp != 0 {
				e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Contact * needs Expires: 0 and no other Contact)", nil)
				return
			}
			removeAll = true
			continue
		}
		if c.Address.Host == "" {
			e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Contact)", nil)
			return
		}
		exp := defaultExp
		if v, ok := c.Params.Get("expires"); ok {
			if exp, ok = parseExpires(v); !ok {
				e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Contact expires)", nil)
				return
			}
		}
		exp, ok = e.bindingExpiry(exp)
		if !ok {
			e.respond(tx, req, sip.StatusIntervalToBrief, "Interval Too Brief",
				[]sip.Header{sip.NewHeader("Min-Expires", strconv.Itoa(int(e.cfg.MinExpires/time.Second)))})
			return
		}
		updates = append(updates, bindingUpdate{contact: c.Address.String(), expires: exp})
	}

	var bindings, fresh []store.Registration
	if len(updates) == 0 && !removeAll {
		bindings = e.loc.lookup(number, now) // a query: list, change nothing
	} else {
		meta := store.Registration{Source: req.Source(), Transport: strings.ToLower(req.Transport())}
		if h := req.GetHeader("User-Agent"); h != nil {
			meta.UserAgent = truncate(h.Value(), 200)
		}
		if h := req.CallID(); h != nil {
			meta.CallID = h.Value()
		}
		if h := req.CSeq(); h != nil {
			meta.CSeq = h.SeqNo
		}
		bindings, fresh = e.loc.apply(number, removeAll, updates, meta, now)
	}
	e.metrics.registers.Add(1)

	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Server", e.cfg.UserAgent))
	for _, b := range bindings {
		res.AppendHeader(sip.NewHeader("Contact", string(appendBindingContact(nil, b, now))))
	}
	res.AppendHeader(sip.NewHeader("Date", string(appendDate(nil, now))))
	if err := tx.Respond(res); err != nil {
		e.log.Debug("respond failed", "error", err)
	}
	if len(fresh) > 0 {
		// After the 200: a phone that (re)booted learns its box's counts
		// once it is registered (unsolicited MWI).
		e.subs.registered(fresh)
	}
}

// authenticateExtension looks up the extension a request claims to come
// from and checks its digest credentials in header ("Authorization" for
// REGISTER, "Proxy-Authorization" otherwise). When the request may not go
// on it has answered it (401/407, 403, or 500 if the lookup failed) and
// reports false.
func (e *Engine) authenticateExtension(req *sip.Request, tx sip.ServerTransaction, header, number string, now time.Time) (store.Extension, bool) {
	ext, err := e.exts.get(e.ctx, number)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log.Error("extension lookup failed", "extension", number, "error", err)
		e.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error", nil)
		return ext, false
	}
	return ext, e.authenticate(req, tx, header, number, ext, known, now)
}

// requireExtension answers 404 (or 500 if the lookup failed) and reports
// false unless number is an extension: the target of a MESSAGE or a
// SUBSCRIBE.
func (e *Engine) requireExtension(req *sip.Request, tx sip.ServerTransaction, number string) bool {
	if !dialplan.IsNumber(number) {
		e.respond(tx, req, sip.StatusNotFound, "Not Found", nil)
		return false
	}
	_, err := e.exts.get(e.ctx, number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.respond(tx, req, sip.StatusNotFound, "Not Found", nil)
		return false
	case err != nil:
		e.log.Error("extension lookup failed", "extension", number, "error", err)
		e.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error", nil)
		return false
	}
	return true
}

// authenticate checks the digest credentials in header (Authorization or
// Proxy-Authorization) for extension number. On failure it has answered the
// request (401/407 challenge or 403) and returns false.
func (e *Engine) authenticate(req *sip.Request, tx sip.ServerTransaction, header, number string, ext store.Extension, known bool, now time.Time) bool {
	var cred string
	if h := req.GetHeader(header); h != nil {
		cred = h.Value()
	}
	c := e.checkCredentials(cred, string(req.Method), number, ext.Secret, ext.AuthAlgorithms, known, now)
	switch {
	case c.err == nil:
		return true
	case c.challenge:
		e.challenge(req, tx, header, c.algs, c.stale, now)
		return false
	}
	username, err := c.username, c.err
	e.metrics.authFailures.Add(1)
	src := req.Source()
	blocked := e.block.fail(sourceIP(req), now)
	reason := err.Error()
	if !known {
		reason = "unknown extension" // for the log only: the phone sees what a wrong password gets
	}
	e.log.Warn("SIP authentication failed", "method", string(req.Method), "extension", number,
		"username", truncate(username, 64), "source", src, "transport", req.Transport(), "reason", reason,
		"source_blocked", blocked)
	e.respond(tx, req, sip.StatusForbidden, "Forbidden", nil)
	return false
}

// appendBindingContact appends the Contact value a 200 to REGISTER lists
// binding b with: its URI and the seconds it has left.
func appendBindingContact(dst []byte, b store.Registration, now time.Time) []byte {
	dst = append(dst, '<')
	dst = append(dst, b.Contact...)
	dst = append(dst, ">;expires="...)
	return strconv.AppendInt(dst, int64(b.ExpiresAt.Sub(now).Round(time.Second)/time.Second), 10)
}

// cachedDate is a second's Date header value.
type cachedDate struct {
	unix int64
	text []byte
}

var lastDate atomic.Pointer[cachedDate]

// appendDate appends now as a 200 to REGISTER's Date value (RFC 1123,
// UTC), formatting it once a second.
func appendDate(b []byte, now time.Time) []byte {
	sec := now.Unix()
	c := lastDate.Load()
	if c == nil || c.unix != sec {
		c = &cachedDate{unix: sec, text: now.UTC().AppendFormat(nil, time.RFC1123)}
		lastDate.Store(c)
	}
	return append(b, c.text...)
}

// parseExpires reads the seconds of an Expires header or of a Contact's
// expires parameter.
func parseExpires(v string) (time.Duration, bool) {
	secs, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	return time.Duration(secs) * time.Second, err == nil
}

// bindingExpiry bounds a contact's asked expiry: ok is false below
// MinExpires (423 Interval Too Brief; 0, a removal, is fine), and it is
// capped at MaxExpires.
func (e *Engine) bindingExpiry(exp time.Duration) (time.Duration, bool) {
	if exp > 0 && exp < e.cfg.MinExpires {
		return exp, false
	}
	return min(exp, e.cfg.MaxExpires), true
}

// credentialCheck is what checkCredentials found: err nil to go on; else
// a challenge (stale or not, for algs), or neither: refuse with 403.
type credentialCheck struct {
	username         string // as the credentials gave it, for the log
	err              error
	algs             []string
	challenge, stale bool
}

// checkCredentials checks the digest credentials cred (an Authorization
// or Proxy-Authorization value, "" for none) of a request for extension
// number, stored with secret and algs (known: the extension exists), and
// decides its answer. authenticate and the REGISTER fast path both ask
// it, so a request gets the same answer on either.
func (e *Engine) checkCredentials(cred, method, number, secret string, algs []string, known bool, now time.Time) credentialCheck {
	if !known || len(algs) == 0 {
		algs = []string{AlgMD5} // unknown users are challenged like known ones
	}
	// An unknown extension goes through the same checks with a secret
	// nobody knows, so every answer (401 for a stale or foreign nonce, 403
	// for a wrong response) and the work behind it are those a known
	// extension with a wrong password gets: no user enumeration.
	if !known {
		secret = e.auth.decoy
	}
	username, err := e.auth.verify(credentials{header: cred, method: method}, number, secret, algs, now)
	if !known && err == nil {
		err = errWrongPassword // cannot happen short of guessing 256 random bits
	}
	c := credentialCheck{username: username, err: err, algs: algs}
	switch {
	case err == nil:
	case errors.Is(err, errNoCredentials), errors.Is(err, errBadNonce), errors.Is(err, errWrongAlgorithm):
		// Not a password guess: a first request or a nonce from before a
		// restart. A fresh challenge sorts it out.
		c.challenge = true
	case errors.Is(err, errStaleNonce), errors.Is(err, errReplay):
		// A replay had the right response (verify checks counts last): a
		// retransmission whose answer was lost, as the registrar keeps no
		// transaction. stale=true has the phone retry with the new nonce
		// instead of taking the 401 for a wrong password.
		c.challenge, c.stale = true, true
	}
	return c
}

// challenge answers 401 (or 407 for Proxy-Authorization) with one digest
// challenge per allowed algorithm.
func (e *Engine) challenge(req *sip.Request, tx sip.ServerTransaction, header string, algs []string, stale bool, now time.Time) {
	code, reason, name := sip.StatusUnauthorized, "Unauthorized", "WWW-Authenticate"
	if header == "Proxy-Authorization" {
		code, reason, name = sip.StatusProxyAuthRequired, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	chals := e.auth.challenges(algs, stale, now)
	hdrs := make([]sip.Header, len(chals))
	for i, c := range chals {
		hdrs[i] = sip.NewHeader(name, c)
	}
	e.respond(tx, req, code, reason, hdrs)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
