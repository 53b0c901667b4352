package pbxtest

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Subscription is a UA's event subscription (RFC 6665) to another
// extension: BLF ("dialog") or "presence". The UA answers every NOTIFY of
// it (200 unless told otherwise) and records them for WaitNotify.
type Subscription struct {
	ua     *UA
	Target string // the extension watched
	Event  string
	// Response is the 200 to the SUBSCRIBE that created it.
	Response *sip.Response

	callID   string
	fromTag  string
	notifies chan Notify

	mu       sync.Mutex
	toTag    string
	target   sip.Uri // the PBX's Contact: the Request-URI of refreshes
	cseq     uint32
	answerBy int  // status NOTIFYs get
	over     bool // unsubscribed, or a NOTIFY said terminated
}

// Notify is one NOTIFY the UA received, with its body summarised.
type Notify struct {
	Request     *sip.Request
	State       string // Subscription-State: "active", "terminated"
	Reason      string // its reason parameter
	Expires     int    // its expires parameter; -1 when absent
	ContentType string
	Body        []byte
	CSeq        uint32

	// Version and Dialog summarise a dialog-info body: Dialog is "idle"
	// when it lists no live dialog, else the state of the first one
	// ("early", "confirmed"), and Direction that dialog's direction.
	Version   int
	Dialogs   int
	Dialog    string
	Direction string
	// Remote is the first dialog's remote identity URI.
	Remote string

	// Basic ("open", "closed"), Note and OnThePhone summarise a PIDF body.
	Basic      string
	Note       string
	OnThePhone bool

	// Status is a message/sipfrag body's status line (a transfer's
	// progress, RFC 3515), e.g. "SIP/2.0 200 OK".
	Status string

	// MessagesWaiting, Account, NewMessages and OldMessages summarise an
	// application/simple-message-summary body (MWI, RFC 3842).
	MessagesWaiting bool
	Account         string
	NewMessages     int
	OldMessages     int
}

// notifyRouter hands the NOTIFYs a UA receives to its subscriptions.
type notifyRouter struct {
	mu   sync.Mutex
	subs map[string]*Subscription // by Call-ID
}

func (r *notifyRouter) add(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		r.subs = map[string]*Subscription{}
	}
	r.subs[s.callID] = s
}

func (r *notifyRouter) get(callID string) *Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subs[callID]
}

func (r *notifyRouter) remove(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.subs, s.callID)
}

// acceptFor is the body type a phone asks for with each event package.
func acceptFor(event string) string {
	switch event {
	case "dialog":
		return "application/dialog-info+xml"
	case "presence":
		return "application/pidf+xml"
	case "message-summary":
		return "application/simple-message-summary"
	}
	return "*/*"
}

// SubscribeRequest builds a new subscription's SUBSCRIBE to number, for
// tests of what the PBX refuses: no credentials, Accept for the event's
// usual body type, Expires unless expires < 0.
func (u *UA) SubscribeRequest(number, event string, expires int) *sip.Request {
	s := u.newSubscription(number, event)
	return s.request(expires)
}

func (u *UA) newSubscription(number, event string) *Subscription {
	return &Subscription{ua: u, Target: number, Event: event, callID: sip.GenerateTagN(24), fromTag: sip.GenerateTagN(12),
		notifies: make(chan Notify, 64), answerBy: sip.StatusOK,
		target: sip.Uri{Scheme: "sip", User: number, Host: u.pbxHost, Port: u.pbxPort}}
}

// Subscribe subscribes to event ("dialog", "presence", "message-summary") of extension
// number for expires seconds (none sent when negative), answering the
// PBX's digest challenge. It fails unless the PBX answers 200.
func (u *UA) Subscribe(ctx context.Context, number, event string, expires int) (*Subscription, error) {
	s := u.newSubscription(number, event)
	u.notify.add(s) // a NOTIFY may overtake the 200
	res, err := u.Do(ctx, func() *sip.Request { return s.request(expires) })
	if err == nil && res.StatusCode != sip.StatusOK {
		err = fmt.Errorf("SUBSCRIBE %s %s: %d %s", event, number, res.StatusCode, res.Reason)
	}
	if err != nil {
		u.notify.remove(s)
		return nil, err
	}
	s.mu.Lock()
	s.Response = res
	s.toTag, _ = res.To().Params.Get("tag")
	if ct := res.Contact(); ct != nil {
		s.target = *ct.Address.Clone()
	}
	s.mu.Unlock()
	// Unsubscribe while the UA still listens (cleanups run last first),
	// so the PBX does not wait on a closed UA at its shutdown.
	u.t.Cleanup(func() {
		if !s.ended() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			s.Refresh(ctx, 0)
		}
	})
	return s, nil
}

// ended reports whether the subscription was ended by either side.
func (s *Subscription) ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.over
}

