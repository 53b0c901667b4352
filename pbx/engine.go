// Package pbx is the call engine: the SIP server (sipgo), registrar and
// location service, digest authentication, the B2BUA (calls of two or more
// dialogs with media through the relay of package media, CDRs), and (with
// later issues) in-call features, subscriptions, messaging and trunks.
package pbx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/store"
	"github.com/officepbx/pbx/pbx/trunk"
)

// Config configures the SIP engine. Zero values take the defaults noted.
type Config struct {
	Store *store.Store
	Log   *slog.Logger
	// Realm is the digest realm phones authenticate in. Default "pbx".
	Realm string
	// UserAgent is the Server/User-Agent header value.
	UserAgent string
	// ExternalIP is the address the PBX puts in From/Via/Contact of the
	// requests it sends. Default 127.0.0.1.
	ExternalIP string
	// MinExpires, MaxExpires, DefaultExpires bound registrations.
	// Defaults 60 s, 3600 s, 3600 s.
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// MaxContacts is how many phones may register one extension. Default 10.
	MaxContacts int
	// NonceTTL is how long a digest nonce stays good. Default 30 s (as
	// Asterisk); a phone using an older one is told stale=true and retries.
	NonceTTL time.Duration
	// AuthFailLimit failures within AuthFailWindow block the source IP for
	// AuthBlock. Defaults 10, 5 min, 10 min. A negative limit disables blocking.
	AuthFailLimit  int
	AuthFailWindow time.Duration
	AuthBlock      time.Duration
	// FlushInterval is how often registration changes are written to the
	// database. Default 200 ms.
	FlushInterval time.Duration

	// RTPPortMin and RTPPortMax bound the UDP ports of call media.
	// Default 10000-20000.
	RTPPortMin, RTPPortMax int
	// RTPBindIP is the address media sockets bind to. Default ExternalIP;
	// set it (e.g. to 0.0.0.0's interface address) when ExternalIP is a
	// NAT's public address that is not local.
	RTPBindIP string
	// MediaTimeout hangs up a call whose RTP stops on either leg for this
	// long (a dead phone or network). Default 60 s.
	MediaTimeout time.Duration
	// CDRFlushInterval is how often call records are written. Default 200 ms.
	CDRFlushInterval time.Duration
	// ShutdownGrace bounds how long Close waits for phones to answer the
	// BYEs and CANCELs of the calls it ends. Default 3 s.
	ShutdownGrace time.Duration
	// MusicOnHold makes the audio a held party hears, a new Source for each
	// hold. Default: the uploaded prompt "music-on-hold" if there is one,
	// else the built-in music.
	MusicOnHold func() media.Source
	// Subscriptions bounds BLF and presence subscriptions (see SubscriptionConfig).
	Subscriptions SubscriptionConfig

	// Apps are the call applications by the destination kind they serve
	// ("ivr", later "voicemail", "conference"), and "feature" for the
	// feature codes FeatureCode recognises. A destination without an app
	// is unavailable.
	Apps map[string]callapp.App
	// FeatureCode reports whether a number caller dialed is a feature
	// code, which of Apps answers it ("feature" for *43 and the settings
	// codes, "voicemail" for *97/*98, "conference" for the three-way code)
	// and the target the application is run with (the code itself, or what
	// it stands for from this caller); nil: none.
	FeatureCode func(dialed, caller string) (app, target string, ok bool)
	// TrunkTimeout bounds one trunk REGISTER (challenge included) before
	// the provider counts as not answering. Default 10 s.
	TrunkTimeout time.Duration
	// EmergencyNumbers may be dialled through a trunk by every extension,
	// whatever its outbound class. Default 112, 911, 999.
	EmergencyNumbers []string
	// Now is the clock of the dial plan's time conditions; nil: time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Realm == "" {
		c.Realm = "pbx"
	}
	if c.UserAgent == "" {
		c.UserAgent = "pbx"
	}
	if c.ExternalIP == "" {
		c.ExternalIP = "127.0.0.1"
	}
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setDur(&c.MinExpires, 60*time.Second)
	setDur(&c.MaxExpires, time.Hour)
	setDur(&c.DefaultExpires, time.Hour)
	setDur(&c.NonceTTL, 30*time.Second)
	setDur(&c.AuthFailWindow, 5*time.Minute)
	setDur(&c.AuthBlock, 10*time.Minute)
	setDur(&c.FlushInterval, 200*time.Millisecond)
	setDur(&c.MediaTimeout, media.DefaultMediaTimeout)
	if c.MusicOnHold == nil {
		c.MusicOnHold = newPromptMOH(c.Store, c.Log.With("component", "moh")).source
	}
	setDur(&c.CDRFlushInterval, 200*time.Millisecond)
	setDur(&c.ShutdownGrace, 3*time.Second)
	if c.RTPPortMin <= 0 || c.RTPPortMax <= 0 {
		c.RTPPortMin, c.RTPPortMax = 10000, 20000
	}
	if c.RTPBindIP == "" {
		c.RTPBindIP = c.ExternalIP
	}
	if c.MaxContacts <= 0 {
		c.MaxContacts = 10
	}
	if c.EmergencyNumbers == nil {
		c.EmergencyNumbers = trunk.DefaultEmergencyNumbers
	}
	if c.AuthFailLimit == 0 {
		c.AuthFailLimit = 10
	}
}

