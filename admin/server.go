// Package admin is the PBX's REST API (/api/v1, JSON over echo), its health
// and metrics endpoints, the OpenAPI document and the embedded web UI. It
// talks to the store directly and to the call engine through the small
// interfaces below.
package admin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/crypto/bcrypt"

	"github.com/officepbx/pbx/pbx/store"
)

// LiveRegistrations gives the registrar's current bindings (live, in memory).
type LiveRegistrations interface {
	Registrations() []store.Registration
}

// MetricsSource writes Prometheus text-format lines for an engine's metrics.
type MetricsSource interface {
	WriteMetrics(w io.Writer)
}

// Config configures a Server.
type Config struct {
	// Store is the database; required.
	Store *store.Store
	// Registrations is the registrar's live view; nil answers an empty list.
	Registrations LiveRegistrations
	// Calls is the call engine's live view; nil answers an empty list.
	Calls LiveCalls
	// Router is the call engine's routing, for dial plan traces; nil
	// answers traces 503.
	Router Router
	// Events signals registration changes to the event stream
	// (/api/v1/events); nil sends the initial state only, then keep-alives.
	Events RegistrationWatcher
	// CallEvents signals call changes to the event stream; nil sends the
	// calls at connect only.
	CallEvents CallWatcher
	// Trunks is the trunks' live registration status; nil reports every
	// trunk unregistered.
	Trunks TrunkStatuses
	// Conferences is the conference rooms' live state and control; nil
	// shows every room empty.
	Conferences LiveConferences
	// Guard is the SIP engine's block list; nil lists none.
	Guard SIPGuard
	// Mail sends test e-mails (POST /settings/smtp/test); nil answers 503.
	Mail MailTester
	// Metrics are extra metric writers (the SIP engine's) appended to /metrics.
	Metrics []MetricsSource
	// UI is the static web UI served at /; nil serves none. index.html is the
	// single-page-app fallback for paths that are not files.
	UI fs.FS
	// Log receives request and error logs; nil discards them.
	Log *slog.Logger
	// MetricsToken, if set, must be presented as "Authorization: Bearer
	// <token>" to read /metrics.
	MetricsToken string
	// Version is reported by /healthz and pbx_build_info.
	Version string
	// BcryptCost is the cost of password hashes made through the API; 0 means
	// bcrypt.DefaultCost. Tests lower it to stay fast.
	BcryptCost int
}

// Server is the HTTP face of the PBX.
type Server struct {
	cfg       Config
	store     *store.Store
	log       *slog.Logger
	e         *echo.Echo
	started   time.Time
	cost      int
	dummyHash []byte // compared against when a login names no user, so timing does not tell
	limiter   *loginLimiter
	touches   *touchTracker
	requests  *statusCounters
	builtins  builtinPrompts

	closing   chan struct{} // closed by Close: event streams end
	closeOnce sync.Once
}

// bodyLimit bounds API request bodies; no JSON object we accept is near it.
const bodyLimit = "1M"

// New builds a Server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("admin: Config.Store is required")
	}
	cost := cfg.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("admin: bcrypt cost %d out of range %d-%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(GenerateSecret()), cost)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:       cfg,
		store:     cfg.Store,
		log:       log,
		started:   time.Now(),
		cost:      cost,
		dummyHash: dummy,
		limiter:   newLoginLimiter(),
		touches:   newTouchTracker(),
		requests:  &statusCounters{},

		closing: make(chan struct{}),
	}
	s.e = s.newEcho()
	return s, nil
}

// Handler returns the http.Handler serving the API, health, metrics and UI.
func (s *Server) Handler() http.Handler { return s.e }

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// Not behind a trusted proxy by default: X-Forwarded-For would let a
	// client pick its own address and dodge the login rate limit.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = s.handleError
	e.Use(
		middleware.RequestLoggerWithConfig(s.requestLoggerConfig()),
		middleware.Recover(),
		securityHeaders,
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
			// Every route, API or not. Prompt and greeting uploads are WAV
			// files: their handlers set their own, larger limit.
			Skipper: func(c echo.Context) bool {
				r := c.Request()
				return (r.Method == http.MethodPost && r.URL.Path == promptUploadPath) || isGreetingUpload(r)
			},
			Limit: bodyLimit,
		}),
		s.audit,
	)
	s.routes(e)
	return e
}

