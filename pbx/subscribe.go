package pbx

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
)

// statusBadEvent is 489 Bad Event (RFC 6665), which sipgo does not name.
const statusBadEvent = 489

// SubscriptionConfig bounds event subscriptions (BLF, presence, MWI). Zero
// values take the defaults noted.
type SubscriptionConfig struct {
	// MinExpires is the shortest subscription accepted (shorter ones get
	// 423). Default 60 s.
	MinExpires time.Duration
	// MaxExpires caps a subscription's duration. Default 3600 s.
	MaxExpires time.Duration
	// DefaultExpires applies when a SUBSCRIBE has no Expires. Default 3600 s.
	DefaultExpires time.Duration
	// MaxPerSubscriber bounds the live subscriptions of one extension, so
	// one phone (or a stolen password) cannot fill memory; more get 403.
	// Default 500: a Yealink with three expansion modules has 180 BLF
	// keys, and a rebooted phone's stale subscriptions linger until their
	// next NOTIFY gets 481, so this leaves room for a few reboots.
	MaxPerSubscriber int
}

func (c *SubscriptionConfig) defaults() {
	if c.MinExpires <= 0 {
		c.MinExpires = 60 * time.Second
	}
	if c.MaxExpires <= 0 {
		c.MaxExpires = time.Hour
	}
	if c.DefaultExpires <= 0 {
		c.DefaultExpires = time.Hour
	}
	if c.MaxPerSubscriber <= 0 {
		c.MaxPerSubscriber = 500
	}
	c.MaxExpires = max(c.MaxExpires, c.MinExpires)
	c.DefaultExpires = min(max(c.DefaultExpires, c.MinExpires), c.MaxExpires)
}

// onSubscribe handles SUBSCRIBE (RFC 6665): an extension asks for the
// dialog (BLF) or presence state of another extension, or for the
// message-summary (MWI) of its own voicemail box. A new subscription
// is authenticated like INVITE (407); a refresh or unsubscribe inside its
// dialog is matched by Call-ID and tags, which only the subscriber knows.
// The 200 goes first; the notifier then sends the NOTIFYs.
func (e *Engine) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	from, to, cseq := req.From(), req.To(), req.CSeq()
	if from == nil || to == nil || cseq == nil || req.CallID() == nil {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (From, To, Call-ID and CSeq required)", nil)
		return
	}
	if to.Params.Has("tag") {
		e.subs.refresh(req, tx)
		return
	}
	fromTag, _ := from.Params.Get("tag")
	if req.Contact() == nil || fromTag == "" {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Contact and From tag required)", nil)
		return
	}
	number := from.Address.User
	if !dialplan.IsNumber(number) {
		e.respond(tx, req, sip.StatusForbidden, "Forbidden (From must name an extension)", nil)
		return
	}
	now := time.Now()
	if _, ok := e.authenticateExtension(req, tx, "Proxy-Authorization", number, now); !ok {
		return
	}
	pkg, eventID, ok := e.subs.event(req, tx)
	if !ok {
		return
	}
	target := req.Recipient.User
	if pkg.mailbox && target != number {
		// A voicemail box's counts are its owner's business: a phone
		// watches its own box only.
		e.respond(tx, req, sip.StatusForbidden, "Forbidden (only the extension's own mailbox)", nil)
		return
	}
	if !e.requireExtension(req, tx, target) {
		return
	}
	exp, ok := e.subs.expires(req, tx)
	if !ok {
		return
	}
	host := req.Recipient.Host
	if host == "" {
		host = e.cfg.ExternalIP
	}
	tag := sip.GenerateTagN(16)
	local := to.AsFrom()
	local.Params.Add("tag", tag)
	sub := &subscription{
		key: dialogKey{callID: req.CallID().Value(), localTag: tag}, pkg: pkg, eventID: eventID,
		target: target, subscriber: number, host: host, entity: "sip:" + target + "@" + host,
		remoteTag: fromTag, local: local, remote: from.AsTo(), createdAt: now,
	}
	sub.update(req, cseq.SeqNo, exp, now)
	if !e.subs.add(sub) {
		e.log.Warn("subscription refused: too many", "subscriber", number, "source", req.Source())
		e.respond(tx, req, sip.StatusForbidden, "Forbidden (too many subscriptions)", nil)
		return
	}
	e.subs.respondOK(req, tx, tag, exp)
	e.subs.wakeUp()
	e.log.Debug("subscription created", "event", pkg.name, "subscriber", number, "target", target,
		"expires", exp, "source", req.Source())
}

