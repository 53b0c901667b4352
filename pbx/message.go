package pbx

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// Limits of SIP MESSAGE (RFC 3428) between extensions; docs/messaging.md
// describes them for administrators.
const (
	// maxMessageBody bounds a MESSAGE's body. sipgo refuses any SIP message
	// over 64 KiB before it reaches us; half of that leaves room for the
	// headers and keeps a full mailbox (maxStoredMessages) at 16 MiB.
	maxMessageBody = 32 << 10
	// maxStoredMessages is how many undelivered messages one extension may
	// have waiting; a further one is refused (480), never an older dropped.
	maxStoredMessages = 500
	// messageTTL is how long an undelivered message is kept.
	messageTTL = 7 * 24 * time.Hour
	// messageWait bounds how long the sender waits while the PBX tries the
	// recipient's phones: well under Timer F (32 s), so the sender's
	// transaction is still alive for our answer, and short enough for a
	// person watching "sending...".
	messageWait = 4 * time.Second
	// messageRetryWait bounds one try of a stored message to one phone; no
	// sender waits for it.
	messageRetryWait = 8 * time.Second
	// maxMessagesInFlight bounds the MESSAGE handlers waiting for phones at
	// once (each holds a goroutine up to messageWait); more get 503.
	maxMessagesInFlight = 256
	// messageBatch is how many stored messages are read at a time.
	messageBatch = 50
	// messageSweep is how often expired messages are deleted.
	messageSweep = time.Hour
)

// sipDate is the RFC 3261 (RFC 1123, GMT) layout of the Date header.
const sipDate = "Mon, 02 Jan 2006 15:04:05 GMT"

// messenger is store-and-forward SIP MESSAGE between extensions. A MESSAGE
// goes at once to every registered phone of its recipient; when none
// takes it, it is stored, and an owner goroutine (run) delivers the stored
// messages, in order, to phones that register later.
type messenger struct {
	e        *Engine
	log      *slog.Logger
	kick     chan struct{} // wakes run; room for one signal
	inflight chan struct{} // semaphore of handlers waiting for phones

	mu      sync.Mutex
	pending map[string]*mailbox // by recipient: extensions with stored messages
	wg      sync.WaitGroup      // flush goroutines, owned by run
}

func newMessenger(e *Engine) *messenger {
	return &messenger{e: e, log: e.cfg.Log.With("component", "message"),
		kick: make(chan struct{}, 1), inflight: make(chan struct{}, maxMessagesInFlight),
		pending: map[string]*mailbox{}}
}

// onMessage handles a MESSAGE from an extension to an extension. It
// answers 200 when a phone of the recipient took it, 202 when it was
// stored for later.
func (m *messenger) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	e := m.e
	from := req.From()
	if from == nil || !dialplan.IsNumber(from.Address.User) {
		e.respond(tx, req, sip.StatusForbidden, "Forbidden (From must name an extension)", nil)
		return
	}
	// Cheap checks come before authentication, so a refused body is not
	// sent twice.
	ct := req.ContentType()
	if ct == nil || strings.TrimSpace(ct.Value()) == "" {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (Content-Type required)", nil)
		return
	}
	body := req.Body()
	if len(body) == 0 {
		e.respond(tx, req, sip.StatusBadRequest, "Bad Request (empty body)", nil)
		return
	}
	if len(body) > maxMessageBody {
		e.respond(tx, req, sip.StatusRequestEntityTooLarge, "Request Entity Too Large", nil)
		return
	}
	number := from.Address.User
	now := time.Now()
	sender, ok := e.authenticateExtension(req, tx, "Proxy-Authorization", number, now)
	if !ok {
		return
	}
	// Only now, authenticated, may the sender learn which numbers exist.
	target := req.Recipient.User
	if !e.requireExtension(req, tx, target) {
		return
	}
	select {
	case m.inflight <- struct{}{}:
		defer func() { <-m.inflight }()
	default:
		e.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable (too many messages)",
			[]sip.Header{sip.NewHeader("Retry-After", "5")})
		return
	}
	msg := store.Message{Sender: sender.Number, SenderName: sender.Name, Recipient: target,
		ContentType: strings.TrimSpace(ct.Value()), Body: append([]byte(nil), body...), CreatedAt: now}
	m.accept(req, tx, msg)
}