// routes registers every endpoint. Middleware is attached per route, not
// with Group.Use: echo's group middleware registers catch-all routes that
// would turn a wrong method's 405 into a 404.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", s.health)
	e.GET("/metrics", s.metrics)
	e.GET("/api/openapi.json", s.openAPI)

	const v1 = "/api/v1"
	auth := s.authenticate
	admin := requireAdmin
	e.POST(v1+"/auth/login", s.login)
	e.POST(v1+"/auth/logout", s.logout, auth)
	e.GET(v1+"/auth/me", s.me, auth)

	e.GET(v1+"/tokens", s.listTokens, auth)
	e.POST(v1+"/tokens", s.createToken, auth)
	e.DELETE(v1+"/tokens/:id", s.deleteToken, auth)

	e.GET(v1+"/users", s.listUsers, auth, admin)
	e.POST(v1+"/users", s.createUser, auth, admin)
	e.GET(v1+"/users/:username", s.getUser, auth)
	e.PUT(v1+"/users/:username", s.putUser, auth, admin)
	e.PATCH(v1+"/users/:username", s.patchUser, auth)
	e.DELETE(v1+"/users/:username", s.deleteUser, auth, admin)

	e.GET(v1+"/extensions", s.listExtensions, auth, admin)
	e.POST(v1+"/extensions", s.createExtension, auth, admin)
	e.GET(v1+"/extensions/:number", s.getExtension, auth)
	e.PUT(v1+"/extensions/:number", s.putExtension, auth, admin)
	e.PATCH(v1+"/extensions/:number", s.patchExtension, auth)
	e.DELETE(v1+"/extensions/:number", s.deleteExtension, auth, admin)
	e.POST(v1+"/extensions/:number/secret", s.regenerateSecret, auth, admin)

	e.GET(v1+"/ivrs", s.listIVRs, auth, admin)
	e.POST(v1+"/ivrs", s.createIVR, auth, admin)
	e.GET(v1+"/ivrs/:number", s.getIVR, auth, admin)
	e.PUT(v1+"/ivrs/:number", s.putIVR, auth, admin)
	e.PATCH(v1+"/ivrs/:number", s.patchIVR, auth, admin)
	e.DELETE(v1+"/ivrs/:number", s.deleteIVR, auth, admin)

	e.GET(v1+"/trunks", s.listTrunks, auth, admin)
	e.POST(v1+"/trunks", s.createTrunk, auth, admin)
	e.GET(v1+"/trunks/:name", s.getTrunk, auth, admin)
	e.PUT(v1+"/trunks/:name", s.putTrunk, auth, admin)
	e.PATCH(v1+"/trunks/:name", s.patchTrunk, auth, admin)
	e.DELETE(v1+"/trunks/:name", s.deleteTrunk, auth, admin)

	e.GET(v1+"/conferences", s.listConferences, auth, admin)
	e.POST(v1+"/conferences", s.createConference, auth, admin)
	e.GET(v1+"/conferences/:number", s.getConference, auth, admin)
	e.PUT(v1+"/conferences/:number", s.putConference, auth, admin)
	e.PATCH(v1+"/conferences/:number", s.patchConference, auth, admin)
	e.DELETE(v1+"/conferences/:number", s.deleteConference, auth, admin)
	e.GET(v1+"/conferences/:number/participants", s.listParticipants, auth, admin)
	e.PATCH(v1+"/conferences/:number/participants/:id", s.patchParticipant, auth, admin)
	e.DELETE(v1+"/conferences/:number/participants/:id", s.kickParticipant, auth, admin)

	e.GET(v1+"/ringgroups", s.listRingGroups, auth, admin)
	e.POST(v1+"/ringgroups", s.createRingGroup, auth, admin)
	e.GET(v1+"/ringgroups/:number", s.getRingGroup, auth, admin)
	e.PUT(v1+"/ringgroups/:number", s.putRingGroup, auth, admin)
	e.PATCH(v1+"/ringgroups/:number", s.patchRingGroup, auth, admin)
	e.DELETE(v1+"/ringgroups/:number", s.deleteRingGroup, auth, admin)

	e.GET(v1+"/registrations", s.listRegistrations, auth)

	e.GET(v1+"/calls", s.listCalls, auth)
	e.DELETE(v1+"/calls/:id", s.hangupCall, auth, admin)

	e.GET(v1+"/cdr", s.listCDR, auth)
	e.GET(v1+"/cdr.csv", s.exportCDR, auth)
	e.GET(v1+"/events", s.events, auth)

	e.GET(v1+"/prompts", s.listPrompts, auth, admin)
	e.POST(v1+"/prompts", s.createPrompt, auth, admin)
	e.GET(v1+"/prompts/:name", s.getPromptAudio, auth, admin)
	e.DELETE(v1+"/prompts/:name", s.deletePrompt, auth, admin)

	e.GET(v1+"/voicemail/:ext/messages", s.listVoicemail, auth)
	e.GET(v1+"/voicemail/:ext/messages/:id", s.getVoicemail, auth)
	e.PATCH(v1+"/voicemail/:ext/messages/:id", s.patchVoicemail, auth)
	e.DELETE(v1+"/voicemail/:ext/messages/:id", s.deleteVoicemail, auth)
	e.GET(v1+"/voicemail/:ext/messages/:id/audio", s.getVoicemailAudio, auth)
	e.GET(v1+"/voicemail/:ext/greeting", s.getVoicemailGreeting, auth)
	e.PUT(v1+"/voicemail/:ext/greeting", s.putVoicemailGreeting, auth)
	e.DELETE(v1+"/voicemail/:ext/greeting", s.deleteVoicemailGreeting, auth)

	e.GET(v1+"/dialplan", s.getDialplan, auth, admin)
	e.PUT(v1+"/dialplan", s.putDialplan, auth, admin)
	e.POST(v1+"/dialplan/trace", s.traceDialplan, auth, admin)
	e.GET(v1+"/dialplan/versions", s.listDialplanVersions, auth, admin)
	e.GET(v1+"/dialplan/versions/:id", s.getDialplanVersion, auth, admin)
	e.POST(v1+"/dialplan/versions/:id/restore", s.restoreDialplanVersion, auth, admin)

	e.GET(v1+"/settings/smtp", s.getSMTP, auth, admin)
	e.PUT(v1+"/settings/smtp", s.putSMTP, auth, admin)
	e.POST(v1+"/settings/smtp/test", s.testSMTP, auth, admin)

	e.GET(v1+"/security/blocked", s.listBlocked, auth, admin)
	e.DELETE(v1+"/security/blocked/:source", s.unblock, auth, admin)
	e.GET(v1+"/security/allowlist", s.getAllowList, auth, admin)
	e.PUT(v1+"/security/allowlist", s.putAllowList, auth, admin)
	e.GET(v1+"/security/settings", s.getSecuritySettings, auth, admin)
	e.PUT(v1+"/security/settings", s.putSecuritySettings, auth, admin)
	e.GET(v1+"/audit", s.listAudit, auth, admin)

	if s.cfg.UI != nil {
		e.GET("/*", s.serveUI)
	}
}

func (s *Server) requestLoggerConfig() middleware.RequestLoggerConfig {
	return middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogMethod:    true,
		LogURIPath:   true,
		LogRemoteIP:  true,
		LogLatency:   true,
		LogError:     true,
		LogUserAgent: true,
		// The error handler must run before logging so the status logged
		// (and counted) is the one the client got.
		HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			s.requests.inc(v.Status)
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("remote_ip", v.RemoteIP),
				slog.String("user_agent", v.UserAgent),
			}
			if v.Error != nil {
				attrs = append(attrs, slog.String("err", v.Error.Error()))
			}
			s.log.LogAttrs(c.Request().Context(), level, "http request", attrs...)
			return nil
		},
	}
}

// securityHeaders keeps the UI from being framed, sniffed into another type,
// or made to load anything from elsewhere.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The console is modules and a stylesheet from this origin: no inline
		// script or style, nothing from elsewhere (webui tests check that no
		// page trips it).
		h.Set("Content-Security-Policy",
			"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "+
				"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if c.IsTLS() {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if isAPIPath(c.Request().URL.Path) {
			h.Set("Cache-Control", "no-store") // answers carry secrets and live state
		}
		return next(c)
	}
}

func isAPIPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/")
}
