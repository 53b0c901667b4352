package pbx

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// location is the location service: the live contact bindings of every
// extension. Memory is the source of truth while running; changes are
// written behind to SQLite in batches, so a restart finds them: new and
// changed bindings and removals every flushInterval (durable within a
// second), plain refreshes (same phone, same address, later expiry) every
// refreshInterval, and everything on close. A crash can thus lose at most
// refreshInterval of expiry extensions, never a binding.
type location struct {
	st            *store.Store
	log           *slog.Logger
	maxContacts   int
	flushInterval time.Duration
	onChange      func() // called, without the lock, after bindings change

	mu        sync.RWMutex
	bindings  map[string][]*store.Registration // by extension, oldest first
	count     int
	upserts   map[store.RegistrationKey]store.Registration
	refreshes map[store.RegistrationKey]store.Registration
	removals  map[store.RegistrationKey]struct{}
}

// refreshInterval is how often plain refreshes are written.
const refreshInterval = 5 * time.Second

func newLocation(st *store.Store, log *slog.Logger, maxContacts int, flushInterval time.Duration) *location {
	return &location{
		st: st, log: log, maxContacts: maxContacts, flushInterval: flushInterval,
		bindings:  map[string][]*store.Registration{},
		upserts:   map[store.RegistrationKey]store.Registration{},
		refreshes: map[store.RegistrationKey]store.Registration{},
		removals:  map[store.RegistrationKey]struct{}{},
	}
}

// load fills the location service from the database (after a restart).
func (l *location) load(ctx context.Context, now time.Time) error {
	regs, err := l.st.LoadRegistrations(ctx, now)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range regs {
		r := regs[i]
		l.bindings[r.Extension] = append(l.bindings[r.Extension], &r)
		l.count++
	}
	return nil
}

// bindingUpdate is one Contact of a REGISTER.
type bindingUpdate struct {
	contact string
	expires time.Duration // 0 removes
}

// apply applies a REGISTER's contact updates for ext and returns the
// extension's bindings afterwards, and those of them the REGISTER made
// anew: a new contact, or one back with another Call-ID or from another
// address (a phone that rebooted or moved), not a plain refresh.
// removeAll handles "Contact: *".
func (l *location) apply(ext string, removeAll bool, updates []bindingUpdate, meta store.Registration, now time.Time) (bindings, fresh []store.Registration) {
	bindings, fresh = l.applyLocked(ext, removeAll, updates, meta, now)
	l.changed()
	return bindings, fresh
}

func (l *location) changed() {
	if l.onChange != nil {
		l.onChange()
	}
}

func (l *location) applyLocked(ext string, removeAll bool, updates []bindingUpdate, meta store.Registration, now time.Time) (out, fresh []store.Registration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.bindings[ext]
	if removeAll {
		for _, b := range list {
			l.markRemoved(b)
		}
		list = nil
	}
	for _, u := range updates {
		idx := -1
		for i, b := range list {
			if b.Contact == u.contact {
				idx = i
				break
			}
		}
		if u.expires <= 0 {
			if idx >= 0 {
				l.markRemoved(list[idx])
				list = append(list[:idx], list[idx+1:]...)
			}
			continue
		}
		refresh, isNew := false, true
		if idx >= 0 {
			old := list[idx]
			// An older, reordered REGISTER of the same registration must not
			// undo a newer one (RFC 3261 10.3 step 7).
			if old.CallID == meta.CallID && meta.CSeq < old.CSeq {
				continue
			}
			// Same phone at the same address: only the expiry moves (a new
			// Call-ID, as after a phone's reboot, changes nothing stored
			// that matters after a restart).
			refresh = old.Source == meta.Source && old.Transport == meta.Transport &&
				old.UserAgent == meta.UserAgent
			isNew = old.CallID != meta.CallID || old.Source != meta.Source || old.Transport != meta.Transport
			list = append(list[:idx], list[idx+1:]...)
		}
		b := meta
		b.Extension = ext
		b.Contact = u.contact
		b.ExpiresAt = now.Add(u.expires)
		b.UpdatedAt = now
		list = append(list, &b)
		if refresh {
			l.markRefreshed(&b)
		} else {
			l.markUpserted(&b)
		}
		if isNew {
			fresh = append(fresh, b)
		}
		// Too many phones on one extension: the oldest binding gives way.
		for len(list) > l.maxContacts {
			l.markRemoved(list[0])
			list = list[1:]
		}
	}
	l.count += len(list) - len(l.bindings[ext])
	if len(list) == 0 {
		delete(l.bindings, ext)
	} else {
		l.bindings[ext] = list
	}
	out = make([]store.Registration, len(list))
	for i, b := range list {
		out[i] = *b
	}
	return out, fresh
}

func (l *location) markUpserted(b *store.Registration) {
	k := store.RegistrationKey{Extension: b.Extension, Contact: b.Contact}
	delete(l.removals, k)
	delete(l.refreshes, k)
	l.upserts[k] = *b
}