// request builds a SUBSCRIBE of the subscription (in its dialog once the
// PBX has tagged it).
func (s *Subscription) request(expires int) *sip.Request {
	u := s.ua
	s.mu.Lock()
	s.cseq++
	seq, toTag, target := s.cseq, s.toTag, *s.target.Clone()
	s.mu.Unlock()
	req := sip.NewRequest(sip.SUBSCRIBE, target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: u.User, Host: u.pbxHost}, Params: sip.NewParams()}
	from.Params.Add("tag", s.fromTag)
	req.AppendHeader(from)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: s.Target, Host: u.pbxHost}, Params: sip.NewParams()}
	if toTag != "" {
		to.Params.Add("tag", toTag)
	}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(s.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(sip.NewHeader("Contact", "<"+u.Contact()+">"))
	req.AppendHeader(sip.NewHeader("Event", s.Event))
	req.AppendHeader(sip.NewHeader("Accept", acceptFor(s.Event)))
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	}
	req.AppendHeader(sip.NewHeader("User-Agent", "pbxtest-ua"))
	return req
}

// Refresh extends the subscription to expires seconds (0 ends it) and
// returns the PBX's final response.
func (s *Subscription) Refresh(ctx context.Context, expires int) (*sip.Response, error) {
	if expires == 0 {
		s.mu.Lock()
		s.over = true
		s.mu.Unlock()
	}
	return s.ua.Do(ctx, func() *sip.Request { return s.request(expires) })
}

// Unsubscribe ends the subscription (SUBSCRIBE with Expires: 0); the PBX
// answers and sends a final NOTIFY, which WaitNotify returns.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	res, err := s.Refresh(ctx, 0)
	if err != nil {
		return err
	}
	if res.StatusCode != sip.StatusOK {
		return fmt.Errorf("unsubscribe: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// AnswerNotify sets the status the UA answers this subscription's
// NOTIFYs with from now on (e.g. 481, as a phone that forgot it would).
func (s *Subscription) AnswerNotify(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answerBy = code
}

// WaitNotify returns the next NOTIFY the subscription received.
func (s *Subscription) WaitNotify(ctx context.Context) (Notify, error) {
	select {
	case n := <-s.notifies:
		return n, nil
	case <-ctx.Done():
		return Notify{}, fmt.Errorf("waiting for a NOTIFY of %s %s: %w", s.Event, s.Target, ctx.Err())
	}
}

// onNotify answers a NOTIFY and records it with its subscription.
func (u *UA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	u.count(req.Method)
	if u.onDialogNotify(req, tx) {
		return
	}
	var s *Subscription
	if cid := req.CallID(); cid != nil {
		s = u.notify.get(cid.Value())
	}
	if s == nil {
		if u.onUnsolicitedNotify(req, tx) {
			return
		}
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil))
		return
	}
	s.mu.Lock()
	code := s.answerBy
	if s.toTag == "" {
		s.toTag, _ = req.From().Params.Get("tag")
	}
	s.mu.Unlock()
	if code != sip.StatusOK {
		tx.Respond(sip.NewResponseFromRequest(req, code, "Refused", nil))
		return
	}
	n, err := parseNotify(req)
	if n.State == "terminated" {
		s.mu.Lock()
		s.over = true
		s.mu.Unlock()
	}
	if err != nil {
		u.t.Errorf("UA %s: NOTIFY of %s %s: %v\n%s", u.User, s.Event, s.Target, err, req.Body())
	}
	// Queued before the answer: the notifier sends the next NOTIFY only
	// once this one is answered, so the test reads them in their order
	// (each request has a handler goroutine of its own).
	select {
	case s.notifies <- n:
	default:
		u.t.Errorf("UA %s: too many unread NOTIFYs", u.User)
	}
	tx.Respond(sip.NewResponseFromRequest(req, code, "OK", nil))
}