// refresh handles a SUBSCRIBE inside an existing subscription's dialog:
// it extends the subscription (and gets a NOTIFY of the full state) or,
// with Expires: 0, ends it with a final NOTIFY.
func (s *subscriptions) refresh(req *sip.Request, tx sip.ServerTransaction) {
	e := s.e
	tag, _ := req.To().Params.Get("tag")
	fromTag, _ := req.From().Params.Get("tag")
	sub := s.get(dialogKey{callID: req.CallID().Value(), localTag: tag})
	if sub == nil || sub.remoteTag != fromTag {
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil)
		return
	}
	pkg, _, ok := s.event(req, tx)
	if !ok {
		return
	}
	if pkg.name != sub.pkg.name {
		e.respond(tx, req, statusBadEvent, "Bad Event (not this subscription's)",
			[]sip.Header{sip.NewHeader("Allow-Events", sub.pkg.name)})
		return
	}
	exp, ok := s.expires(req, tx)
	if !ok {
		return
	}
	switch sub.refresh(req, exp, time.Now()) {
	case refreshGone:
		e.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil)
		return
	case refreshOutOfOrder:
		e.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error (CSeq out of order)", nil)
		return
	}
	s.respondOK(req, tx, "", exp)
	s.wakeUp()
}

// event checks the Event and Accept headers; on failure it has answered
// 489 or 406.
func (s *subscriptions) event(req *sip.Request, tx sip.ServerTransaction) (*eventPackage, string, bool) {
	var pkg *eventPackage
	var id string
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o") // the compact form
	}
	if h != nil {
		var name string
		name, id = parseEvent(h.Value())
		pkg = lookupEventPackage(name)
	}
	if pkg == nil {
		s.e.respond(tx, req, statusBadEvent, "Bad Event", []sip.Header{sip.NewHeader("Allow-Events", allowEvents)})
		return nil, "", false
	}
	var accept []string
	for _, h := range req.GetHeaders("Accept") {
		accept = append(accept, h.Value())
	}
	if !accepts(accept, pkg.contentType) {
		s.e.respond(tx, req, sip.StatusNotAcceptable, "Not Acceptable", []sip.Header{sip.NewHeader("Accept", pkg.contentType)})
		return nil, "", false
	}
	return pkg, id, true
}

// expires reads the requested duration and bounds it; 0 ends the
// subscription. On failure it has answered 400 or 423.
func (s *subscriptions) expires(req *sip.Request, tx sip.ServerTransaction) (time.Duration, bool) {
	exp := s.cfg.DefaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		secs, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			s.e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Expires)", nil)
			return 0, false
		}
		exp = time.Duration(secs) * time.Second
	}
	if exp > 0 && exp < s.cfg.MinExpires {
		s.e.respond(tx, req, sip.StatusIntervalToBrief, "Interval Too Brief",
			[]sip.Header{sip.NewHeader("Min-Expires", strconv.Itoa(int(s.cfg.MinExpires/time.Second)))})
		return 0, false
	}
	return min(exp, s.cfg.MaxExpires), true
}

// respondOK accepts a SUBSCRIBE: a new one gets our tag in To.
func (s *subscriptions) respondOK(req *sip.Request, tx sip.ServerTransaction, tag string, exp time.Duration) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if tag != "" {
		res.To().Params.Add("tag", tag)
	}
	ct := s.e.contact(req.Transport())
	res.AppendHeader(&ct)
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(exp/time.Second))))
	res.AppendHeader(sip.NewHeader("Server", s.e.cfg.UserAgent))
	if err := tx.Respond(res); err != nil {
		s.e.log.Debug("respond to SUBSCRIBE failed", "error", err)
	}
}
