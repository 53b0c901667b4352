package pbx

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// mailboxes is the notifier's view of the voicemail boxes (message
// waiting indication). Counts are read from the store when a box is first
// needed and kept until it changes (the store's "voicemail" change), so
// calls and registrations cost no query: most boxes are empty, and most
// phones' boxes are known. Besides the message-summary subscriptions it
// feeds, it sends unsolicited MWI: many desk phones never subscribe and
// expect an out-of-dialog NOTIFY at the contact they registered, as
// Asterisk sends them.
type mailboxes struct {
	mu      sync.Mutex
	counts  map[string]mailboxCounts // cached, by box
	gen     uint64                   // counts changes: a read older than one is not cached
	stale   map[string]staleBox      // boxes changed since the notifier last looked
	fresh   []store.Registration     // bindings registered anew, owed their box's counts
	senders map[store.RegistrationKey]*mwiSender
}

// staleBox is a changed box and the counts cached before the change.
type staleBox struct {
	old mailboxCounts
	had bool
}

func newMailboxes() *mailboxes {
	return &mailboxes{counts: map[string]mailboxCounts{}, stale: map[string]staleBox{},
		senders: map[store.RegistrationKey]*mwiSender{}}
}

// changed drops box's cached counts (the store changed them, or the
// extension went) and marks it for the notifier.
func (m *mailboxes) changed(box string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	if _, ok := m.stale[box]; !ok {
		old, had := m.counts[box]
		m.stale[box] = staleBox{old: old, had: had}
	}
	delete(m.counts, box)
}

// cached returns box's counts if they are known.
func (m *mailboxes) cached(box string) (mailboxCounts, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.counts[box]
	return c, ok
}

// registered queues the bindings a REGISTER made anew.
func (m *mailboxes) registered(bs []store.Registration) {
	m.mu.Lock()
	m.fresh = append(m.fresh, bs...)
	m.mu.Unlock()
}

// take returns and clears the pending work.
func (m *mailboxes) take() (map[string]staleBox, []store.Registration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var stale map[string]staleBox
	if len(m.stale) > 0 {
		stale, m.stale = m.stale, map[string]staleBox{}
	}
	fresh := m.fresh
	m.fresh = nil
	return stale, fresh
}

// mwiSender sends the unsolicited NOTIFYs of one binding one at a time;
// a newer count replaces one not yet sent.
type mwiSender struct {
	sending bool
	pending *mwiJob
}

type mwiJob struct {
	binding store.Registration
	counts  mailboxCounts
	// onRegister: the binding registered anew; the sender finds the
	// counts itself (see mwiOnRegister), so a query, if one is needed,
	// does not hold up the notifier goroutine.
	onRegister bool
}

// boxCounts returns the counts of box, from the cache or the store.
func (s *subscriptions) boxCounts(ctx context.Context, box string) (mailboxCounts, error) {
	m := s.boxes
	m.mu.Lock()
	c, ok := m.counts[box]
	gen := m.gen
	m.mu.Unlock()
	if ok {
		return c, nil
	}
	vc, err := s.e.cfg.Store.VoicemailCounts(ctx, box)
	if err != nil {
		return mailboxCounts{}, err
	}
	c = mailboxCounts{new: vc.New, old: vc.Old}
	m.mu.Lock()
	if m.gen == gen { // else a change may have come after the read
		m.counts[box] = c
	}
	m.mu.Unlock()
	return c, nil
}

// syncMailboxes rereads the boxes that changed and sends unsolicited MWI
// to the phones of a box whose counts moved, and queues the check of
// phones that registered anew (see mwiOnRegister). Phones with a
// message-summary subscription of their box learn through it instead.
// It runs on the notifier goroutine, before the subscriptions' states
// are derived, so those see the new counts.
func (s *subscriptions) syncMailboxes(ctx context.Context, subs []*subscription, now time.Time) {
	stale, fresh := s.boxes.take()
	for box, was := range stale {
		binds := s.e.loc.lookup(box, now)
		if len(binds) == 0 && !watched(subs, box) {
			continue // read when first needed
		}
		c, err := s.boxCounts(ctx, box)
		if err != nil {
			s.log.Error("voicemail counts unavailable", "mailbox", box, "error", err)
			continue
		}
		if was.had && c == was.old {
			continue
		}
		for _, b := range binds {
			if !covered(subs, b) {
				s.sendMWI(ctx, &mwiJob{binding: b, counts: c})
			}
		}
	}
	for _, b := range fresh {
		if c, ok := s.boxes.cached(b.Extension); ok && c == (mailboxCounts{}) {
			continue // an empty box: nothing to tell (see mwiOnRegister)
		}
		s.sendMWI(ctx, &mwiJob{binding: b, onRegister: true})
	}
}

