package pbx

import (
	"slices"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
)

// routeSet returns the Route headers for requests inside a dialog, from
// the Record-Route headers of the message that set it up: in order for
// the UAS (the caller's INVITE), reversed for the UAC (the callee's 2xx)
// (RFC 3261 12.1.1, 12.1.2).
func routeSet(m sip.Message, reverse bool) []sip.Header {
	var routes []sip.Header
	for _, h := range m.GetHeaders("Record-Route") {
		routes = append(routes, sip.NewHeader("Route", h.Value()))
	}
	if reverse {
		slices.Reverse(routes)
	}
	return routes
}

// request builds a request inside the caller's dialog: From and To swapped
// from its INVITE, its route set, its latest Contact as the target, sent
// to where its SIP comes from (it may sit behind NAT) over its transport.
func (in *inbound) request(method sip.RequestMethod) *sip.Request {
	return in.requestSeq(method, in.cseq.Add(1))
}

// requestSeq is request with a given CSeq number (an ACK's is its
// INVITE's).
func (in *inbound) requestSeq(method sip.RequestMethod, seq uint32) *sip.Request {
	in.mu.Lock()
	target := in.target
	in.mu.Unlock()
	req := sip.NewRequest(method, *target.Clone())
	from := in.req.To().AsFrom()
	to := in.req.From().AsTo()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(sip.HeaderClone(in.req.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	for _, r := range in.routes {
		req.AppendHeader(sip.HeaderClone(r)) // each request its own header
	}
	contact := in.e.contact(in.req.Transport())
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("User-Agent", in.e.cfg.UserAgent))
	req.SetTransport(in.req.Transport())
	req.SetDestination(in.req.Source())
	return req
}

// refreshTarget takes the Contact of a target-refresh request (re-INVITE,
// UPDATE) as the dialog's new remote target (RFC 3261 12.2.2).
func (in *inbound) refreshTarget(req *sip.Request) {
	if ct := req.Contact(); ct != nil {
		in.mu.Lock()
		in.target = *ct.Address.Clone()
		in.mu.Unlock()
	}
}

// refreshTarget is the same for the callee's dialog.
func (f *fork) refreshTarget(req *sip.Request) {
	if ct := req.Contact(); ct != nil {
		f.mu.Lock()
		f.target = *ct.Address.Clone()
		f.mu.Unlock()
	}
}

// nextRequest builds a request inside the caller's dialog with its next
// CSeq.
func (in *inbound) nextRequest(method sip.RequestMethod) *sip.Request { return in.request(method) }

// ackRequest builds the ACK of a 2xx to the PBX's re-INVITE with CSeq seq.
func (in *inbound) ackRequest(seq uint32) *sip.Request { return in.requestSeq(sip.ACK, seq) }

func (in *inbound) peer() (contact, source string) {
	if ct := in.req.Contact(); ct != nil {
		contact = ct.Address.String()
	}
	return contact, in.req.Source()
}

// nextRequest builds a request inside the callee's dialog with its next
// CSeq.
func (f *fork) nextRequest(method sip.RequestMethod) *sip.Request {
	f.mu.Lock()
	f.cseq++
	seq := f.cseq
	f.mu.Unlock()
	return f.request(method, seq)
}

// ackRequest builds the ACK of a 2xx to the PBX's INVITE with CSeq seq.
func (f *fork) ackRequest(seq uint32) *sip.Request { return f.request(sip.ACK, seq) }

func (f *fork) peer() (contact, source string) { return f.b.Contact, f.b.Source }

// dialogRequest builds a request inside one side's dialog of an answered
// call, with the dialog's next CSeq number.
func (c *call) dialogRequest(side media.Side, method sip.RequestMethod) *sip.Request {
	return c.leg(side).dlg.nextRequest(method)
}

// ackFor builds the ACK of a 2xx to the PBX's INVITE with CSeq seq.
func (c *call) ackFor(side media.Side, seq uint32) *sip.Request {
	return c.leg(side).dlg.ackRequest(seq)
}
