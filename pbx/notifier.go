package pbx

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// subscriptions is the notifier side of RFC 6665: the live subscriptions
// (in memory only: phones subscribe again after a restart, told so by the
// shutdown NOTIFY or by the 481 their next refresh gets) and the one
// goroutine that owns their state. That
// goroutine wakes on the coalesced change signals of registrations, calls
// and extension settings, on new and refreshed subscriptions and on the
// next expiry; it derives the state of every watched extension once and
// queues a NOTIFY for each subscription whose state changed. The call and
// registration paths do no more than the watchers' notify they already do.
type subscriptions struct {
	e    *Engine
	cfg  SubscriptionConfig
	log  *slog.Logger
	wake chan struct{} // room for one signal: bursts coalesce

	boxes *mailboxes // voicemail counts and unsolicited MWI (mwi.go)

	mu            sync.Mutex
	subs          map[dialogKey]*subscription
	perSubscriber map[string]int // live subscriptions by subscriber

	senders sync.WaitGroup // NOTIFY senders, one per busy subscription
}

func newSubscriptions(e *Engine, cfg SubscriptionConfig) *subscriptions {
	cfg.defaults()
	s := &subscriptions{e: e, cfg: cfg, log: e.cfg.Log.With("component", "subscriptions"),
		wake: make(chan struct{}, 1), subs: map[dialogKey]*subscription{}, perSubscriber: map[string]int{},
		boxes: newMailboxes()}
	e.cfg.Store.Subscribe(func(ch store.Change) {
		switch ch.Kind {
		case "extension":
			if ch.Deleted {
				s.boxes.changed(ch.Key) // forget its counts
			}
			s.wakeUp() // DND changed, or the extension went
		case "voicemail":
			s.boxes.changed(ch.Key) // a message came, was heard or deleted
			s.wakeUp()
		}
	})
	return s
}

// registered hears of bindings a REGISTER made anew (location.apply):
// their phones may owe an unsolicited MWI.
func (s *subscriptions) registered(bs []store.Registration) {
	s.boxes.registered(bs)
	s.e.regWatch.notifySoon(regSignalDelay) // the notifier watches registrations
}

// subscription is one SUBSCRIBE dialog: the PBX is the notifier.
type subscription struct {
	key        dialogKey // Call-ID and the PBX's tag
	pkg        *eventPackage
	eventID    string // the Event header's id parameter, echoed in NOTIFY
	target     string // the extension watched
	subscriber string // the extension watching
	host       string // the domain of the watched AOR
	entity     string // sip:NNN@host
	remoteTag  string
	local      sip.FromHeader // From of our NOTIFYs (with our tag)
	remote     sip.ToHeader   // To of our NOTIFYs (the subscriber, its tag)
	createdAt  time.Time

	mu           sync.Mutex
	remoteTarget sip.Uri // the subscriber's Contact
	transport    string  // as the SUBSCRIBE came: "UDP", "TCP", "TLS"
	source       string  // where the SUBSCRIBE came from (ip:port)
	remoteCSeq   uint32
	expiresAt    time.Time
	unsubscribed bool // Expires: 0 came; the final NOTIFY is due
	final        bool // the final NOTIFY is queued: nothing follows it
	dead         bool // dropped: the subscriber is gone
	notified     bool // a NOTIFY with state went out (or is queued)
	force        bool // a refresh asks for the full state again
	last         extState
	cseq         uint32
	version      uint32
	sending      bool
	pending      *notifyJob
}

// errNoNotifyResponse: a NOTIFY's transaction ended without a response
// and without an error of its own.
var errNoNotifyResponse = errors.New("NOTIFY got no response")

// notifyJob is the NOTIFY a subscription owes: the state, and the
// termination reason for the final one.
type notifyJob struct {
	state  extState
	reason string // "" while active; "timeout", "noresource"... for the last
}

// update takes the target-refresh parts of a SUBSCRIBE.
func (sub *subscription) update(req *sip.Request, cseq uint32, exp time.Duration, now time.Time) {
	if ct := req.Contact(); ct != nil {
		sub.remoteTarget = *ct.Address.Clone()
	}
	sub.transport = req.Transport()
	sub.source = req.Source()
	sub.remoteCSeq = cseq
	sub.expiresAt = now.Add(exp)
	if exp == 0 {
		sub.unsubscribed = true // a fetch, or an unsubscribe
	}
}

