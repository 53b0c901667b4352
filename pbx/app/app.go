package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/officepbx/pbx/admin"
	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx"
	"github.com/officepbx/pbx/pbx/callapp"
	"github.com/officepbx/pbx/pbx/conference"
	"github.com/officepbx/pbx/pbx/features"
	"github.com/officepbx/pbx/pbx/ivr"
	"github.com/officepbx/pbx/pbx/mailer"
	"github.com/officepbx/pbx/pbx/store"
	"github.com/officepbx/pbx/pbx/voicemail"
	"github.com/officepbx/pbx/webui"
)

// App is a running PBX.
type App struct {
	Store      *store.Store
	Engine     *pbx.Engine
	Voicemail  *voicemail.App
	Conference *conference.App
	Mailer     *mailer.Mailer
	RTPPorts   PortRange
	ExternalIP net.IP

	log    *slog.Logger
	sipUDP net.PacketConn
	sipTCP net.Listener
	sipTLS net.Listener // nil unless --sip-tls
	httpLn net.Listener
	// httpScheme is "https" with HTTPTLS, else "http".
	httpScheme string
	httpSrv    *http.Server
	httpErr    chan error
	stopOnce   sync.Once

	stopExpiry context.CancelFunc // ends the voicemail expiry loop
	expiryDone chan struct{}      // closed when it has ended
}

// voicemailExpiryInterval is how often old voicemail is deleted.
const voicemailExpiryInterval = time.Hour

// DatabaseFile is the SQLite file inside the data directory.
const DatabaseFile = "pbx.db"

// Start opens (or creates) the data directory and starts every engine. On
// return the PBX is listening; Shutdown stops it.
func Start(ctx context.Context, cfg Config) (*App, error) {
	log := orDiscard(cfg.Log)
	ports, ip, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, DatabaseFile))
	if err != nil {
		return nil, err
	}
	a := &App{Store: st, RTPPorts: ports, ExternalIP: ip, log: log, httpErr: make(chan error, 1)}
	if err := a.start(ctx, cfg); err != nil {
		a.close()
		return nil, err
	}
	log.Info("PBX started", "version", cfg.Version, "data", cfg.DataDir, "sip_udp", a.SIPUDPAddr(),
		"sip_tcp", a.SIPTCPAddr(), "sip_tls", a.SIPTLSAddr(), "http", a.HTTPURL(), "external_ip", ip.String(), "rtp_ports", cfg.RTPPorts)
	return a, nil
}

