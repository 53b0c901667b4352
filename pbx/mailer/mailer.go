// Package mailer sends voicemail to e-mail. New messages of boxes whose
// extension asks for it are queued in the store (a durable outbox), and a
// sender loop delivers them over SMTP with the WAV attached, retrying with
// exponential backoff. A mail failure never touches the message itself.
package mailer

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// Retry policy: the first retry after a minute, doubling up to an hour;
// after a day of failures the item is given up (the message stays in its
// mailbox).
const (
	firstRetry = time.Minute
	maxRetry   = time.Hour
	giveUpAge  = 24 * time.Hour
)

// batch is how many due items one pass of the sender takes.
const batch = 20

// Clock tells the time and makes timers; tests substitute a manual one.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a
	// stop function.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Attempt is the outcome of one try to mail a voicemail message.
type Attempt struct {
	MessageID int64
	Err       error     // nil when delivered
	NextAt    time.Time // the retry time after a failure; zero when given up or sent
}

// Option configures a Mailer.
type Option func(*Mailer)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(m *Mailer) { m.log = l } }

// WithClock replaces the wall clock, for tests.
func WithClock(c Clock) Option { return func(m *Mailer) { m.clock = c } }

// WithTLSConfig sets the base TLS configuration for STARTTLS and implicit
// TLS (for example a test's RootCAs); the server name is filled in per host.
func WithTLSConfig(c *tls.Config) Option { return func(m *Mailer) { m.tls = c } }

// WithObserver calls fn after every delivery attempt (tests await it).
func WithObserver(fn func(Attempt)) Option { return func(m *Mailer) { m.observe = fn } }

// WithHostname sets the name sent in EHLO (default: os.Hostname).
func WithHostname(name string) Option { return func(m *Mailer) { m.hostname = name } }

// Mailer delivers voicemail by e-mail. Start it once; Stop ends it.
type Mailer struct {
	store    *store.Store
	log      *slog.Logger
	clock    Clock
	tls      *tls.Config
	hostname string
	observe  func(Attempt)

	wake     chan struct{} // a voicemail or the mail settings changed
	cancel   context.CancelFunc
	done     chan struct{}
	stopped  atomic.Bool
	retryNow atomic.Bool // the settings changed: make pending items due
	once     sync.Once

	sent     atomic.Uint64
	failures atomic.Uint64
}

// New returns a Mailer working on st.
func New(st *store.Store, opts ...Option) *Mailer {
	m := &Mailer{store: st, clock: realClock{}, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(m)
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.hostname == "" {
		m.hostname, _ = os.Hostname()
		if m.hostname == "" {
			m.hostname = "localhost"
		}
	}
	return m
}

// Start subscribes to store changes and starts the sender loop, which first
// picks up what a previous run left queued. It runs until Stop or until ctx
// ends.
func (m *Mailer) Start(ctx context.Context) error {
	ctx, m.cancel = context.WithCancel(ctx)
	m.done = make(chan struct{})
	// The store calls subscribers synchronously, under its lock: only
	// signal here, the loop does the work.
	m.store.Subscribe(func(c store.Change) {
		if m.stopped.Load() {
			return
		}
		if c.Kind == "voicemail" || (c.Kind == "settings" && c.Key == "smtp") {
			if c.Kind == "settings" {
				// New settings deserve a try without waiting out the backoff.
				m.retryNow.Store(true)
			}
			m.poke()
		}
	})
	go m.run(ctx)
	return nil
}

// Stop ends the sender loop and waits for it; a send in progress is
// abandoned (its item stays queued).
func (m *Mailer) Stop() {
	m.once.Do(func() {
		m.stopped.Store(true)
		if m.cancel != nil {
			m.cancel()
			<-m.done
		}
	})
}

func (m *Mailer) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Mailer) run(ctx context.Context) {
	defer close(m.done)
	for {
		m.pass(ctx)
		var timer <-chan time.Time
		stop := func() bool { return false }
		if next, ok, err := m.store.NextMailDue(ctx); err != nil {
			if ctx.Err() == nil {
				m.log.Error("voicemail e-mail: reading the queue", "err", err)
			}
		} else if ok {
			timer, stop = m.clock.NewTimer(next.Sub(m.clock.Now()))
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-m.wake:
		case <-timer:
		}
		stop()
	}
}

