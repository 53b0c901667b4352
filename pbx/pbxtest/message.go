package pbxtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Message is a SIP MESSAGE the UA received and accepted.
type Message struct {
	From        string // the user part of From (the sender's number)
	FromName    string // the display name of From, unquoted
	To          string // the user part of To
	ContentType string
	Body        []byte
	Date        string // the Date header, if any
	Request     *sip.Request
}

// inbox is the UA's side of SIP MESSAGE: how it answers and what it got.
// Its zero value answers 200 at once.
type inbox struct {
	mu      sync.Mutex
	status  int           // the answer; 0 means 200
	delay   time.Duration // wait before answering
	got     []Message
	next    int           // the next message WaitMessage returns
	arrived chan struct{} // closed (and replaced) when a message arrives
}

// WithMessageAnswer makes the UA answer MESSAGE with status (e.g. 480)
// after delay, instead of 200 at once.
func WithMessageAnswer(status int, delay time.Duration) UAOption {
	return func(u *UA) { u.SetMessageAnswer(status, delay) }
}

// SetMessageAnswer sets how the UA answers MESSAGE from now on: with
// status after delay. Only messages answered 2xx are recorded.
func (u *UA) SetMessageAnswer(status int, delay time.Duration) {
	u.msgs.mu.Lock()
	defer u.msgs.mu.Unlock()
	u.msgs.status, u.msgs.delay = status, delay
}

// SendMessage sends a MESSAGE (RFC 3428) to number through the PBX,
// answering one digest challenge, and returns the final response. An
// empty contentType sends no Content-Type header.
func (u *UA) SendMessage(ctx context.Context, to, contentType string, body []byte) (*sip.Response, error) {
	callID := sip.GenerateTagN(24) // one per message: MESSAGE makes no dialog
	fromTag := sip.GenerateTagN(12)
	seq := uint32(0)
	return u.Do(ctx, func() *sip.Request {
		seq++
		return u.MessageRequest(to, contentType, body, callID, fromTag, seq)
	})
}

// MessageRequest builds a MESSAGE to number without credentials.
func (u *UA) MessageRequest(to, contentType string, body []byte, callID, fromTag string, seq uint32) *sip.Request {
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: to, Host: u.pbxHost, Port: u.pbxPort})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: u.User, Host: u.pbxHost}, Params: sip.NewParams()}
	from.Params.Add("tag", fromTag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: to, Host: u.pbxHost}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.MESSAGE})
	req.AppendHeader(sip.NewHeader("User-Agent", "pbxtest-ua"))
	if contentType != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	}
	req.SetBody(body)
	u.toPBX(req)
	return req
}

// onMessage answers a MESSAGE per the UA's setting and records it when
// the answer is 2xx.
func (u *UA) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	u.count(req.Method)
	in := &u.msgs
	in.mu.Lock()
	status, delay := in.status, in.delay
	in.mu.Unlock()
	if status == 0 {
		status = sip.StatusOK
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-u.ctx.Done():
			return
		}
	}
	if status/100 == 2 {
		m := Message{Body: append([]byte(nil), req.Body()...), Request: req}
		if f := req.From(); f != nil {
			m.From, m.FromName = f.Address.User, f.DisplayName
		}
		if t := req.To(); t != nil {
			m.To = t.Address.User
		}
		if ct := req.ContentType(); ct != nil {
			m.ContentType = ct.Value()
		}
		if d := req.GetHeader("Date"); d != nil {
			m.Date = d.Value()
		}
		in.mu.Lock()
		in.got = append(in.got, m)
		if in.arrived != nil {
			close(in.arrived)
			in.arrived = nil
		}
		in.mu.Unlock()
	}
	reason := "Refused by test"
	if status/100 == 2 {
		reason = "OK"
	}
	tx.Respond(sip.NewResponseFromRequest(req, status, reason, nil))
}

// Messages returns every message the UA accepted, oldest first.
func (u *UA) Messages() []Message {
	u.msgs.mu.Lock()
	defer u.msgs.mu.Unlock()
	return append([]Message(nil), u.msgs.got...)
}

// WaitMessage returns the next accepted message WaitMessage has not
// returned yet, waiting for it if need be.
func (u *UA) WaitMessage(ctx context.Context) (Message, error) {
	in := &u.msgs
	for {
		in.mu.Lock()
		if in.next < len(in.got) {
			m := in.got[in.next]
			in.next++
			in.mu.Unlock()
			return m, nil
		}
		if in.arrived == nil {
			in.arrived = make(chan struct{})
		}
		arrived := in.arrived
		in.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("waiting for a message to %s: %w", u.User, ctx.Err())
		}
	}
}