// mwiOnRegister decides, on the binding's sender, what a phone that
// registered anew is told: its box's counts, when the extension has
// voicemail and the box holds messages (new or old). A phone's lamp
// starts off after a reboot, so an empty box needs no NOTIFY; nor does
// a phone that subscribed to its box meanwhile.
func (s *subscriptions) mwiOnRegister(ctx context.Context, b store.Registration) (mailboxCounts, bool) {
	ext, err := s.e.exts.get(ctx, b.Extension)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Debug("MWI on registration skipped", "extension", b.Extension, "error", err)
		}
		return mailboxCounts{}, false
	}
	if !ext.Voicemail.Enabled || covered(s.list(), b) {
		return mailboxCounts{}, false
	}
	c, err := s.boxCounts(ctx, b.Extension)
	if err != nil {
		s.log.Debug("MWI on registration skipped", "extension", b.Extension, "error", err)
		return mailboxCounts{}, false
	}
	return c, c != mailboxCounts{}
}

// watched reports whether a live mailbox subscription watches box.
func watched(subs []*subscription, box string) bool {
	for _, sub := range subs {
		if sub.pkg.mailbox && sub.target == box {
			return true
		}
	}
	return false
}

// covered reports whether binding b has a live message-summary
// subscription of its box: one that came from the address it registered
// from, or that named its contact.
func covered(subs []*subscription, b store.Registration) bool {
	for _, sub := range subs {
		if !sub.pkg.mailbox || sub.target != b.Extension {
			continue
		}
		sub.mu.Lock()
		live := !sub.dead && !sub.final
		same := sub.source == b.Source || sub.remoteTarget.String() == b.Contact
		sub.mu.Unlock()
		if live && same {
			return true
		}
	}
	return false
}

// sendMWI queues an unsolicited NOTIFY for a binding. One sender per
// binding keeps them in order; a newer job replaces one not yet sent.
func (s *subscriptions) sendMWI(ctx context.Context, job *mwiJob) {
	k := store.RegistrationKey{Extension: job.binding.Extension, Contact: job.binding.Contact}
	m := s.boxes
	m.mu.Lock()
	snd := m.senders[k]
	if snd == nil {
		snd = &mwiSender{}
		m.senders[k] = snd
	}
	if p := snd.pending; p != nil && !p.onRegister && job.onRegister {
		// The counts waiting are the latest, and tell an empty box too:
		// keep them, for the address the phone registered from now.
		p.binding = job.binding
	} else {
		snd.pending = job
	}
	if snd.sending {
		m.mu.Unlock()
		return
	}
	snd.sending = true
	m.mu.Unlock()
	s.senders.Add(1)
	go func() {
		defer s.senders.Done()
		for s.sendMWINext(ctx, k, snd) {
		}
	}()
}

// sendMWINext sends the pending NOTIFY of snd, if any, and reports
// whether to look for another. A failure is logged and not retried: the
// next change, or the phone's next fresh registration, tells it again.
func (s *subscriptions) sendMWINext(ctx context.Context, k store.RegistrationKey, snd *mwiSender) bool {
	m := s.boxes
	m.mu.Lock()
	job := snd.pending
	snd.pending = nil
	if job == nil || ctx.Err() != nil {
		snd.sending = false
		if m.senders[k] == snd {
			delete(m.senders, k)
		}
		m.mu.Unlock()
		return false
	}
	m.mu.Unlock()
	if job.onRegister {
		var send bool
		if job.counts, send = s.mwiOnRegister(ctx, job.binding); !send {
			return true
		}
	}
	req, err := s.e.unsolicitedMWI(job.binding, job.counts)
	if err != nil {
		s.log.Debug("unsolicited MWI not sent", "extension", k.Extension, "contact", k.Contact, "error", err)
		return true
	}
	res, err := s.e.client.Do(ctx, req)
	switch {
	case err != nil:
		s.log.Debug("unsolicited MWI failed", "extension", k.Extension, "source", job.binding.Source, "error", err)
	case res == nil:
		s.log.Debug("unsolicited MWI failed", "extension", k.Extension, "source", job.binding.Source, "error", errNoNotifyResponse)
	case res.StatusCode >= 300:
		s.log.Debug("unsolicited MWI refused", "extension", k.Extension, "source", job.binding.Source, "status", res.StatusCode)
	}
	return true
}

// unsolicitedMWI builds an out-of-dialog NOTIFY (no subscription) with a
// box's counts for one of its phones: to the Contact it registered,
// through the address and transport it registered from.
func (e *Engine) unsolicitedMWI(b store.Registration, c mailboxCounts) (*sip.Request, error) {
	req, err := e.newRequestTo(sip.NOTIFY, b)
	if err != nil {
		return nil, err
	}
	ct := e.contact(req.Transport())
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Event", "message-summary"))
	req.AppendHeader(sip.NewHeader("Subscription-State", "active"))
	req.AppendHeader(sip.NewHeader("Content-Type", contentTypeMessageSummary))
	req.SetBody(buildMessageSummary("sip:"+b.Extension+"@"+e.cfg.ExternalIP, c))
	return req, nil
}