// pass sends every item due now. New messages are queued by the store in
// the transaction that stores them (migration 0009's trigger).
func (m *Mailer) pass(ctx context.Context) {
	cfg, err := m.store.SMTPSettings(ctx)
	if err != nil {
		m.log.Error("voicemail e-mail: reading settings", "err", err)
		return
	}
	if m.retryNow.Swap(false) {
		if _, err := m.store.RetryMailNow(ctx, m.clock.Now()); err != nil && ctx.Err() == nil {
			m.log.Error("voicemail e-mail: rescheduling the queue", "err", err)
		}
	}
	if !cfg.Enabled {
		return // queued items wait for e-mail to be switched on
	}
	for ctx.Err() == nil {
		items, err := m.store.DueMail(ctx, m.clock.Now(), batch)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Error("voicemail e-mail: reading the queue", "err", err)
			}
			return
		}
		for _, it := range items {
			if ctx.Err() != nil {
				return
			}
			m.attempt(ctx, cfg, it)
		}
		if len(items) < batch {
			return
		}
	}
}

// attempt tries one item and records the outcome.
func (m *Mailer) attempt(ctx context.Context, cfg store.SMTPSettings, it store.MailItem) {
	err := m.sendVoicemail(ctx, cfg, it)
	if ctx.Err() != nil {
		return // stopping: the item stays as it was, due again at the next start
	}
	now := m.clock.Now()
	a := Attempt{MessageID: it.MessageID, Err: err}
	if err == nil {
		if err := m.store.MailSent(ctx, it.MessageID, now); err != nil {
			m.log.Error("voicemail e-mail: recording a delivery", "message", it.MessageID, "err", err)
		}
		m.sent.Add(1)
		m.log.Info("voicemail e-mail sent", "message", it.MessageID, "mailbox", it.Mailbox, "to", it.Recipient)
	} else {
		m.failures.Add(1)
		if now.Sub(it.CreatedAt) < giveUpAge {
			a.NextAt = now.Add(backoff(it.Attempts + 1))
			m.log.Warn("voicemail e-mail failed; will retry", "message", it.MessageID, "to", it.Recipient,
				"attempt", it.Attempts+1, "retry_at", a.NextAt, "err", err)
		} else {
			m.log.Error("voicemail e-mail: giving up after a day of failures; the message stays in its mailbox",
				"message", it.MessageID, "mailbox", it.Mailbox, "to", it.Recipient, "attempts", it.Attempts+1, "err", err)
		}
		if err := m.store.MailFailed(ctx, it.MessageID, now, err.Error(), a.NextAt); err != nil {
			m.log.Error("voicemail e-mail: recording a failure", "message", it.MessageID, "err", err)
		}
	}
	if m.observe != nil {
		m.observe(a)
	}
}

// backoff is the wait after the n-th failed attempt: 1 min, 2, 4 ... 1 h.
func backoff(n int) time.Duration {
	d := firstRetry
	for i := 1; i < n && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// SendTest sends a short test mail to to with cfg (which need not be saved
// nor enabled). The error carries the SMTP server's answer.
func (m *Mailer) SendTest(ctx context.Context, cfg store.SMTPSettings, to string) error {
	msg := &message{
		From: cfg.From, To: to,
		Subject:   "PBX test e-mail",
		Date:      m.clock.Now(),
		MessageID: newMessageID(domainOf(cfg.From)),
		Text:      "This is a test e-mail from your PBX. Voicemail to e-mail can reach this address.\n",
	}
	return m.send(ctx, cfg, msg)
}

// WriteMetrics writes the mailer's counters in Prometheus text format.
func (m *Mailer) WriteMetrics(w io.Writer) {
	fmt.Fprintf(w, "# HELP pbx_voicemail_email_sent_total Voicemail messages delivered by e-mail.\n# TYPE pbx_voicemail_email_sent_total counter\npbx_voicemail_email_sent_total %d\n", m.sent.Load())
	fmt.Fprintf(w, "# HELP pbx_voicemail_email_failures_total Failed attempts to e-mail a voicemail message (each retry counts).\n# TYPE pbx_voicemail_email_failures_total counter\npbx_voicemail_email_failures_total %d\n", m.failures.Load())
}
