package trunk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// registration is the REGISTER loop of one trunk: it registers, refreshes
// before expiry, backs off after failures, and unregisters when stopped.
type registration struct {
	m      *Manager
	t      store.Trunk
	callID string
	cseq   uint32
	log    *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
}

func (m *Manager) newRegistration(t store.Trunk) *registration {
	return &registration{m: m, t: t, callID: sip.GenerateTagN(24) + "@pbx", log: m.log.With("trunk", t.Name),
		done: make(chan struct{})}
}

// run registers until ctx ends, then unregisters if it was registered.
func (r *registration) run(ctx context.Context) {
	defer close(r.done)
	registered := false
	failures := 0
	for {
		granted, err := r.register(ctx, time.Duration(r.t.ExpiresSeconds)*time.Second)
		if ctx.Err() != nil {
			break
		}
		now := time.Now()
		var wait time.Duration
		if err == nil {
			registered, failures = true, 0
			wait = refreshAfter(granted)
			r.m.setStatus(r, func(s *Status) {
				s.State, s.LastError, s.Failures = StateRegistered, "", 0
				s.RegisteredAt, s.ExpiresAt, s.NextRetry = now, now.Add(granted), now.Add(wait)
				s.Registrations++
			})
			r.log.Debug("trunk registered", "expires", granted)
		} else {
			registered = false
			failures++
			wait = r.m.cfg.Backoff.Wait(failures)
			r.m.setStatus(r, func(s *Status) {
				s.State, s.LastError, s.Failures = StateFailed, err.Error(), failures
				s.ExpiresAt, s.NextRetry = time.Time{}, now.Add(wait)
			})
			r.log.Warn("trunk registration failed", "error", err, "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	if registered {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.m.cfg.UnregisterTimeout)
		if _, err := r.register(uctx, 0); err != nil {
			r.log.Debug("trunk unregister failed", "error", err)
		}
		cancel()
	}
}

// errRefused wraps a provider's final refusal of a REGISTER.
var errRefused = errors.New("refused")

// errNoResponse: sipgo ended a transaction with neither a response nor
// an error (its transaction was terminated, as when the stack closes).
var errNoResponse = errors.New("transaction ended without a response")

// register sends one REGISTER asking for expires (0 unregisters) and
// answers one digest challenge (401 or 407) with the trunk's credentials.
// It returns the expiry the provider granted.
func (r *registration) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, r.m.cfg.Timeout)
	defer cancel()
	req := r.request(expires)
	client := r.m.cfg.Client
	res, err := client.Do(ctx, req)
	if err == nil && res == nil {
		err = errNoResponse // the transaction ended without error and without answer (stack closing)
	}
	if err != nil {
		return 0, noAnswer(err)
	}
	if (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && r.t.Username != "" {
		res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: r.t.Username, Password: r.t.Secret})
		r.cseq = req.CSeq().SeqNo
		if err == nil && res == nil {
			err = errNoResponse
		}
		if err != nil {
			return 0, noAnswer(err)
		}
		if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
			return 0, fmt.Errorf("%w: %d %s (wrong username or secret?)", errRefused, res.StatusCode, res.Reason)
		}
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return 0, fmt.Errorf("%w: %d %s", errRefused, res.StatusCode, res.Reason)
	}
	return grantedExpiry(res, expires), nil
}

// noAnswer words a transaction that ended without a final response.
func noAnswer(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout) {
		return errors.New("no answer from the provider")
	}
	return fmt.Errorf("no answer from the provider: %w", err)
}

// request builds the next REGISTER of this registration: the same
// Call-ID and a higher CSeq each time (RFC 3261 10.2.4).
func (r *registration) request(expires time.Duration) *sip.Request {
	t := r.t
	tp := strings.ToLower(t.Transport)
	registrar := sip.Uri{Scheme: "sip", Host: t.Host, Port: t.Port}
	if tp != "udp" {
		registrar.UriParams = sip.NewParams()
		registrar.UriParams.Add("transport", tp)
	}
	req := sip.NewRequest(sip.REGISTER, registrar)
	aor := sip.Uri{Scheme: "sip", User: r.m.ContactUser(t), Host: t.Host}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	cid := sip.CallIDHeader(r.callID)
	req.AppendHeader(&cid)
	r.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	contact := r.m.cfg.Contact(tp)
	contact.User = r.m.ContactUser(t)
	req.AppendHeader(&sip.ContactHeader{Address: contact})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	req.AppendHeader(sip.NewHeader("User-Agent", r.m.cfg.UserAgent))
	req.SetTransport(strings.ToUpper(tp))
	return req
}

// grantedExpiry reads the expiry a 2xx to REGISTER granted: our
// Contact's expires parameter, else the Expires header, else what was
// asked.
func grantedExpiry(res *sip.Response, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		if ct, ok := h.(*sip.ContactHeader); ok && ct.Params != nil {
			if v, ok := ct.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

// stop ends the loop (unregistering) and waits for it.
func (r *registration) stop() {
	r.cancel()
	<-r.done
}
