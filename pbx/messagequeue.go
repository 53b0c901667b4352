package pbx

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// The stored side of messaging: which recipients have messages waiting,
// which of their phones have been offered them, and the owner goroutine
// that delivers them when phones register.

// mailbox is the delivery state of one recipient with stored messages.
type mailbox struct {
	// tried holds the bindings that have been offered the stored messages
	// since their last REGISTER: they are tried again only when they
	// register again (or a new message arrives).
	tried map[bindingKey]struct{}
	// gen counts messages stored for the recipient: a flush that sees it
	// change knows a message came meanwhile.
	gen  uint64
	busy bool // a flush is running
}

// bindingKey identifies one REGISTER of one phone: a refresh makes a new key.
type bindingKey struct {
	contact, source string
	updated         int64
}

func keyOf(b store.Registration) bindingKey {
	return bindingKey{contact: b.Contact, source: b.Source, updated: b.UpdatedAt.UnixNano()}
}

func (m *messenger) hasPending(rcpt string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.pending[rcpt]
	return ok
}

// markPending records that rcpt has a newly stored message, which the
// bindings in tried have just refused. retryAll makes every binding
// eligible again (a message queued behind older ones). It wakes run.
func (m *messenger) markPending(rcpt string, tried []bindingKey, retryAll bool) {
	m.mu.Lock()
	mb := m.mailbox(rcpt)
	mb.gen++
	if retryAll {
		clear(mb.tried)
	}
	for _, k := range tried {
		mb.tried[k] = struct{}{}
	}
	m.mu.Unlock()
	m.wake()
}

// mailbox returns rcpt's mailbox, creating it. m.mu must be held.
func (m *messenger) mailbox(rcpt string) *mailbox {
	mb := m.pending[rcpt]
	if mb == nil {
		mb = &mailbox{tried: map[bindingKey]struct{}{}}
		m.pending[rcpt] = mb
	}
	return mb
}