type refreshResult int

const (
	refreshOK refreshResult = iota
	refreshGone
	refreshOutOfOrder
)

// refresh applies an in-dialog SUBSCRIBE.
func (sub *subscription) refresh(req *sip.Request, exp time.Duration, now time.Time) refreshResult {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.final || sub.dead || sub.unsubscribed {
		return refreshGone
	}
	seq := req.CSeq().SeqNo
	if seq <= sub.remoteCSeq {
		return refreshOutOfOrder
	}
	sub.update(req, seq, exp, now)
	sub.force = true // RFC 6665 4.2.1.2: a refresh gets a NOTIFY
	return refreshOK
}

// next decides the NOTIFY a subscription owes for state st at now, if any.
func (sub *subscription) next(st extState, now time.Time) *notifyJob {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.dead || sub.final {
		return nil
	}
	reason := ""
	switch {
	case sub.unsubscribed, !now.Before(sub.expiresAt):
		reason = "timeout"
	case !st.known:
		reason = "noresource" // the extension was deleted
	}
	if reason == "" && sub.notified && !sub.force && !sub.pkg.changed(sub.last, st) {
		return nil
	}
	sub.notified, sub.force, sub.last = true, false, st
	sub.final = reason != ""
	return &notifyJob{state: st, reason: reason}
}

func (s *subscriptions) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// add inserts a new subscription, unless its subscriber has too many.
// The caller wakes the notifier once it has answered the SUBSCRIBE.
func (s *subscriptions) add(sub *subscription) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perSubscriber[sub.subscriber] >= s.cfg.MaxPerSubscriber {
		return false
	}
	s.subs[sub.key] = sub
	s.perSubscriber[sub.subscriber]++
	return true
}

func (s *subscriptions) get(k dialogKey) *subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs[k]
}

func (s *subscriptions) remove(sub *subscription) {
	s.mu.Lock()
	if s.subs[sub.key] == sub {
		delete(s.subs, sub.key)
		if s.perSubscriber[sub.subscriber]--; s.perSubscriber[sub.subscriber] <= 0 {
			delete(s.perSubscriber, sub.subscriber)
		}
	}
	s.mu.Unlock()
}

func (s *subscriptions) list() []*subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		out = append(out, sub)
	}
	return out
}

// run is the owner goroutine; it returns when ctx ends, after the NOTIFY
// senders (whose requests end with ctx).
func (s *subscriptions) run(ctx context.Context) {
	regs, stopRegs := s.e.regWatch.subscribe()
	defer stopRegs()
	calls, stopCalls := s.e.callWatch.subscribe()
	defer stopCalls()
	defer s.senders.Wait()
	expiry := time.NewTimer(time.Hour)
	expiry.Stop()
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-regs:
		case <-calls:
		case <-s.wake:
		case <-expiry.C:
		}
		now := time.Now()
		if next := s.sync(ctx, now); !next.IsZero() {
			expiry.Reset(next.Sub(now))
		} else {
			expiry.Stop()
		}
	}
}

// sync derives the state of each watched extension once and queues the
// NOTIFYs owed, after the unsolicited MWI. It returns the next expiry
// (zero when none).
func (s *subscriptions) sync(ctx context.Context, now time.Time) time.Time {
	subs := s.list()
	s.syncMailboxes(ctx, subs, now)
	if len(subs) == 0 {
		return time.Time{}
	}
	dialogs := callDialogs(s.e.Calls())
	boxes := map[string]bool{} // targets whose state needs their box's counts
	for _, sub := range subs {
		if sub.pkg.mailbox {
			boxes[sub.target] = true
		}
	}
	states := map[string]extState{}
	var next time.Time
	failed := map[string]bool{}
	for _, sub := range subs {
		st, ok := states[sub.target]
		if !ok && !failed[sub.target] {
			var err error
			if st, err = s.stateOf(ctx, sub.target, dialogs[sub.target], boxes[sub.target], now); err != nil {
				s.log.Error("extension state unavailable", "extension", sub.target, "error", err)
				failed[sub.target] = true
			} else {
				states[sub.target], ok = st, true
			}
		}
		var job *notifyJob
		if ok { // else keep the old state; the next change or expiry retries
			job = sub.next(st, now)
		}
		if job != nil && job.reason != "" {
			s.remove(sub)
		} else {
			sub.mu.Lock()
			if exp := sub.expiresAt; !sub.dead && (next.IsZero() || exp.Before(next)) {
				next = exp
			}
			sub.mu.Unlock()
		}
		if job != nil {
			s.send(ctx, sub, job)
		}
	}
	return next
}

