package pbx

import (
	"context"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// newRequestTo builds a request for a registered binding. The Request-URI
// is the Contact the phone registered; the packet goes to the address and
// transport the REGISTER came from (RFC 3581 style), because a phone
// behind NAT is reachable there and not at the private address in its
// Contact. Over TCP/TLS this reuses the phone's own connection.
func (e *Engine) newRequestTo(method sip.RequestMethod, b store.Registration) (*sip.Request, error) {
	var uri sip.Uri
	if err := sip.ParseUri(b.Contact, &uri); err != nil {
		return nil, err
	}
	req := sip.NewRequest(method, uri)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "pbx", Host: e.cfg.ExternalIP}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("User-Agent", e.cfg.UserAgent))
	req.SetTransport(strings.ToUpper(b.Transport))
	req.SetDestination(b.Source)
	return req, nil
}

// PingResult is the outcome of an OPTIONS ping to one binding.
type PingResult struct {
	Contact string
	Source  string
	Status  int // the SIP status answered; 0 when none came
	RTT     time.Duration
	Err     error
}

// Ping sends OPTIONS to every live binding of ext through the address it
// registered from, and reports who answered: the way to tell whether a
// phone is still reachable.
func (e *Engine) Ping(ctx context.Context, ext string) []PingResult {
	binds := e.loc.lookup(ext, time.Now())
	out := make([]PingResult, len(binds))
	for i, b := range binds {
		out[i] = PingResult{Contact: b.Contact, Source: b.Source}
		req, err := e.newRequestTo(sip.OPTIONS, b)
		if err != nil {
			out[i].Err = err
			continue
		}
		start := time.Now()
		res, err := e.client.Do(ctx, req)
		out[i].RTT = time.Since(start)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Status = res.StatusCode
	}
	return out
}