// parseNotify reads a NOTIFY's headers and summarises its body.
func parseNotify(req *sip.Request) (Notify, error) {
	n := Notify{Request: req, Body: req.Body(), Expires: -1}
	if h := req.CSeq(); h != nil {
		n.CSeq = h.SeqNo
	}
	if h := req.GetHeader("Content-Type"); h != nil {
		n.ContentType = h.Value()
	}
	h := req.GetHeader("Subscription-State")
	if h == nil {
		return n, fmt.Errorf("no Subscription-State")
	}
	parts := strings.Split(h.Value(), ";")
	n.State = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "reason":
			n.Reason = v
		case "expires":
			n.Expires, _ = strconv.Atoi(v)
		}
	}
	switch {
	case len(n.Body) == 0:
	case strings.HasPrefix(n.ContentType, "application/dialog-info+xml"):
		var doc struct {
			Version int `xml:"version,attr"`
			Dialogs []struct {
				Direction string `xml:"direction,attr"`
				State     string `xml:"state"`
				Remote    string `xml:"remote>identity"`
			} `xml:"dialog"`
		}
		if err := xml.Unmarshal(n.Body, &doc); err != nil {
			return n, fmt.Errorf("dialog-info: %w", err)
		}
		n.Version, n.Dialog = doc.Version, "idle"
		for _, d := range doc.Dialogs {
			if d.State == "terminated" {
				continue
			}
			n.Dialogs++
			if n.Dialogs == 1 {
				n.Dialog, n.Direction, n.Remote = d.State, d.Direction, d.Remote
			}
		}
	case strings.HasPrefix(n.ContentType, "application/pidf+xml"):
		var doc struct {
			Basic  string `xml:"tuple>status>basic"`
			Note   string `xml:"tuple>note"`
			Person struct {
				Activities struct {
					OnThePhone *struct{} `xml:"on-the-phone"`
				} `xml:"activities"`
			} `xml:"person"`
		}
		if err := xml.Unmarshal(n.Body, &doc); err != nil {
			return n, fmt.Errorf("pidf: %w", err)
		}
		n.Basic, n.Note, n.OnThePhone = doc.Basic, doc.Note, doc.Person.Activities.OnThePhone != nil
	case strings.HasPrefix(n.ContentType, "application/simple-message-summary"):
		if err := parseMessageSummary(&n); err != nil {
			return n, err
		}
	case strings.HasPrefix(n.ContentType, "message/sipfrag"):
		status, _, _ := strings.Cut(string(n.Body), "\n")
		n.Status = strings.TrimSpace(status)
	default:
		return n, fmt.Errorf("unexpected Content-Type %q", n.ContentType)
	}
	return n, nil
}

// parseMessageSummary reads an RFC 3842 body into n.
func parseMessageSummary(n *Notify) error {
	seen := false
	for _, line := range strings.Split(string(n.Body), "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "messages-waiting":
			seen = true
			switch strings.ToLower(v) {
			case "yes":
				n.MessagesWaiting = true
			case "no":
			default:
				return fmt.Errorf("message-summary: Messages-Waiting %q", v)
			}
		case "message-account":
			n.Account = v
		case "voice-message":
			counts, _, _ := strings.Cut(v, " ")
			nw, old, ok := strings.Cut(counts, "/")
			var err1, err2 error
			n.NewMessages, err1 = strconv.Atoi(nw)
			n.OldMessages, err2 = strconv.Atoi(old)
			if !ok || err1 != nil || err2 != nil {
				return fmt.Errorf("message-summary: Voice-Message %q", v)
			}
		}
	}
	if !seen {
		return fmt.Errorf("message-summary: no Messages-Waiting")
	}
	return nil
}

// unsolicitedInbox holds the out-of-dialog NOTIFYs a UA received:
// unsolicited MWI, which desk phones get without subscribing.
type unsolicitedInbox struct {
	once sync.Once
	ch   chan Notify
}

func (b *unsolicitedInbox) queue() chan Notify {
	b.once.Do(func() { b.ch = make(chan Notify, 64) })
	return b.ch
}

// onUnsolicitedNotify answers and records a NOTIFY outside any dialog
// (no To tag) of the message-summary package; it reports false for
// anything else.
func (u *UA) onUnsolicitedNotify(req *sip.Request, tx sip.ServerTransaction) bool {
	if to := req.To(); to == nil || to.Params.Has("tag") {
		return false
	}
	h := req.GetHeader("Event")
	if h == nil || !strings.EqualFold(strings.TrimSpace(strings.Split(h.Value(), ";")[0]), "message-summary") {
		return false
	}
	n, err := parseNotify(req)
	if err != nil {
		u.t.Errorf("UA %s: unsolicited NOTIFY: %v\n%s", u.User, err, req.Body())
	}
	// Queued before the answer, as onNotify does; a UA no test reads
	// from drops what does not fit.
	select {
	case u.unsolicited.queue() <- n:
	default:
	}
	tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	return true
}

// WaitUnsolicitedNotify returns the next out-of-dialog message-summary
// NOTIFY (unsolicited MWI) the UA received.
func (u *UA) WaitUnsolicitedNotify(ctx context.Context) (Notify, error) {
	select {
	case n := <-u.unsolicited.queue():
		return n, nil
	case <-ctx.Done():
		return Notify{}, fmt.Errorf("UA %s: waiting for an unsolicited NOTIFY: %w", u.User, ctx.Err())
	}
}

// UnsolicitedNotifies returns how many unsolicited NOTIFYs wait unread.
func (u *UA) UnsolicitedNotifies() int { return len(u.unsolicited.queue()) }