// Engine is the running SIP side of the PBX.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	auth   *digestAuth
	loc    *location
	exts   *extensionCache
	block  *blocker
	guard  *guard // drops blocked, scanner and over-rate traffic unread (guard.go)
	work   *workers
	// stateless answers UDP REGISTER and OPTIONS, and challenges the
	// first INVITE of a call, without the transaction layer (stateless.go).
	stateless *statelessUDP
	regWatch  watchers
	metrics   metrics

	ports     *media.PortAllocator
	mediaIP   netip.Addr // the address in our SDP
	calls     *callTable
	callWatch watchers
	cdrs      *cdrWriter
	msgs      *messenger
	subs      *subscriptions // BLF, presence and MWI (SUBSCRIBE/NOTIFY)
	plan      planHolder     // the dial plan in force
	trunks    *trunk.Manager // trunk registrations (trunks.go)
	// listenPorts are the SIP ports by transport ("udp", "tcp", "tls"),
	// for the Contact of our dialogs. Set by Serve before any request.
	listenPorts map[string]int
	ctx         context.Context // ends when the engine closes

	wg      sync.WaitGroup
	cancel  context.CancelFunc
	closeMu sync.Mutex
	closed  bool
	closers []io.Closer // listeners handed to Serve
}

// keepCompleted is how long sipgo keeps a transaction that has sent or
// received its final answer, to absorb retransmissions: Timer J
// (non-INVITE server), L (INVITE server after a 2xx) and M (INVITE client
// after a 2xx), 64*T1 = 32 s by default. Kamailio's tm keeps them 5 s
// (wt_timer), and so does the PBX: each held its request and response, so
// that at 1,000 set-ups a second some 100,000 finished transactions, most
// of the heap, lived on, and under GOGC=400 the PBX grew past 800 MB
// (docs/benchmarks.md). A phone that still retransmits after 5 s has lost
// every answer since (4 or more in a row); its request is then handled
// afresh: a BYE gets 481, an ACK of a 2xx still reaches its call
// (dialogs.go), and the PBX's own ACK and 2xx retransmission are the call's
// work, not the transaction's.
const keepCompleted = 5 * time.Second

func init() {
	sip.Timer_J, sip.Timer_L, sip.Timer_M = keepCompleted, keepCompleted, keepCompleted
}

