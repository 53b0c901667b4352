package pbx

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// Reasons the guard drops a packet: the label of pbx_sip_dropped_total.
const (
	dropBlocked = iota // the source is blocked (auth failures, scanner)
	dropScanner        // the User-Agent is a known scanner's
	dropRate           // the source sent faster than its token bucket allows
	dropReasons
)

var dropReasonNames = [dropReasons]string{"blocked", "scanner", "rate"}

// errGuardDrop closes a TCP or TLS connection whose data the guard refuses:
// a stream cannot lose a piece and stay in sync.
var errGuardDrop = errors.New("dropped by the SIP guard")

// guard sits in front of the SIP stack, on the transport's read path: it
// sees every datagram (and every read of a stream) before the parser does,
// and drops, without any answer, what comes from a blocked source, from a
// known scanner, or from a source sending faster than its rate limit.
// Silence is the point: a scanner that gets no answer cannot tell a PBX is
// there, and a flood costs a map lookup per packet instead of a parse and
// a transaction. Allow-listed sources skip the block and the rate limit.
type guard struct {
	block *blocker
	log   *slog.Logger
	now   func() time.Time

	cfg     atomic.Pointer[guardConfig]
	dropped [dropReasons]atomic.Uint64

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

// guardConfig is SIPSecurity parsed for the read path.
type guardConfig struct {
	allow    []netip.Prefix
	scanners [][]byte // lower case
	rate     float64  // tokens a second; 0: no limit
	burst    float64
}

// bucket is one source's token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

func newGuard(b *blocker, log *slog.Logger) *guard {
	g := &guard{block: b, log: log, now: time.Now, buckets: map[netip.Addr]*bucket{}}
	g.set(store.DefaultSIPSecurity())
	b.exempt = func(ip string) bool {
		a, err := netip.ParseAddr(ip)
		return err == nil && g.allowed(a.Unmap())
	}
	return g
}

// load reads the settings from the store; on a broken row the guard keeps
// what it has and says so.
func (g *guard) load(ctx context.Context, st *store.Store) {
	cfg, err := st.SIPSecurity(ctx)
	if err != nil {
		g.log.Error("SIP security settings unreadable; keeping the previous ones", "error", err)
		return
	}
	g.set(cfg)
}

// set puts new settings in force; entries that do not parse are skipped
// (the API refuses them, so only a hand-edited database has them).
func (g *guard) set(s store.SIPSecurity) {
	c := &guardConfig{rate: float64(s.RatePerSecond), burst: float64(s.RateBurst)}
	if c.burst < c.rate {
		c.burst = c.rate
	}
	for _, a := range s.Allow {
		if p, err := store.ParseAllowCIDR(a.CIDR); err == nil {
			c.allow = append(c.allow, p)
		}
	}
	for _, ua := range s.ScannerUserAgents {
		if ua = strings.TrimSpace(ua); ua != "" {
			c.scanners = append(c.scanners, []byte(strings.ToLower(ua)))
		}
	}
	g.cfg.Store(c)
	g.mu.Lock()
	clear(g.buckets) // a new rate starts every source afresh
	g.mu.Unlock()
}

// allowed reports whether a is on the allow-list.
func (g *guard) allowed(a netip.Addr) bool {
	for _, p := range g.cfg.Load().allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// filter is the transport layer's read filter (sip.TransportReadFilter):
// nil data drops a datagram, an error closes a stream.
func (g *guard) filter(props sip.TransportReadProps, data []byte) ([]byte, error) {
	a := remoteAddr(props.RemoteAddr)
	stream := props.Transport != "UDP" && props.Transport != "udp"
	reason := g.check(a, data)
	if reason < 0 {
		return data, nil
	}
	g.dropped[reason].Add(1)
	if stream {
		return nil, errGuardDrop
	}
	return nil, nil
}

// check returns why the packet from a must be dropped, or -1 to let it in.
func (g *guard) check(a netip.Addr, data []byte) int {
	cfg := g.cfg.Load()
	if !a.IsValid() {
		return -1 // not an IP transport: nothing to key on
	}
	now := g.now()
	allowed := false
	for _, p := range cfg.allow {
		if p.Contains(a) {
			allowed = true
			break
		}
	}
	if !allowed && g.block.blocked(a.String(), now) {
		return dropBlocked
	}
	if len(cfg.scanners) > 0 && scannerAgent(data, cfg.scanners) {
		if g.block.blockNow(a.String(), blockScanner, now) {
			g.log.Warn("SIP scanner blocked", "source", a.String())
		}
		return dropScanner
	}
	if !allowed && cfg.rate > 0 && !g.take(a, cfg, now) {
		return dropRate
	}
	return -1
}

// take spends one token of a's bucket; false when it is empty.
func (g *guard) take(a netip.Addr, cfg *guardConfig, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.buckets[a]
	if b == nil {
		if len(g.buckets) >= maxTrackedSources {
			g.pruneBuckets(cfg, now)
		}
		b = &bucket{tokens: cfg.burst, last: now}
		g.buckets[a] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(cfg.burst, b.tokens+dt*cfg.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// pruneBuckets forgets the buckets that have refilled (their sources have
// been quiet); g.mu is held.
func (g *guard) pruneBuckets(cfg *guardConfig, now time.Time) {
	for a, b := range g.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*cfg.rate >= cfg.burst {
			delete(g.buckets, a)
		}
	}
}

// remoteAddr is the IP of a transport's remote address (invalid for none).
func remoteAddr(ra net.Addr) netip.Addr {
	switch a := ra.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case nil:
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(ra.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

var userAgentName = []byte("user-agent")

// scannerAgent reports whether the header section of data has a
// User-Agent whose value contains one of scanners (lower case), ignoring
// case. It reads the raw bytes: no parse, no allocation.
func scannerAgent(data []byte, scanners [][]byte) bool {
	if end := bytes.Index(data, []byte("\r\n\r\n")); end >= 0 {
		data = data[:end]
	}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) <= len(userAgentName) || !bytes.EqualFold(line[:len(userAgentName)], userAgentName) {
			continue
		}
		rest := bytes.TrimLeft(line[len(userAgentName):], " \t")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		if containsFold(rest[1:], scanners) {
			return true
		}
	}
	return false
}

// containsFold reports whether any of needles (lower case) is in s,
// ignoring ASCII case.
func containsFold(s []byte, needles [][]byte) bool {
	for _, n := range needles {
		if len(n) == 0 || len(n) > len(s) {
			continue
		}
	outer:
		for i := 0; i+len(n) <= len(s); i++ {
			for j := 0; j < len(n); j++ {
				c := s[i+j]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				if c != n[j] {
					continue outer
				}
			}
			return true
		}
	}
	return false
}

// blockedSources lists the sources blocked now.
func (g *guard) blockedSources() []store.BlockedSource { return g.block.list(g.now()) }

// quietDrops keeps the SIP stack's "Read filter error" records (one per
// stream the guard closes, counted in pbx_sip_dropped_total already) out of
// the log: a flood must not fill it.
type quietDrops struct{ slog.Handler }

func (h quietDrops) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "Read filter error" {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietDrops) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietDrops{h.Handler.WithAttrs(attrs)}
}

func (h quietDrops) WithGroup(name string) slog.Handler { return quietDrops{h.Handler.WithGroup(name)} }

// BlockedSources lists the SIP sources blocked now (auth failures, scanners).
func (e *Engine) BlockedSources() []store.BlockedSource { return e.guard.blockedSources() }

// Unblock lifts the block of a source IP; false when it was not blocked.
func (e *Engine) Unblock(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	return e.block.unblock(a.Unmap().String(), time.Now())
}
