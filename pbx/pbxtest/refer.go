package pbxtest

import (
	"context"
	"fmt"
	"net/url"

	"github.com/emiago/sipgo/sip"
)

// ReferNotify is a NOTIFY of a transfer's progress (RFC 3515) received
// inside a call: the status line of its message/sipfrag body and its
// subscription state.
type ReferNotify struct {
	Status string // e.g. "SIP/2.0 200 OK"
	State  string // "active" or "terminated"
	Event  string
}

// Refer sends a REFER inside the call asking the PBX to transfer the
// other party to number (a blind transfer), and returns the answer.
func (c *Call) Refer(ctx context.Context, number string, hdrs ...sip.Header) (*sip.Response, error) {
	return c.refer(ctx, "<sip:"+number+"@"+c.ua.pbxHost+">", hdrs...)
}

// ReferReplaces sends a REFER inside the call asking the PBX to connect
// the other party to the other party of other (an attended transfer:
// Refer-To carries Replaces naming other's dialog).
func (c *Call) ReferReplaces(ctx context.Context, other *Call) (*sip.Response, error) {
	number := other.Invite.To().Address.User
	if !other.Outgoing {
		number = other.Invite.From().Address.User
	}
	return c.refer(ctx, "<sip:"+number+"@"+c.ua.pbxHost+"?Replaces="+url.QueryEscape(other.ReplacesID())+">")
}

// ReferRaw sends a REFER with the Refer-To value given as is.
func (c *Call) ReferRaw(ctx context.Context, referTo string) (*sip.Response, error) {
	return c.refer(ctx, referTo)
}

func (c *Call) refer(ctx context.Context, referTo string, hdrs ...sip.Header) (*sip.Response, error) {
	req := c.inDialog(sip.REFER)
	req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	req.AppendHeader(sip.NewHeader("Referred-By", "<sip:"+c.ua.User+"@"+c.ua.pbxHost+">"))
	req.AppendHeader(sip.NewHeader("Contact", "<"+c.ua.Contact()+">"))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	return c.ua.Send(ctx, req)
}

// ReplacesID names the call's dialog as a Replaces header value from this
// phone's side: Call-ID;to-tag=the PBX's tag;from-tag=this phone's tag.
func (c *Call) ReplacesID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%s;to-tag=%s;from-tag=%s", c.Invite.CallID().Value(), c.remoteTag, c.localTag)
}

// WaitReferNotify waits for the next NOTIFY of a transfer received in the
// call.
func (c *Call) WaitReferNotify(ctx context.Context) (ReferNotify, error) {
	select {
	case n := <-c.referNotifies:
		return n, nil
	case <-ctx.Done():
		return ReferNotify{}, fmt.Errorf("waiting for a NOTIFY of the transfer: %w", ctx.Err())
	}
}

// onDialogNotify answers a NOTIFY inside a call and records it; it
// reports false when the NOTIFY belongs to no call of the UA.
func (u *UA) onDialogNotify(req *sip.Request, tx sip.ServerTransaction) bool {
	cid := req.CallID()
	if cid == nil {
		return false
	}
	c := u.call(cid.Value())
	if c == nil {
		return false
	}
	pn, err := parseNotify(req)
	if err != nil {
		u.t.Errorf("UA %s: NOTIFY of a transfer: %v", u.User, err)
	}
	n := ReferNotify{Status: pn.Status, State: pn.State}
	if h := req.GetHeader("Event"); h != nil {
		n.Event = h.Value()
	}
	// Queued before the answer, so NOTIFYs are read in the order sent
	// (the PBX sends the next only once this one is answered).
	select {
	case c.referNotifies <- n:
	default:
		u.t.Errorf("UA %s: too many unread transfer NOTIFYs", u.User)
	}
	tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	return true
}
