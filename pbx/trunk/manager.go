package trunk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// Config configures a Manager. Zero durations take the defaults noted.
type Config struct {
	// Client sends the REGISTERs (the engine's SIP client).
	Client *sipgo.Client
	// Contact is the PBX's Contact URI for a transport ("udp", "tcp",
	// "tls"); the manager sets its user.
	Contact func(transport string) sip.Uri
	// UserAgent is the User-Agent header value.
	UserAgent string
	Log       *slog.Logger
	// Backoff after failed REGISTERs. Default 2 s doubling to 5 min.
	Backoff Backoff
	// Timeout bounds one REGISTER (challenge included). Default 10 s.
	Timeout time.Duration
	// UnregisterTimeout bounds the REGISTER with expires 0 when a trunk
	// is removed or the PBX stops. Default 2 s.
	UnregisterTimeout time.Duration
	// Resolve looks up a trunk host's addresses; default: the system
	// resolver (an IP address needs no lookup).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Manager keeps every registering trunk registered and knows which
// trunk a request's source belongs to. Sync hands it the configured
// trunks; it starts, restarts and stops registrations to match.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	regs     map[string]*registration
	trunks   map[string]store.Trunk
	statuses map[string]Status
	matcher  atomic.Pointer[Matcher]
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
	calls    CallCounter
}

// NewManager creates a manager; nothing registers before Sync.
func NewManager(cfg Config) *Manager {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Backoff.Min <= 0 {
		cfg.Backoff.Min = 2 * time.Second
	}
	if cfg.Backoff.Max < cfg.Backoff.Min {
		cfg.Backoff.Max = max(5*time.Minute, cfg.Backoff.Min)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.UnregisterTimeout <= 0 {
		cfg.UnregisterTimeout = 2 * time.Second
	}
	if cfg.Resolve == nil {
		cfg.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	m := &Manager{cfg: cfg, log: cfg.Log, regs: map[string]*registration{}, trunks: map[string]store.Trunk{},
		statuses: map[string]Status{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.matcher.Store(&Matcher{})
	return m
}

// ContactUser is the user part of the Contact a trunk registers: its
// username, or "pbx-NAME" when it has none.
func (m *Manager) ContactUser(t store.Trunk) string {
	if t.Username != "" {
		return t.Username
	}
	return "pbx-" + t.Name
}

// Sync makes the running registrations and the matcher follow trunks
// (all configured trunks): new registering trunks start, changed ones
// restart, removed ones unregister.
func (m *Manager) Sync(trunks []store.Trunk) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	want := map[string]store.Trunk{}
	for _, t := range trunks {
		want[t.Name] = t
	}
	var stop []*registration
	for name, r := range m.regs {
		t, ok := want[name]
		if !ok || !t.Register || !sameRegistration(r.t, t) {
			stop = append(stop, r)
			delete(m.regs, name)
		}
	}
	for name := range m.statuses {
		if _, ok := want[name]; !ok {
			delete(m.statuses, name)
		}
	}
	for name, t := range want {
		st := m.statuses[name]
		st.Register = t.Register
		if !t.Register {
			st = Status{State: StateUnregistered}
		}
		if _, running := m.regs[name]; t.Register && !running {
			st = Status{State: StateUnregistered, Register: true, NextRetry: time.Now()}
			r := m.newRegistration(t)
			var ctx context.Context
			ctx, r.cancel = context.WithCancel(m.ctx)
			m.regs[name] = r
			go r.run(ctx)
		}
		m.statuses[name] = st
	}
	m.trunks = want
	m.mu.Unlock()
	for _, r := range stop {
		go r.stop()
	}
	m.matcher.Store(m.buildMatcher(trunks))
}

// sameRegistration reports whether a running registration for a may go
// on unchanged for b.
func sameRegistration(a, b store.Trunk) bool {
	return a.Host == b.Host && a.Port == b.Port && a.Transport == b.Transport && a.Username == b.Username &&
		a.Secret == b.Secret && a.ExpiresSeconds == b.ExpiresSeconds && a.Register == b.Register
}

// buildMatcher lists every trunk's sources: a registering trunk's host
// (its resolved addresses, at its port) and every trunk's match entries.
func (m *Manager) buildMatcher(trunks []store.Trunk) *Matcher {
	mt := &Matcher{}
	for _, t := range trunks {
		if t.Register {
			ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
			addrs, err := m.resolve(ctx, t.Host)
			cancel()
			if err != nil {
				m.log.Warn("trunk host does not resolve; its calls will not be recognised", "trunk", t.Name, "host", t.Host, "error", err)
			}
			for _, a := range addrs {
				a = a.Unmap()
				mt.Add(t.Name, Source{Prefix: netip.PrefixFrom(a, a.BitLen()), Port: uint16(t.Port)})
			}
		}
		for _, s := range t.Match {
			src, err := ParseMatch(s)
			if err != nil {
				m.log.Warn("trunk match entry ignored", "trunk", t.Name, "error", err)
				continue
			}
			mt.Add(t.Name, src)
		}
	}
	return mt
}

func (m *Manager) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	return m.cfg.Resolve(ctx, host)
}

// Match returns the trunk a request from src belongs to.
func (m *Manager) Match(src netip.AddrPort) (store.Trunk, bool) {
	name, ok := m.matcher.Load().Match(src)
	if !ok {
		return store.Trunk{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.trunks[name]
	return t, ok
}

// Trunk returns the configured trunk of that name (as last synced).
func (m *Manager) Trunk(name string) (store.Trunk, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.trunks[name]
	return t, ok
}

// CountCall records a call through trunk name in direction (Inbound or
// Outbound) for the metrics.
func (m *Manager) CountCall(name, direction string) {
	m.calls.Count(name, direction, time.Now())
}

// CallHours returns the trunk calls of the last hour and of the hour
// before (see CallCounter).
func (m *Manager) CallHours() (last, previous uint64) { return m.calls.Hours(time.Now()) }

// Status returns a trunk's live status; false if no such trunk is known.
func (m *Manager) Status(name string) (Status, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.statuses[name]
	return s, ok
}

func (m *Manager) setStatus(r *registration, fn func(*Status)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := r.t.Name
	if m.regs[name] != r {
		return // removed or restarted meanwhile
	}
	s := m.statuses[name]
	fn(&s)
	m.statuses[name] = s
}

// WriteMetrics writes pbx_trunk_registered{trunk="NAME"}: 1 while a
// registering trunk is registered, else 0; and the trunk call counters
// (CallCounter.WriteMetrics).
func (m *Manager) WriteMetrics(w io.Writer) {
	m.mu.Lock()
	names := make([]string, 0, len(m.statuses))
	for name, s := range m.statuses {
		if s.Register {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	vals := make([]int, len(names))
	for i, n := range names {
		if m.statuses[n].State == StateRegistered {
			vals[i] = 1
		}
	}
	m.mu.Unlock()
	fmt.Fprintf(w, "# HELP pbx_trunk_registered Whether a registering trunk is registered to its provider (1) or not (0).\n# TYPE pbx_trunk_registered gauge\n")
	for i, n := range names {
		fmt.Fprintf(w, "pbx_trunk_registered{trunk=%q} %d\n", n, vals[i])
	}
	m.calls.WriteMetrics(w, time.Now())
}

// Close unregisters every trunk (bounded by UnregisterTimeout) and stops.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	regs := m.regs
	m.regs = map[string]*registration{}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stop()
		}()
	}
	wg.Wait()
	m.cancel()
}