// stateOf derives the state of extension number, with its voicemail
// counts when withBox.
func (s *subscriptions) stateOf(ctx context.Context, number string, dialogs []dialogState, withBox bool, now time.Time) (extState, error) {
	ext, err := s.e.exts.get(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return extState{}, nil
	}
	if err != nil {
		return extState{}, err
	}
	st := extState{known: true, registered: len(s.e.loc.lookup(number, now)) > 0, dnd: ext.DND, dialogs: dialogs}
	if withBox {
		if st.mailbox, err = s.boxCounts(ctx, number); err != nil {
			return extState{}, err
		}
	}
	return st, nil
}

// send queues job for sub. One sender per subscription sends its NOTIFYs
// in order; a job queued while one is in flight replaces any older one
// not yet sent, so a slow phone gets the latest state, not every step.
func (s *subscriptions) send(ctx context.Context, sub *subscription, job *notifyJob) {
	sub.mu.Lock()
	sub.pending = job
	if sub.sending {
		sub.mu.Unlock()
		return
	}
	sub.sending = true
	sub.mu.Unlock()
	s.senders.Add(1)
	go func() {
		defer s.senders.Done()
		for s.sendNext(ctx, sub) {
		}
	}()
}

// sendNext sends the pending NOTIFY of sub, if any, and reports whether
// to look for another.
func (s *subscriptions) sendNext(ctx context.Context, sub *subscription) bool {
	sub.mu.Lock()
	job := sub.pending
	sub.pending = nil
	if job == nil || sub.dead {
		sub.sending = false
		sub.mu.Unlock()
		return false
	}
	sub.cseq++
	sub.version++
	req, err := sub.notifyRequest(s.e, job, time.Now())
	sub.mu.Unlock()
	if err != nil {
		s.log.Error("NOTIFY body failed", "event", sub.pkg.name, "target", sub.target, "error", err)
		return true
	}
	res, err := s.e.client.Do(ctx, req)
	if err == nil && res == nil {
		err = errNoNotifyResponse // the transaction ended without one (the engine closing)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return true // shutting down
	case err != nil, res.StatusCode == sip.StatusCallTransactionDoesNotExists, res.StatusCode == sip.StatusRequestTimeout:
		// RFC 6665 4.2.2: the subscriber is gone, or says the
		// subscription is; stop notifying it.
		code := 0
		if res != nil {
			code = res.StatusCode
		}
		s.log.Info("subscription dropped: NOTIFY failed", "event", sub.pkg.name, "subscriber", sub.subscriber,
			"target", sub.target, "status", code, "error", err)
		s.drop(sub)
	case res.StatusCode >= 300:
		s.log.Debug("NOTIFY refused", "event", sub.pkg.name, "subscriber", sub.subscriber, "status", res.StatusCode)
	}
	return true
}

// drop forgets a subscription whose subscriber is gone.
func (s *subscriptions) drop(sub *subscription) {
	sub.mu.Lock()
	sub.dead = true
	sub.pending = nil
	sub.mu.Unlock()
	s.remove(sub)
}