// accept delivers msg at once or stores it, and answers the sender.
func (m *messenger) accept(req *sip.Request, tx sip.ServerTransaction, msg store.Message) {
	e := m.e
	// With messages already waiting, a new one queues behind them (the
	// recipient sees them in order); the owner retries every phone.
	queued := m.hasPending(msg.Recipient)
	var tried []bindingKey
	if !queued {
		if binds := e.loc.lookup(msg.Recipient, time.Now()); len(binds) > 0 {
			if m.deliverNow(req, tx, msg, binds) {
				return
			}
			for _, b := range binds {
				tried = append(tried, keyOf(b))
			}
		}
	}
	// A message accepted just before shutdown is still stored.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 5*time.Second)
	defer cancel()
	if err := e.cfg.Store.SaveMessage(ctx, &msg, maxStoredMessages); err != nil {
		if errors.Is(err, store.ErrMailboxFull) {
			m.log.Warn("message refused: recipient's stored messages are at the limit", "from", msg.Sender,
				"to", msg.Recipient, "limit", maxStoredMessages)
			e.respond(tx, req, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable (too many stored messages)", nil)
			return
		}
		m.log.Error("storing message failed", "from", msg.Sender, "to", msg.Recipient, "error", err)
		e.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error", nil)
		return
	}
	m.log.Info("message stored for later delivery", "id", msg.ID, "from", msg.Sender, "to", msg.Recipient,
		"bytes", len(msg.Body), "phones_tried", len(tried))
	m.markPending(msg.Recipient, tried, queued)
	e.respond(tx, req, sip.StatusAccepted, "Accepted", nil)
}

// deliverNow sends msg to every phone in binds at once and answers 200 at
// the first 2xx. It waits for the others until messageWait has passed, so
// every goroutine it starts has ended when it returns. It reports whether
// a phone took the message; if not, it has not answered the sender.
func (m *messenger) deliverNow(req *sip.Request, tx sip.ServerTransaction, msg store.Message, binds []store.Registration) bool {
	ctx, cancel := context.WithTimeout(m.e.ctx, messageWait)
	defer cancel()
	results := m.sendAll(ctx, msg, binds)
	delivered := false
	for range binds {
		r := <-results
		if r.code/100 == 2 && !delivered {
			delivered = true
			m.log.Info("message delivered", "from", msg.Sender, "to", msg.Recipient, "bytes", len(msg.Body))
			m.e.respond(tx, req, sip.StatusOK, "OK", nil)
		}
	}
	return delivered
}

// sendResult is one phone's answer to a MESSAGE.
type sendResult struct {
	b    store.Registration
	code int // the final status; 0 when none came
}

// sendAll sends msg to every binding concurrently. The channel receives
// one result per binding, in the order they come; each send ends by ctx's
// deadline.
func (m *messenger) sendAll(ctx context.Context, msg store.Message, binds []store.Registration) <-chan sendResult {
	results := make(chan sendResult, len(binds))
	for _, b := range binds {
		go func() { results <- sendResult{b: b, code: m.send(ctx, msg, b)} }()
	}
	return results
}

// send sends msg to one registered phone as the PBX's own out-of-dialog
// MESSAGE, with the sender's name and number in From, and returns the
// final status (0 when none came). A request too large for UDP goes over
// TCP to the same address (RFC 3261 18.1.1); a phone that takes neither
// counts as refusing it with 513, so it does not look unreachable.
func (m *messenger) send(ctx context.Context, msg store.Message, b store.Registration) int {
	req, err := m.request(msg, b)
	if err != nil {
		m.log.Warn("cannot send message to phone", "contact", b.Contact, "error", err)
		return 0
	}
	res, err := m.do(ctx, req)
	if errors.Is(err, sip.ErrUDPMTUCongestion) {
		tcp := b
		tcp.Transport = "tcp"
		if req, err = m.request(msg, tcp); err == nil {
			res, err = m.do(ctx, req)
		}
		if err != nil && ctx.Err() == nil {
			m.log.Debug("message too large for UDP and the phone takes no TCP", "to", msg.Recipient,
				"contact", b.Contact, "error", err)
			return sip.StatusMessageTooLarge
		}
	}
	if err != nil {
		m.log.Debug("message to phone failed", "to", msg.Recipient, "contact", b.Contact, "source", b.Source, "error", err)
		return 0
	}
	if res.StatusCode/100 != 2 {
		m.log.Debug("phone refused message", "to", msg.Recipient, "contact", b.Contact, "status", res.StatusCode)
	}
	return res.StatusCode
}

// errNoResponse is a client transaction that ended without a final
// response or an error of its own (sipgo's Do returns nil, nil then).
var errNoResponse = errors.New("transaction ended without a response")

// do runs one client transaction and returns its final response.
func (m *messenger) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	res, err := m.e.client.Do(ctx, req)
	if err == nil && res == nil {
		err = errNoResponse
	}
	return res, err
}

// request builds the MESSAGE carrying msg to binding b.
func (m *messenger) request(msg store.Message, b store.Registration) (*sip.Request, error) {
	e := m.e
	req, err := e.newRequestTo(sip.MESSAGE, b)
	if err != nil {
		return nil, err
	}
	req.RemoveHeader("From")
	req.RemoveHeader("To")
	from := &sip.FromHeader{DisplayName: quotedName(msg.SenderName),
		Address: sip.Uri{Scheme: "sip", User: msg.Sender, Host: e.cfg.ExternalIP}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: msg.Recipient, Host: e.cfg.ExternalIP}, Params: sip.NewParams()})
	cid := sip.CallIDHeader(sip.GenerateTagN(24) + "@pbx")
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.MESSAGE})
	// When it was sent, which matters for a message stored for days.
	req.AppendHeader(sip.NewHeader("Date", msg.CreatedAt.UTC().Format(sipDate)))
	req.AppendHeader(sip.NewHeader("Content-Type", msg.ContentType))
	req.SetBody(msg.Body)
	return req, nil
}

// quotedName escapes a display name for the quoted-string of From.
func quotedName(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", " ", "\n", " ").Replace(s)
}