// New creates the engine and loads the stored registrations.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("pbx: Config.Store is required")
	}
	cfg.defaults()
	sipLog := slog.New(quietDrops{newRateLimitedHandler(cfg.Log.Handler(), 20)}).With("component", "sip")
	block := newBlocker(max(cfg.AuthFailLimit, 0), cfg.AuthFailWindow, cfg.AuthBlock)
	guard := newGuard(block, cfg.Log.With("component", "guard"))
	guard.load(ctx, cfg.Store)
	var e *Engine // made below; the filter runs only once Serve reads
	readFilter := func(props sip.TransportReadProps, data []byte) ([]byte, error) {
		data, err := guard.filter(props, data)
		if err != nil || len(data) == 0 || !e.stateless.take(props, data) {
			return data, err
		}
		return nil, nil // answered without the transaction layer
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog),
			sip.WithTransportLayerReadFilter(readFilter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(cfg.ExternalIP), sipgo.WithClientLogger(sipLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip client: %w", err)
	}
	mediaIP, err := netip.ParseAddr(cfg.ExternalIP)
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("pbx: ExternalIP %q: %w", cfg.ExternalIP, err)
	}
	bindIP, err := netip.ParseAddr(cfg.RTPBindIP)
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("pbx: RTPBindIP %q: %w", cfg.RTPBindIP, err)
	}
	ports, err := media.NewPortAllocator(bindIP, cfg.RTPPortMin, cfg.RTPPortMax)
	if err != nil {
		ua.Close()
		return nil, err
	}
	if pairs, inRange := ports.Capacity(); pairs < inRange {
		cfg.Log.Warn("the open-file limit holds fewer RTP port pairs than the range; calls past them are refused with 503 "+
			"(raise the limit: ulimit -n, or LimitNOFILE= in a systemd unit)",
			"rtp_ports", fmt.Sprintf("%d-%d", cfg.RTPPortMin, cfg.RTPPortMax), "pairs_in_range", inRange,
			"pairs_usable", pairs, "relayed_calls", pairs/2)
	}
	e = &Engine{
		ports:       ports,
		mediaIP:     mediaIP.Unmap(),
		cdrs:        newCDRWriter(cfg.Store, cfg.Log.With("component", "cdr"), cfg.CDRFlushInterval),
		listenPorts: map[string]int{},
		client:      client,
		cfg:         cfg,
		log:         cfg.Log.With("component", "sip"),
		ua:          ua,
		srv:         srv,
		auth:        newDigestAuth(cfg.Realm, cfg.NonceTTL),
		loc:         newLocation(cfg.Store, cfg.Log.With("component", "location"), cfg.MaxContacts, cfg.FlushInterval),
		exts:        newExtensionCache(cfg.Store),
		block:       block,
		guard:       guard,
		work:        newWorkers(),
	}
	e.stateless = newStatelessUDP(e)
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	e.loc.onChange = func() { e.regWatch.notifySoon(regSignalDelay) }
	e.calls = newCallTable(&e.callWatch)
	e.subs = newSubscriptions(e, cfg.Subscriptions)
	e.trunks = e.newTrunkManager()
	cfg.Store.Subscribe(func(ch store.Change) {
		if ch.Kind == "extension" && ch.Deleted {
			// A deleted extension loses its phones at once; the database rows
			// went with it (ON DELETE CASCADE).
			e.loc.dropExtension(ch.Key)
		}
		if ch == store.SIPSecurityChange {
			guard.load(e.ctx, cfg.Store)
		}
		if ch.Kind == "dialplan" {
			// Parsed here, on the writer's goroutine (a millisecond or
			// so): the PUT that saved the plan answers once it is in
			// force, so the next call is routed by it.
			e.loadPlan(e.ctx)
		}
	})
	e.loadPlan(ctx)
	if err := e.loc.load(ctx, time.Now()); err != nil {
		e.cancel()
		ua.Close()
		return nil, fmt.Errorf("load registrations: %w", err)
	}
	srv.OnRegister(e.pooled(e.handle(e.onRegister)))
	srv.OnOptions(e.pooled(e.handle(e.onOptions)))
	srv.OnNoRoute(e.pooled(e.handle(e.onNoRoute)))
	// Call handlers: INVITE lives as long as its call, so it is never pooled.
	srv.OnInvite(e.handle(e.onInvite))
	srv.OnAck(e.onAck)
	srv.OnBye(e.pooled(e.handle(e.onBye)))
	srv.OnCancel(e.pooled(e.handle(e.onCancel)))
	srv.OnInfo(e.pooled(e.handle(e.onInfo)))
	srv.OnRefer(e.pooled(e.handle(e.onRefer)))
	srv.OnUpdate(e.handle(e.onTargetRefresh))
	// MESSAGE waits for the recipient's phones (up to messageWait): not pooled.
	e.msgs = newMessenger(e)
	srv.OnMessage(e.handle(e.msgs.onMessage))
	srv.OnSubscribe(e.pooled(e.handle(e.onSubscribe)))
	return e, nil
}