// notifyRequest builds the NOTIFY for job (sub.mu held). Like the BYE of
// a call it goes to the subscriber's Contact through the address and
// transport the SUBSCRIBE came from, so phones behind NAT get it.
func (sub *subscription) notifyRequest(e *Engine, job *notifyJob, now time.Time) (*sip.Request, error) {
	body, err := sub.pkg.render(sub.entity, sub.host, sub.target, sub.version, job.state)
	if err != nil {
		return nil, err
	}
	req := sip.NewRequest(sip.NOTIFY, *sub.remoteTarget.Clone())
	from, to := sub.local, sub.remote
	from.Params, to.Params = from.Params.Clone(), to.Params.Clone()
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	cid := sip.CallIDHeader(sub.key.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: sub.cseq, MethodName: sip.NOTIFY})
	ct := e.contact(sub.transport)
	req.AppendHeader(&ct)
	event := sub.pkg.name
	if sub.eventID != "" {
		event += ";id=" + sub.eventID
	}
	req.AppendHeader(sip.NewHeader("Event", event))
	state := "terminated;reason=" + job.reason
	if job.reason == "" {
		left := max(int((sub.expiresAt.Sub(now)+time.Second-1)/time.Second), 0)
		state = "active;expires=" + strconv.Itoa(left)
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("User-Agent", e.cfg.UserAgent))
	req.AppendHeader(sip.NewHeader("Content-Type", sub.pkg.contentType))
	req.SetBody(body)
	req.SetTransport(sub.transport)
	req.SetDestination(sub.source)
	return req, nil
}

// SubscriptionInfo describes one live event subscription (BLF, presence,
// MWI).
type SubscriptionInfo struct {
	Event      string // "dialog", "presence" or "message-summary"
	Subscriber string // the extension watching
	Target     string // the extension watched
	Source     string // where the subscriber's SIP comes from (ip:port)
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Subscriptions returns the live event subscriptions, by target then
// subscriber. They are kept in memory only: after a restart phones
// subscribe again.
func (e *Engine) Subscriptions() []SubscriptionInfo {
	var out []SubscriptionInfo
	for _, sub := range e.subs.list() {
		sub.mu.Lock()
		if !sub.dead && !sub.final {
			out = append(out, SubscriptionInfo{Event: sub.pkg.name, Subscriber: sub.subscriber, Target: sub.target,
				Source: sub.source, CreatedAt: sub.createdAt, ExpiresAt: sub.expiresAt})
		}
		sub.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		if out[i].Subscriber != out[j].Subscriber {
			return out[i].Subscriber < out[j].Subscriber
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	return out
}

// shutdownRetryAfter is how long a phone told of a shutdown waits before
// it subscribes again: long enough for a restart, short enough that its
// lamps are soon right again.
const shutdownRetryAfter = 20

// shutdownWait bounds how long shutdown waits for phones to answer.
const shutdownWait = time.Second

// shutdown ends every subscription with a NOTIFY
// "terminated;reason=probation;retry-after=20" before the PBX stops, so
// phones subscribe again once it is back rather than at their next
// refresh (subscriptions are not kept across a restart). It waits for
// the answers (keeping TCP connections open until the phones have read
// it) at most shutdownWait; a phone that misses it recovers with its next
// refresh.
func (s *subscriptions) shutdown() {
	ctx, cancel := context.WithTimeout(s.e.ctx, min(s.e.cfg.ShutdownGrace, shutdownWait))
	defer cancel()
	var wg sync.WaitGroup
	now := time.Now()
	for _, sub := range s.list() {
		sub.mu.Lock()
		if sub.dead || sub.final || !sub.notified {
			sub.mu.Unlock()
			continue
		}
		sub.final, sub.pending = true, nil
		sub.cseq++
		sub.version++
		req, err := sub.notifyRequest(s.e, &notifyJob{state: sub.last,
			reason: "probation;retry-after=" + strconv.Itoa(shutdownRetryAfter)}, now)
		sub.mu.Unlock()
		s.remove(sub)
		if err != nil {
			continue
		}
		if sip.IsReliable(req.Transport()) {
			// Only over the phone's open connection: dialling a phone
			// that went away is no use now.
			if c, err := s.e.ua.TransportLayer().GetConnection(req.Transport(), req.Destination()); err != nil || c == nil {
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.e.client.Do(ctx, req); err != nil {
				s.log.Debug("shutdown NOTIFY unanswered", "subscriber", sub.subscriber, "error", err)
			}
		}()
	}
	wg.Wait()
}

// start runs the owner goroutine until ctx ends, counted in wg.
func (s *subscriptions) start(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.run(ctx)
	}()
}