func (a *App) start(ctx context.Context, cfg Config) error {
	if err := firstStart(ctx, a.Store, cfg, a.log); err != nil {
		return err
	}
	// This process serves the data directory: finish what a crash left of
	// prompt uploads and deletes before taking new ones.
	if err := a.Store.RecoverPromptFiles(ctx); err != nil {
		return fmt.Errorf("prompt files: %w", err)
	}
	// Likewise voicemail: a message is a whole file and row, or nothing.
	rep, err := a.Store.RecoverVoicemailReport(ctx)
	if err != nil {
		return fmt.Errorf("voicemail files: %w", err)
	}
	if rep != (store.VoicemailRecovery{}) {
		a.log.Warn("voicemail recovered after a crash", "temp_files_removed", rep.TempFiles,
			"files_without_row_removed", rep.OrphanFiles, "rows_without_audio_deleted", rep.OrphanRows,
			"deletes_undone", rep.RestoredDels)
	}
	a.startVoicemailExpiry(ctx, cfg.Now)
	a.Voicemail = voicemail.New(a.Store, a.log.With("component", "voicemail"))
	a.Voicemail.Now = cfg.Now
	if cfg.TuneVoicemail != nil {
		cfg.TuneVoicemail(a.Voicemail)
	}
	a.Conference = conference.New(a.Store, a.log.With("component", "conference"))
	sipCfg := pbx.Config{
		Store:         a.Store,
		Log:           a.log,
		UserAgent:     "pbx/" + cfg.Version,
		ExternalIP:    a.ExternalIP.String(),
		RTPBindIP:     rtpBindIP(a.ExternalIP),
		AuthFailLimit: cfg.AuthFailLimit,
		AuthBlock:     cfg.AuthBlock,
		FlushInterval: cfg.RegistrationFlush,
		RTPPortMin:    a.RTPPorts.Lo,
		RTPPortMax:    a.RTPPorts.Hi,
		// The call applications: each its own package on the callapp seam.
		Apps: map[string]callapp.App{
			"feature":               features.App{Store: a.Store, Log: a.log.With("component", "features")},
			dialplan.KindIVR:        ivr.App{Store: a.Store, Log: a.log.With("component", "ivr")},
			dialplan.KindVoicemail:  a.Voicemail,
			dialplan.KindConference: a.Conference,
		},
		FeatureCode: featureCode,
		Now:         cfg.Now,
	}
	sipCfg.EmergencyNumbers, _ = ParseEmergencyNumbers(cfg.EmergencyNumbers) // validated by Start
	if cfg.TuneSIP != nil {
		cfg.TuneSIP(&sipCfg)
	}
	eng, err := pbx.New(ctx, sipCfg)
	if err != nil {
		return err
	}
	a.Engine = eng
	var rcvbuf int
	if a.sipUDP, a.sipTCP, rcvbuf, err = listenSIP(cfg.SIPAddr); err != nil {
		return err
	}
	if rcvbuf > 0 && rcvbuf < sipReceiveBuffer {
		// Linux caps the buffer at net.core.rmem_max (212,992 bytes by
		// default) unless the process may override it.
		a.log.Warn("SIP UDP receive buffer smaller than asked for: load peaks will be refused 503 sooner, and bursts of REGISTERs may be dropped",
			"got_bytes", rcvbuf, "asked_bytes", sipReceiveBuffer,
			"fix", "sysctl -w net.core.rmem_max="+strconv.Itoa(sipReceiveBuffer)+" (and in /etc/sysctl.d), or run with CAP_NET_ADMIN")
	}
	var cert tls.Certificate
	if cfg.SIPTLSAddr != "" || cfg.HTTPTLS {
		if cert, err = loadOrCreateCert(cfg.DataDir, a.ExternalIP); err != nil {
			return err
		}
	}
	if cfg.SIPTLSAddr != "" {
		a.sipTLS, err = tls.Listen("tcp", cfg.SIPTLSAddr, &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		})
		if err != nil {
			return fmt.Errorf("listen sip tls %s: %w", cfg.SIPTLSAddr, err)
		}
	}
	a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", cfg.HTTPAddr, err)
	}
	if cfg.HTTPTLS {
		a.httpLn = tls.NewListener(a.httpLn, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		a.httpScheme = "https"
	}
	// Voicemail to e-mail: picks up what a previous run left queued.
	a.Mailer = mailer.New(a.Store, mailer.WithLogger(a.log.With("component", "mailer")))
	if err := a.Mailer.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	api, err := admin.New(admin.Config{
		Store:         a.Store,
		Registrations: eng,
		Calls:         liveCalls{eng},
		Events:        eng,
		CallEvents:    liveCalls{eng},
		Router:        router{eng},
		Metrics:       []admin.MetricsSource{eng, eng.Trunks(), a.Mailer, a.Voicemail, a.Conference},
		Conferences:   liveConferences{a.Conference},
		Trunks:        eng.Trunks(),
		Guard:         eng,
		Mail:          a.Mailer,
		UI:            webui.FS(),
		Log:           a.log.With("component", "http"),
		MetricsToken:  cfg.MetricsToken,
		Version:       cfg.Version,
		BcryptCost:    cfg.BcryptCost,
	})
	if err != nil {
		return err
	}
	eng.Serve(a.sipUDP, a.sipTCP, a.sipTLS)
	a.httpSrv = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	// Event streams never go idle: end them when Shutdown starts.
	a.httpSrv.RegisterOnShutdown(api.Close)
	go func() {
		err := a.httpSrv.Serve(a.httpLn)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		a.httpErr <- err
	}()
	return nil
}

// sipReceiveBuffer is the SIP UDP socket's receive buffer (the kernel
// counts twice this). The queue must hold what arrives while the PBX
// cannot read: a burst of REGISTERs (an office rebooting its phones), or
// the few hundred milliseconds in which a garbage collection at
// thousands of calls a second takes part of the CPU. The overload guard
// (pbx/stateless.go) refuses new calls once the queue is half full, so
// the size is also how deep a queue the PBX lets build before it refuses
// new calls. Twice this size measured worse at 3,000 set-ups a second
// offered on two cores (fewer calls completed, more admitted calls timed
// out) though it refused fewer calls during garbage collections at
// 2,000/s (docs/benchmarks.md, issue 14, session 13).
const sipReceiveBuffer = 4 << 20

// listenSIP opens UDP and TCP on the same address; with port 0 both get the
// same free port. rcvbuf is the UDP receive buffer granted (0: unknown).
func listenSIP(addr string) (udpConn net.PacketConn, tcpLn net.Listener, rcvbuf int, err error) {
	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("listen sip udp %s: %w", addr, err)
		}
		if uc, ok := udp.(*net.UDPConn); ok {
			rcvbuf = setReceiveBuffer(uc, sipReceiveBuffer)
			_ = uc.SetWriteBuffer(4 << 20)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp, rcvbuf, nil
		}
		udp.Close()
		lastErr = err
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, nil, 0, fmt.Errorf("listen sip tcp %s: %w", addr, lastErr)
}

