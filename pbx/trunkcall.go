package pbx

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
	"github.com/officepbx/pbx/pbx/trunk"
)

// trunkRingTime is how long a call through a trunk rings when the dial
// plan gives no ring time: the far end has its own voicemail and timers.
const trunkRingTime = 120 * time.Second

// Refusals of a trunk destination (toll-fraud rules, docs/trunks.md).
var (
	// errOutboundClass: the caller's outbound class may not dial the
	// number through a trunk.
	errOutboundClass = errors.New("outbound class may not dial this number")
	// errTrunkLoop: a call that came in on a trunk may leave on a trunk
	// only through a dial written in its own inbound context.
	errTrunkLoop = errors.New("trunk to trunk not allowed")
	// errTooManyCalls: the caller is on as many calls as its limit allows.
	errTooManyCalls = errors.New("too many calls")
)

// dialTrunk calls number through the trunk the attempt names: checks the
// caller may (class, trunk-to-trunk), then sends one INVITE to the
// trunk's host, answering its digest challenge, and connects the caller
// as for a phone (early media and ringing reach it).
func (c *call) dialTrunk(a attempt, offer *mediaOffer) (failure, bool) {
	e := c.e
	d := a.dest
	t, ok := e.trunks.Trunk(d.Trunk)
	if !ok {
		st, err := e.cfg.Store.GetTrunk(e.ctx, d.Trunk)
		if err != nil {
			c.log.Info("no such trunk", "trunk", d.Trunk)
			return failureFor(fmt.Errorf("%w: %s", errNoTrunk, d.Trunk)), false
		}
		t = st
	}
	if err := c.mayUseTrunk(a, d.Number); err != nil {
		c.log.Info("trunk call refused", "trunk", t.Name, "number", d.Number, "reason", err)
		return failureFor(err), false
	}
	phone, err := trunkPhone(t, d.Number)
	if err != nil {
		c.log.Warn("trunk unusable", "trunk", t.Name, "error", err)
		return failureFor(fmt.Errorf("%w: %s: %v", errNoTrunk, t.Name, err)), false
	}
	ring := a.ring
	if ring <= 0 {
		ring = trunkRingTime
	}
	tgt := target{ext: store.Extension{Number: d.Number}, phones: []ringPhone{phone}, ringTime: ring, noForward: true}
	e.trunks.CountCall(t.Name, trunk.Outbound)
	c.log.Info("calling through trunk", "trunk", t.Name, "number", d.Number)
	c.mu.Lock()
	c.outTrunk = t.Name
	c.mu.Unlock()
	return c.ringTarget(tgt, nil, offer)
}

// mayUseTrunk applies the toll-fraud rules to a trunk attempt for number:
// a call that came in on a trunk only through a dial statement of its own
// inbound context; any other caller by its outbound class (emergency
// numbers always).
func (c *call) mayUseTrunk(a attempt, number string) error {
	return trunkPermission(c.inTrunk, c.caller.Outbound, a, number, c.e.cfg.EmergencyNumbers)
}

// trunkPermission is the rule mayUseTrunk and the trace apply: inTrunk is
// the trunk the call came in on (nil for a call from an extension), class
// the caller's outbound class.
func trunkPermission(inTrunk *store.Trunk, class string, a attempt, number string, emergency []string) error {
	if inTrunk != nil {
		if a.line > 0 && a.context == inTrunk.Context {
			return nil
		}
		return fmt.Errorf("%w: the call came in on trunk %s; only a dial in context %s may send it out",
			errTrunkLoop, inTrunk.Name, inTrunk.Context)
	}
	have := trunk.ParseClass(class)
	if trunk.Permits(have, number, emergency) {
		return nil
	}
	need, _ := trunk.Classify(number, emergency)
	return fmt.Errorf("%w: class %s, %s needs %s", errOutboundClass, have, number, need)
}

// trunkPhone is the "phone" a trunk call rings: the provider at the
// trunk's host and port, with the number in the Request-URI.
func trunkPhone(t store.Trunk, number string) (ringPhone, error) {
	if !dialplan.IsDialString(number) {
		return ringPhone{}, fmt.Errorf("bad number %q", number)
	}
	tp := strings.ToLower(t.Transport)
	if tp == "" {
		tp = "udp"
	}
	port := t.Port
	if port == 0 {
		port = 5060
	}
	uri := sip.Uri{Scheme: "sip", User: number, Host: t.Host, Port: port}
	if tp != "udp" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", tp)
	}
	tc := t
	return ringPhone{
		b: store.Registration{Contact: uri.String(), Source: net.JoinHostPort(t.Host, strconv.Itoa(port)),
			Transport: tp},
		who:   party{number: number},
		trunk: &tc,
	}, nil
}