// Serve starts the engine on the given listeners (any may be nil: UDP,
// TCP, and a TLS listener) and the background work (expiry, write-behind).
// It returns at once.
func (e *Engine) Serve(udp net.PacketConn, tcp, tlsLn net.Listener) {
	if udp != nil {
		// Before anything reads: the trunks' sockets share the read filter.
		e.stateless.run(e.ctx, udp, &e.wg)
	}
	e.work.run(e.ctx, 16, &e.wg)
	e.msgs.start(e.ctx, &e.wg)
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		e.loc.run(e.ctx)
	}()
	go func() {
		defer e.wg.Done()
		e.cdrs.run(e.ctx)
	}()
	e.subs.start(e.ctx, &e.wg)
	e.runTrunks()
	if udp != nil {
		e.listenPorts["udp"] = addrPort(udp.LocalAddr())
	}
	if tcp != nil {
		e.listenPorts["tcp"] = addrPort(tcp.Addr())
	}
	if tlsLn != nil {
		e.listenPorts["tls"] = addrPort(tlsLn.Addr())
	}
	serve := func(name string, c io.Closer, fn func() error) {
		e.closers = append(e.closers, c)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			if err := fn(); err != nil && !errors.Is(err, net.ErrClosed) {
				e.log.Error("SIP listener stopped", "transport", name, "error", err)
			}
		}()
	}
	if udp != nil {
		serve("udp", udp, func() error { return e.srv.ServeUDP(udp) })
	}
	if tcp != nil {
		serve("tcp", tcp, func() error { return e.srv.ServeTCP(tcp) })
	}
	if tlsLn != nil {
		serve("tls", tlsLn, func() error { return e.srv.ServeTLS(tlsLn) })
	}
}

// Close stops the listeners and background work and writes pending
// registration changes to the database.
func (e *Engine) Close() error {
	e.closeMu.Lock()
	if e.closed {
		e.closeMu.Unlock()
		return nil
	}
	e.closed = true
	e.closeMu.Unlock()
	// Calls end first, while SIP still runs to send their BYEs and CANCELs;
	// their CDRs are queued before the writer's final flush below.
	e.calls.shutdown(e.cfg.ShutdownGrace)
	e.subs.shutdown() // phones subscribe again after the restart
	e.trunks.Close()  // unregisters while SIP still runs
	// sipgo does not close listeners it was handed; closing them makes the
	// Serve goroutines return.
	for _, c := range e.closers {
		c.Close()
	}
	err := shutdownErr(e.ua.Close())
	e.cancel()
	e.wg.Wait()
	e.ports.Close() // the media sockets resting for reuse
	return err
}

// shutdownErr drops from err (sipgo's transports closing their
// connections, joined) the errors that only say a connection's far end
// had already gone: closing the PBX's end then fails to say goodbye (a
// TLS close_notify on a connection the phone reset), which is no fault
// of the shutdown.
func shutdownErr(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var keep []error
		for _, e := range j.Unwrap() {
			if e = shutdownErr(e); e != nil {
				keep = append(keep, e)
			}
		}
		return errors.Join(keep...)
	}
	if err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return nil
	}
	return err
}