// firstStart sets up an empty database: the first admin and the default dial plan.
func firstStart(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) error {
	cur, err := st.Dialplan(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Saved by the system (""): version 1 of the history.
		if _, err := st.SetDialplan(ctx, dialplan.Default, ""); err != nil {
			return fmt.Errorf("default dial plan: %w", err)
		}
	case err != nil:
		return err
	case cur.CreatedBy == "":
		// A plan only the system saved (a database from before the
		// dial-plan language holds its comments-only default) that no
		// longer parses is replaced by today's default; history keeps it.
		if _, errs := dialplan.Parse(cur.Text); len(errs) > 0 {
			if _, err := st.AddDialplanVersion(ctx, dialplan.Default, "", "the default plan in the dial-plan language"); err != nil {
				return fmt.Errorf("default dial plan: %w", err)
			}
			log.Info("dial plan upgraded to the default plan of the dial-plan language", "old_version", cur.ID)
		}
	}
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, generated := cfg.AdminPassword, false
	if pw == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		pw, generated = base64.RawURLEncoding.EncodeToString(b[:]), true
	}
	if err := admin.ValidatePassword(pw); err != nil {
		return fmt.Errorf("PBX_ADMIN_PASSWORD: %w", err)
	}
	hash, err := admin.HashPasswordCost(pw, cfg.BcryptCost)
	if err != nil {
		return err
	}
	if err := st.CreateUser(ctx, &store.User{Username: "admin", PasswordHash: hash, Role: "admin"}); err != nil {
		return fmt.Errorf("create admin user: %w", err)
	}
	if generated {
		// Printed once, here, and never again: it is stored only as a hash.
		log.Warn("first start: created web/API user admin with a random password; change it with 'pbx admin password admin'",
			"username", "admin", "password", pw)
	} else {
		log.Info("first start: created web/API user admin with the password from PBX_ADMIN_PASSWORD")
	}
	return nil
}

// SIPUDPAddr is the address SIP listens on over UDP.
func (a *App) SIPUDPAddr() string { return a.sipUDP.LocalAddr().String() }

// SIPTCPAddr is the address SIP listens on over TCP.
func (a *App) SIPTCPAddr() string { return a.sipTCP.Addr().String() }

// SIPTLSAddr is the address SIP listens on over TLS, or "" when off.
func (a *App) SIPTLSAddr() string {
	if a.sipTLS == nil {
		return ""
	}
	return a.sipTLS.Addr().String()
}

// HTTPAddr is the address of the REST API and web UI.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// HTTPURL is the base URL of the REST API and web UI: http://HOST:PORT, or
// https:// with HTTPTLS.
func (a *App) HTTPURL() string {
	scheme := a.httpScheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + a.HTTPAddr()
}

// Err reports a fatal HTTP server error; it never yields when all is well.
func (a *App) Err() <-chan error { return a.httpErr }

// Shutdown stops taking requests, finishes what is in flight (within ctx),
// writes pending state and closes the database.
func (a *App) Shutdown(ctx context.Context) error {
	var err error
	a.stopOnce.Do(func() {
		if a.httpSrv != nil {
			err = a.httpSrv.Shutdown(ctx)
		}
		err = errors.Join(err, a.close())
		a.log.Info("PBX stopped")
	})
	return err
}

// startVoicemailExpiry deletes messages past their box's age limit: once
// now, before the PBX takes calls, then hourly until close.
func (a *App) startVoicemailExpiry(ctx context.Context, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	expire := func(ctx context.Context) {
		switch n, err := a.Store.ExpireVoicemail(ctx, now()); {
		case err != nil && ctx.Err() == nil:
			a.log.Error("voicemail expiry", "err", err)
		case n > 0:
			a.log.Info("voicemail expired", "messages", n)
		}
	}
	expire(ctx)
	loop, cancel := context.WithCancel(context.Background())
	a.stopExpiry, a.expiryDone = cancel, make(chan struct{})
	go func() {
		defer close(a.expiryDone)
		t := time.NewTicker(voicemailExpiryInterval)
		defer t.Stop()
		for {
			select {
			case <-loop.Done():
				return
			case <-t.C:
				expire(loop)
			}
		}
	}()
}

func (a *App) close() error {
	var errs []error
	if a.Mailer != nil {
		a.Mailer.Stop() // before the store closes: it sends from the store
	}
	if a.stopExpiry != nil {
		a.stopExpiry()
		<-a.expiryDone
	}
	if a.Engine != nil {
		errs = append(errs, a.Engine.Close())
		if a.Conference != nil {
			a.Conference.Close() // after the calls have ended
		}
	} else {
		if a.sipUDP != nil {
			a.sipUDP.Close()
		}
		if a.sipTCP != nil {
			a.sipTCP.Close()
		}
		if a.sipTLS != nil {
			a.sipTLS.Close()
		}
	}
	if a.httpLn != nil && a.httpSrv == nil {
		a.httpLn.Close()
	}
	errs = append(errs, a.Store.Close())
	return errors.Join(errs...)
}

// featureCode names the application that answers a feature code.
func featureCode(dialed, caller string) (string, string, bool) {
	switch {
	case features.IsCode(dialed):
		return "feature", dialed, true
	case voicemail.IsCode(dialed):
		return dialplan.KindVoicemail, dialed, true
	case dialed == conference.AdHocCode && caller != "":
		return dialplan.KindConference, conference.AdHocRoom(caller), true
	}
	return "", "", false
}
