package admin

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/officepbx/pbx/pbx/store"
)

const (
	sessionCookie   = "pbx_session"
	sessionLifetime = 24 * time.Hour
	principalKey    = "admin.principal"
	roleAdmin       = "admin"
	roleUser        = "user"
)

// principal is the authenticated caller of a request.
type principal struct {
	user        store.User
	sessionHash string // set when the caller used a session (not an API token)
}

func (p *principal) isAdmin() bool { return p.user.Role == roleAdmin }

// ownsExtension reports whether a user-role caller may manage number.
func (p *principal) ownsExtension(number string) bool {
	return p.user.Extension != "" && p.user.Extension == number
}

func principalOf(c echo.Context) *principal {
	p, _ := c.Get(principalKey).(*principal)
	return p
}

var errUnauthenticated = &apiError{Status: http.StatusUnauthorized, Message: "authentication required"}
var errBadToken = &apiError{Status: http.StatusUnauthorized, Message: "invalid or expired token"}

// authenticate accepts "Authorization: Bearer TOKEN" (a session or an API
// token) or the session cookie, and records the caller for the handlers.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, fromCookie, err := requestToken(c)
		if err != nil {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="pbx"`)
			return err
		}
		if fromCookie && unsafeMethod(c.Request().Method) {
			if err := checkCSRF(c.Request(), true); err != nil {
				return err
			}
		}
		p, err := s.lookupToken(c, token)
		if err != nil {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="pbx"`)
			return err
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// requestToken finds the caller's token; an Authorization header wins over
// the cookie so scripts are never confused by a stale browser session.
// fromCookie tells which it was: only a cookie rides along on a forged
// cross-site request.
func requestToken(c echo.Context) (token string, fromCookie bool, err error) {
	if h := c.Request().Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", false, &apiError{Status: http.StatusUnauthorized, Message: "Authorization header must be \"Bearer TOKEN\""}
		}
		return strings.TrimSpace(token), false, nil
	}
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		return ck.Value, true, nil
	}
	return "", false, errUnauthenticated
}

// csrfHeader must accompany every change made with the session cookie.
// A page on another site cannot add a custom header to a cross-origin
// request without a CORS preflight, which this server never grants, so
// its presence proves the request came from the console's own scripts
// (defence in depth beside the SameSite=Strict cookie).
const csrfHeader = "X-Requested-With"

var errCSRF = forbidden("cross-site request refused: changes made with the session cookie need the " + csrfHeader + " header and a same-origin Origin")

// checkCSRF refuses a request whose Origin (or, without one, Referer) names
// another site, and, when needHeader, one without csrfHeader.
func checkCSRF(r *http.Request, needHeader bool) error {
	if needHeader && r.Header.Get(csrfHeader) == "" {
		return errCSRF
	}
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return nil
	}
	u, err := url.Parse(src)
	if err != nil || !strings.EqualFold(u.Host, r.Host) {
		return errCSRF
	}
	return nil
}

func (s *Server) lookupToken(c echo.Context, token string) (*principal, error) {
	ctx := c.Request().Context()
	hash := hashToken(token)
	switch {
	case strings.HasPrefix(token, sessionPrefix):
		u, err := s.store.SessionUser(ctx, hash)
		if err != nil {
			return nil, s.tokenLookupError(err)
		}
		return &principal{user: u, sessionHash: hash}, nil
	case strings.HasPrefix(token, apiTokenPrefix):
		u, err := s.store.APITokenUser(ctx, hash)
		if err != nil {
			return nil, s.tokenLookupError(err)
		}
		if s.touches.due(hash, time.Now()) {
			if err := s.store.TouchAPIToken(ctx, hash); err != nil {
				s.log.Warn("recording API token use", "err", err)
			}
		}
		return &principal{user: u}, nil
	}
	return nil, errBadToken
}

func (s *Server) tokenLookupError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errBadToken
	}
	return err
}

// requireAdmin lets only the admin role through.
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := principalOf(c); p == nil || !p.isAdmin() {
			return errForbiddenAdmin
		}
		return next(c)
	}
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Extension string    `json:"extension"`
	ExpiresAt time.Time `json:"expires_at"`
}

var errBadLogin = &apiError{Status: http.StatusUnauthorized, Message: "invalid username or password"}

// login checks a password and opens a 24-hour session.
func (s *Server) login(c echo.Context) error {
	ip := c.RealIP()
	if wait := s.limiter.blocked(ip, time.Now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(secs))
		return newError(http.StatusTooManyRequests, "too many failed login attempts; try again in %d seconds", secs)
	}
	// A script logging in sends no Origin; a browser on another site does.
	if err := checkCSRF(c.Request(), false); err != nil {
		return err
	}
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	c.Set(auditUserKey, req.Username)
	fe := fieldErrors{}
	if req.Username == "" {
		fe.add("username", "required")
	}
	if req.Password == "" {
		fe.add("password", "required")
	}
	if err := fe.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.store.GetUser(ctx, req.Username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Spend the same bcrypt time as for a real user: response timing
		// must not reveal which usernames exist.
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(req.Password))
		s.limiter.fail(ip, time.Now())
		s.log.Info("login failed", "username", req.Username, "remote_ip", ip)
		return errBadLogin
	case err != nil:
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(req.Password)) != nil {
		s.limiter.fail(ip, time.Now())
		s.log.Info("login failed", "username", req.Username, "remote_ip", ip)
		return errBadLogin
	}
	token := newToken(sessionPrefix)
	expires := time.Now().Add(sessionLifetime).UTC().Truncate(time.Second)
	if err := s.store.CreateSession(ctx, hashToken(token), u.Username, expires); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(sessionLifetime / time.Second),
		HttpOnly: true,
		Secure:   c.IsTLS(),
		SameSite: http.SameSiteStrictMode,
	})
	return c.JSON(http.StatusOK, loginResponse{
		Token: token, Username: u.Username, Role: u.Role, Extension: u.Extension, ExpiresAt: expires,
	})
}

// logout ends the caller's session (an API token stays valid: revoke it
// through /tokens) and clears the cookie.
func (s *Server) logout(c echo.Context) error {
	p := principalOf(c)
	if p.sessionHash != "" {
		if err := s.store.DeleteSession(c.Request().Context(), p.sessionHash); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   c.IsTLS(),
		SameSite: http.SameSiteStrictMode,
	})
	return c.NoContent(http.StatusNoContent)
}

type meResponse struct {
	Username  string `json:"username"`
	Role      string `json:"role"`
	Extension string `json:"extension"`
}

// me tells the UI who is logged in, so it can pick the admin or the
// self-service view.
func (s *Server) me(c echo.Context) error {
	p := principalOf(c)
	return c.JSON(http.StatusOK, meResponse{Username: p.user.Username, Role: p.user.Role, Extension: p.user.Extension})
}
