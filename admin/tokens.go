package admin

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// touchInterval is how often an API token's last_used_at is written at
// most: a script polling every second must not turn reads into writes.
const touchInterval = time.Minute

// touchTracker remembers when each API token's use was last recorded.
type touchTracker struct {
	mu   sync.Mutex
	last map[string]time.Time // token hash -> last recorded use
}

func newTouchTracker() *touchTracker {
	return &touchTracker{last: make(map[string]time.Time)}
}

// due reports whether the use of token hash at now should be written, and
// if so notes it as written.
func (t *touchTracker) due(hash string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if at, ok := t.last[hash]; ok && now.Sub(at) < touchInterval {
		return false
	}
	if len(t.last) >= 1024 { // only valid tokens get here, but revoked ones linger
		for h, at := range t.last {
			if now.Sub(at) >= touchInterval {
				delete(t.last, h)
			}
		}
	}
	t.last[hash] = now
	return true
}

type tokenRequest struct {
	Name string `json:"name"`
}

type createdToken struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Token     string    `json:"token"`
	CreatedAt time.Time `json:"created_at"`
}

type tokenJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Username   string     `json:"username"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// createToken makes an API token for the caller. The token is in this
// answer only; the store keeps its hash.
func (s *Server) createToken(c echo.Context) error {
	var req tokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fe := fieldErrors{}
	if req.Name == "" {
		fe.add("name", "required")
	} else if msg := checkText(req.Name, maxNameLen); msg != "" {
		fe.add("name", msg)
	}
	if err := fe.err(); err != nil {
		return err
	}
	p := principalOf(c)
	token := newToken(apiTokenPrefix)
	t := store.APIToken{Name: req.Name, Username: p.user.Username}
	if err := s.store.CreateAPIToken(c.Request().Context(), &t, hashToken(token)); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/tokens/"+strconv.FormatInt(t.ID, 10))
	return c.JSON(http.StatusCreated, createdToken{ID: t.ID, Name: t.Name, Token: token, CreatedAt: t.CreatedAt})
}

// listTokens lists the caller's tokens; an admin sees everyone's.
func (s *Server) listTokens(c echo.Context) error {
	p := principalOf(c)
	owner := p.user.Username
	if p.isAdmin() {
		owner = ""
	}
	tokens, err := s.store.ListAPITokens(c.Request().Context(), owner)
	if err != nil {
		return err
	}
	items := make([]tokenJSON, 0, len(tokens))
	for _, t := range tokens {
		j := tokenJSON{ID: t.ID, Name: t.Name, Username: t.Username, CreatedAt: t.CreatedAt}
		if !t.LastUsedAt.IsZero() {
			used := t.LastUsedAt
			j.LastUsedAt = &used
		}
		items = append(items, j)
	}
	return c.JSON(http.StatusOK, page[tokenJSON]{Items: items})
}

// deleteToken revokes a token: the caller's own, or any for an admin.
func (s *Server) deleteToken(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return notFound("no token %q", c.Param("id"))
	}
	p := principalOf(c)
	owner := p.user.Username
	if p.isAdmin() {
		owner = ""
	}
	err = s.store.DeleteAPIToken(c.Request().Context(), id, owner)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no token %d", id)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