// trunkCallerID is the caller ID a call through trunk t presents: the
// dial plan's callerid number when a rule set one, else the trunk's
// from_user, else the caller's own number.
func (c *call) trunkCallerID(t *store.Trunk, from party) party {
	if from.number != c.caller.Number || t.FromUser == "" {
		return from
	}
	return party{number: t.FromUser, name: from.name}
}

// setTrunkHeaders makes a fork's INVITE one for the provider: From and
// P-Asserted-Identity carry the office's caller ID in the provider's
// domain, To the dialled number.
func (f *fork) setTrunkHeaders(t *store.Trunk, id party) {
	req := f.req
	req.RemoveHeader("From")
	req.RemoveHeader("To")
	fromHdr := &sip.FromHeader{DisplayName: id.name,
		Address: sip.Uri{Scheme: "sip", User: id.number, Host: t.Host}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", f.fromTag)
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: f.number, Host: t.Host}, Params: sip.NewParams()})
	pai := "<sip:" + id.number + "@" + t.Host + ">"
	if id.name != "" {
		pai = strconv.Quote(id.name) + " " + pai
	}
	req.AppendHeader(sip.NewHeader("P-Asserted-Identity", pai))
}

// onTrunkInvite takes a new INVITE from a trunk's address: no extension
// authentication; the DID (Request-URI user, or To's when the provider
// calls the registered contact) is routed from the trunk's context.
func (e *Engine) onTrunkInvite(req *sip.Request, tx sip.ServerTransaction, t store.Trunk) {
	if req.Contact() == nil || req.CallID() == nil || req.From() == nil || req.To() == nil {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Contact, Call-ID, From and To required)", nil)
		return
	}
	did := trunk.DID(req.Recipient.User, req.To().Address.User, e.trunks.ContactUser(t))
	if !dialplan.IsDialString(did) {
		e.respond(tx, req, sip.StatusNotFound, "Not Found", nil)
		return
	}
	from := req.From()
	caller := store.Extension{Number: from.Address.User, Name: from.DisplayName, Outbound: "internal"}
	if caller.Number == "" {
		caller.Number = "anonymous"
	}
	e.trunks.CountCall(t.Name, trunk.Inbound)
	now := time.Now()
	tc := t
	c := &call{e: e, id: newCallID(), caller: caller, dialed: did, startedAt: now, inTrunk: &tc,
		in: newInbound(e, req, tx), pickups: make(chan *pickup), done: make(chan struct{}), state: CallSetup,
		from: party{caller.Number, caller.Name}, to: party{number: did}}
	c.log = e.log.With("call", c.id, "trunk", t.Name, "caller", caller.Number, "dialed", did)
	if !e.calls.add(c) {
		e.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable (shutting down)", nil)
		return
	}
	defer e.calls.wg.Done()
	defer e.calls.remove(c)
	e.calls.addDialog(c.in.key(), dialogRef{call: c, side: media.SideA, in: c.in})
	c.log.Info("call from trunk")
	c.run()
}

// trunkOf returns the trunk a request comes from, by its source address.
func (e *Engine) trunkOf(req *sip.Request) (store.Trunk, bool) {
	src, ok := trunk.ParseSource(req.Source())
	if !ok {
		return store.Trunk{}, false
	}
	return e.trunks.Match(src)
}

// resolveInbound routes a call from a trunk: the dial plan from the
// trunk's context, with ${trunk} set; the numbering plan is not asked
// (a DID reaches an extension only through a rule).
func (e *Engine) resolveInbound(c *call, at time.Time) (resolution, error) {
	t := c.inTrunk
	r := resolution{callerNumber: c.caller.Number, callerName: c.caller.Name, context: t.Context, number: c.dialed}
	return e.routePlan(r, dialplan.Call{Context: t.Context, Number: c.dialed, CallerNumber: c.caller.Number,
		CallerName: c.caller.Name, Trunk: t.Name, Class: "internal", Time: at})
}

// challenged reports whether res is a digest challenge this fork can
// answer: a provider's 401/407, with credentials configured.
func (f *fork) challenged(res *sip.Response) bool {
	return f.trunk != nil && f.trunk.Username != "" &&
		(res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired)
}

// authorize sends the INVITE again with the trunk's credentials for
// challenge res (sipgo's digest, as the trunk's REGISTER uses) and returns
// the new transaction. The old one is done.
func (f *fork) authorize(old sip.ClientTransaction, res *sip.Response) (sip.ClientTransaction, error) {
	old.Terminate()
	e := f.c.e
	tx, err := e.client.TransactionDigestAuth(e.ctx, f.req, res,
		sipgo.DigestAuth{Username: f.trunk.Username, Password: f.trunk.Secret})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.cseq = f.req.CSeq().SeqNo
	f.mu.Unlock()
	return tx, nil
}