func (m *messenger) wake() {
	select {
	case m.kick <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// start runs run on a goroutine that wg tracks.
func (m *messenger) start(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.run(ctx)
	}()
}

// run is the owner of stored-message delivery until ctx ends: it finds the
// recipients with stored messages, and whenever registrations change it
// delivers to the phones that registered since they were last tried. It
// expires old messages every messageSweep.
func (m *messenger) run(ctx context.Context) {
	regs, unsubscribe := m.e.regWatch.subscribe()
	defer unsubscribe()
	defer m.wg.Wait() // flushes end with ctx
	m.sweep(ctx)
	sweep := time.NewTicker(messageSweep)
	defer sweep.Stop()
	for {
		m.dispatch(ctx)
		select {
		case <-ctx.Done():
			return
		case <-regs:
		case <-m.kick:
		case <-sweep.C:
			m.sweep(ctx)
		}
	}
}

// sweep deletes expired messages and brings the set of recipients with
// stored messages in line with the database.
func (m *messenger) sweep(ctx context.Context) {
	st := m.e.cfg.Store
	cutoff := time.Now().Add(-messageTTL)
	if n, err := st.DeleteExpiredMessages(ctx, cutoff); err != nil {
		m.log.Error("deleting expired messages failed", "error", err)
	} else if n > 0 {
		m.log.Info("undelivered messages expired", "count", n, "ttl", messageTTL)
	}
	m.mu.Lock()
	gens := make(map[string]uint64, len(m.pending))
	for r, mb := range m.pending {
		gens[r] = mb.gen
	}
	m.mu.Unlock()
	rcpts, err := st.MessageRecipients(ctx, cutoff)
	if err != nil {
		m.log.Error("reading message recipients failed", "error", err)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	has := make(map[string]bool, len(rcpts))
	for _, r := range rcpts {
		has[r] = true
		m.mailbox(r)
	}
	// Mailboxes emptied behind our back (expiry, a deleted extension) go,
	// unless a message came in since the database was read.
	for r, mb := range m.pending {
		if g, seen := gens[r]; !has[r] && !mb.busy && seen && g == mb.gen {
			delete(m.pending, r)
		}
	}
}

// dispatch starts a flush for every recipient with stored messages and a
// phone registered since it was last tried.
func (m *messenger) dispatch(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for rcpt, mb := range m.pending {
		if mb.busy {
			continue
		}
		fresh := m.untried(rcpt, mb, now)
		if len(fresh) == 0 {
			continue
		}
		mb.busy = true
		gen := mb.gen
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.flush(ctx, rcpt, fresh, gen)
		}()
	}
}

// untried returns rcpt's bindings that have not been offered its stored
// messages since they last registered. m.mu must be held.
func (m *messenger) untried(rcpt string, mb *mailbox, now time.Time) []store.Registration {
	var fresh []store.Registration
	for _, b := range m.e.loc.lookup(rcpt, now) {
		if _, done := mb.tried[keyOf(b)]; !done {
			fresh = append(fresh, b)
		}
	}
	return fresh
}

// flush delivers rcpt's stored messages, oldest first, to the phones in
// binds, deleting each once a phone takes it. A phone that does not answer
// at all gets no later message this time, so no phone sees them out of
// order by our doing; a message nobody takes stays for the next REGISTER.
func (m *messenger) flush(ctx context.Context, rcpt string, binds []store.Registration, gen uint64) {
	st := m.e.cfg.Store
	alive := binds
	since := time.Now().Add(-messageTTL)
	delivered, kept := 0, 0
	after := int64(0)
	for len(alive) > 0 && ctx.Err() == nil {
		batch, err := st.PendingMessages(ctx, rcpt, after, since, messageBatch)
		if err != nil {
			m.log.Error("reading stored messages failed", "to", rcpt, "error", err)
			break
		}
		if len(batch) == 0 {
			break
		}
		for _, msg := range batch {
			if len(alive) == 0 || ctx.Err() != nil {
				break
			}
			after = msg.ID
			tryCtx, cancel := context.WithTimeout(ctx, messageRetryWait)
			results := m.sendAll(tryCtx, msg, alive)
			ok := false
			var reachable []store.Registration
			for range alive {
				r := <-results
				ok = ok || r.code/100 == 2
				if r.code != 0 { // it answered, if only to refuse this one
					reachable = append(reachable, r.b)
				}
			}
			cancel()
			if ctx.Err() != nil {
				break // shutting down: neither delivered nor attempted for certain
			}
			alive = reachable
			if ok {
				delivered++
				if err := st.DeleteMessage(ctx, msg.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					m.log.Error("deleting delivered message failed", "id", msg.ID, "error", err)
				}
			} else {
				kept++
				if err := st.MessageAttempted(ctx, msg.ID, time.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
					m.log.Error("counting message attempt failed", "id", msg.ID, "error", err)
				}
			}
		}
	}
	if delivered > 0 || kept > 0 {
		m.log.Info("stored messages delivered on registration", "to", rcpt, "delivered", delivered,
			"kept", kept, "phones", len(binds))
	}
	m.finish(ctx, rcpt, binds, gen)
}

// finish ends a flush: the bindings count as tried unless a message came
// meanwhile, and the mailbox goes when nothing is left in it.
func (m *messenger) finish(ctx context.Context, rcpt string, binds []store.Registration, gen uint64) {
	defer m.wake() // changes during the flush were skipped by dispatch
	m.mu.Lock()
	before := m.pending[rcpt].gen
	m.mu.Unlock()
	left, err := m.e.cfg.Store.PendingMessages(ctx, rcpt, 0, time.Now().Add(-messageTTL), 1)
	m.mu.Lock()
	defer m.mu.Unlock()
	mb := m.pending[rcpt]
	mb.busy = false
	if ctx.Err() != nil {
		return
	}
	if mb.gen == gen {
		for _, b := range binds {
			mb.tried[keyOf(b)] = struct{}{}
		}
	}
	// Forget REGISTERs that have been superseded, so a phone refreshing
	// for days does not grow the set.
	live := map[bindingKey]bool{}
	for _, b := range m.e.loc.lookup(rcpt, time.Now()) {
		live[keyOf(b)] = true
	}
	for k := range mb.tried {
		if !live[k] {
			delete(mb.tried, k)
		}
	}
	if err == nil && len(left) == 0 && mb.gen == before {
		delete(m.pending, rcpt)
	}
}