// markRefreshed queues a plain refresh for the slow path, unless a change
// of the same binding is still waiting for the fast one.
func (l *location) markRefreshed(b *store.Registration) {
	k := store.RegistrationKey{Extension: b.Extension, Contact: b.Contact}
	if _, pending := l.upserts[k]; pending {
		l.upserts[k] = *b
		return
	}
	l.refreshes[k] = *b
}

func (l *location) markRemoved(b *store.Registration) {
	k := store.RegistrationKey{Extension: b.Extension, Contact: b.Contact}
	delete(l.upserts, k)
	delete(l.refreshes, k)
	l.removals[k] = struct{}{}
}

// lookup returns the live bindings of ext.
func (l *location) lookup(ext string, now time.Time) []store.Registration {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []store.Registration
	for _, b := range l.bindings[ext] {
		if b.ExpiresAt.After(now) {
			out = append(out, *b)
		}
	}
	return out
}

// all returns every live binding, sorted by extension then contact.
func (l *location) all(now time.Time) []store.Registration {
	l.mu.RLock()
	out := make([]store.Registration, 0, l.count)
	for _, list := range l.bindings {
		for _, b := range list {
			if b.ExpiresAt.After(now) {
				out = append(out, *b)
			}
		}
	}
	l.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Extension != out[j].Extension {
			return out[i].Extension < out[j].Extension
		}
		return out[i].Contact < out[j].Contact
	})
	return out
}

// size returns the number of bindings held.
func (l *location) size() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.count
}

// expire removes bindings whose time is up.
func (l *location) expire(now time.Time) int {
	n := l.expireLocked(now)
	if n > 0 {
		l.changed()
	}
	return n
}

func (l *location) expireLocked(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for ext, list := range l.bindings {
		kept := list[:0]
		for _, b := range list {
			if b.ExpiresAt.After(now) {
				kept = append(kept, b)
			} else {
				l.markRemoved(b)
				n++
			}
		}
		if len(kept) == 0 {
			delete(l.bindings, ext)
		} else {
			l.bindings[ext] = kept
		}
	}
	l.count -= n
	return n
}

// dropExtension forgets every binding of a deleted extension.
func (l *location) dropExtension(ext string) {
	l.mu.Lock()
	for _, b := range l.bindings[ext] {
		l.markRemoved(b)
	}
	l.count -= len(l.bindings[ext])
	delete(l.bindings, ext)
	l.mu.Unlock()
	l.changed()
}

// flush writes pending changes in one transaction, with the plain
// refreshes too when withRefreshes. On failure the changes are put back so
// the next flush retries them.
func (l *location) flush(ctx context.Context, withRefreshes bool) error {
	l.mu.Lock()
	if len(l.upserts) == 0 && len(l.removals) == 0 && (!withRefreshes || len(l.refreshes) == 0) {
		l.mu.Unlock()
		return nil
	}
	ups, rms := l.upserts, l.removals
	l.upserts = make(map[store.RegistrationKey]store.Registration, len(ups))
	l.removals = make(map[store.RegistrationKey]struct{}, len(rms))
	if withRefreshes {
		for k, r := range l.refreshes {
			ups[k] = r
		}
		clear(l.refreshes)
	}
	l.mu.Unlock()

	upList := make([]store.Registration, 0, len(ups))
	for _, r := range ups {
		upList = append(upList, r)
	}
	rmList := make([]store.RegistrationKey, 0, len(rms))
	for k := range rms {
		rmList = append(rmList, k)
	}
	err := l.st.SaveRegistrations(ctx, upList, rmList)
	if err != nil {
		l.mu.Lock()
		for k, r := range ups {
			_, newer := l.upserts[k]
			_, gone := l.removals[k]
			_, refreshed := l.refreshes[k]
			if !newer && !gone && !refreshed {
				l.upserts[k] = r
			}
		}
		for k := range rms {
			if _, newer := l.upserts[k]; !newer {
				l.removals[k] = struct{}{}
			}
		}
		l.mu.Unlock()
	}
	return err
}

// run expires bindings every second and flushes every flushInterval until
// ctx ends; then it flushes everything once more.
func (l *location) run(ctx context.Context) {
	flush := time.NewTicker(l.flushInterval)
	defer flush.Stop()
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	lastRefresh := time.Now()
	for {
		select {
		case <-ctx.Done():
			if err := l.flush(context.WithoutCancel(ctx), true); err != nil {
				l.log.Error("final registration flush failed", "error", err)
			}
			return
		case now := <-sweep.C:
			if n := l.expire(now); n > 0 {
				l.log.Debug("registrations expired", "count", n)
			}
		case now := <-flush.C:
			withRefreshes := now.Sub(lastRefresh) >= refreshInterval
			if withRefreshes {
				lastRefresh = now
			}
			if err := l.flush(ctx, withRefreshes); err != nil {
				l.log.Error("registration flush failed; will retry", "error", err)
			}
		}
	}
}