// Registrations returns every live contact binding.
func (e *Engine) Registrations() []store.Registration {
	return e.loc.all(time.Now())
}

// Lookup returns the live bindings of one extension.
func (e *Engine) Lookup(ext string) []store.Registration {
	return e.loc.lookup(ext, time.Now())
}

// RTPPortsInUse reports how many media port pairs live calls hold.
func (e *Engine) RTPPortsInUse() int { return e.ports.InUse() }

// RTPPortCapacity reports how many media port pairs calls may hold at
// once, and how many the configured range has; usable is the fewer when
// the open-file limit cannot hold the whole range (media.PortAllocator).
func (e *Engine) RTPPortCapacity() (usable, inRange int) { return e.ports.Capacity() }

// contact is the PBX's Contact for a dialog over transport.
func (e *Engine) contact(transport string) sip.ContactHeader {
	tp := strings.ToLower(transport)
	if tp == "" {
		tp = "udp"
	}
	uri := sip.Uri{Scheme: "sip", User: "pbx", Host: e.cfg.ExternalIP, Port: e.listenPorts[tp]}
	if tp != "udp" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", tp)
	}
	return sip.ContactHeader{Address: uri}
}

func addrPort(a net.Addr) int {
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// pooled runs a short handler on the worker pool (see workers).
func (e *Engine) pooled(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !e.work.do(e.ctx, h, req, tx) && !req.IsAck() {
			e.respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable (shutting down)", nil)
		}
	}
}

// handle wraps a request handler with the checks every request gets.
func (e *Engine) handle(h func(*sip.Request, sip.ServerTransaction)) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		e.metrics.countRequest(req.Method)
		if req.IsAck() {
			return // ACKs get no response
		}
		if ip := sourceIP(req); e.block.blocked(ip, time.Now()) && !e.block.exempt(ip) {
			// Read before the block began: dropped as the guard would have.
			e.guard.dropped[dropBlocked].Add(1)
			return
		}
		if unsupported := unsupportedRequire(req); unsupported != "" {
			e.respond(tx, req, sip.StatusBadExtension, "Bad Extension", []sip.Header{sip.NewHeader("Unsupported", unsupported)})
			return
		}
		h(req, tx)
	}
}

// respond sends a final response with extra headers.
func (e *Engine) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs []sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader("Server", e.cfg.UserAgent))
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		e.log.Debug("respond failed", "code", code, "error", err)
	}
}

const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, INFO, UPDATE, SUBSCRIBE, REFER"

// onOptions answers OPTIONS (phones' keep-alives) statelessly, as the
// registrar does REGISTER: a retransmission just gets another 200.
func (e *Engine) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	defer tx.Terminate()
	e.respond(tx, req, sip.StatusOK, "OK", []sip.Header{
		sip.NewHeader("Allow", allowMethods),
		sip.NewHeader("Accept", "application/sdp"),
		sip.NewHeader("Allow-Events", allowEvents),
	})
}

func (e *Engine) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	e.respond(tx, req, sip.StatusMethodNotAllowed, "Method Not Allowed", []sip.Header{sip.NewHeader("Allow", allowMethods)})
}

// Option tags the PBX supports (Supported, Require): INVITE with Replaces
// (RFC 3891) and REFER without a subscription (RFC 4488).
const (
	supportedReplaces   = "replaces"
	supportedNoReferSub = "norefersub"
	supportedOptions    = supportedReplaces + ", " + supportedNoReferSub
)

// unsupportedRequire returns the option tags of Require we do not support.
func unsupportedRequire(req *sip.Request) string {
	var bad []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			tag = strings.TrimSpace(tag)
			switch tag {
			case "", supportedReplaces, supportedNoReferSub:
			default:
				bad = append(bad, tag)
			}
		}
	}
	return strings.Join(bad, ", ")
}

func sourceIP(req *sip.Request) string {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return req.Source()
	}
	return host
}
