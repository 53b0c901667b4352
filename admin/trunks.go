package admin

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
	"github.com/officepbx/pbx/pbx/trunk"
)

// TrunkStatuses is the trunks' live registration state (the engine's
// trunk manager).
type TrunkStatuses interface {
	Status(name string) (trunk.Status, bool)
}

type trunkStatusJSON struct {
	State         string     `json:"state"`
	LastError     string     `json:"last_error,omitempty"`
	NextRetry     *time.Time `json:"next_retry,omitempty"`
	RegisteredAt  *time.Time `json:"registered_at,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	Registrations int        `json:"registrations"`
	Failures      int        `json:"failures"`
}

type trunkJSON struct {
	Name      string          `json:"name"`
	Host      string          `json:"host"`
	Port      int             `json:"port"`
	Transport string          `json:"transport"`
	Username  string          `json:"username"`
	HasSecret bool            `json:"has_secret"`
	Register  bool            `json:"register"`
	Expires   int             `json:"expires"`
	FromUser  string          `json:"from_user"`
	Context   string          `json:"context"`
	Match     []string        `json:"match"`
	Status    trunkStatusJSON `json:"status"`
}

type trunkInput struct {
	Name      *string   `json:"name"`
	Host      *string   `json:"host"`
	Port      *int      `json:"port"`
	Transport *string   `json:"transport"`
	Username  *string   `json:"username"`
	Secret    *string   `json:"secret"`
	Register  *bool     `json:"register"`
	Expires   *int      `json:"expires"`
	FromUser  *string   `json:"from_user"`
	Context   *string   `json:"context"`
	Match     *[]string `json:"match"`
}

func (in *trunkInput) apply(t *store.Trunk) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&t.Host, in.Host)
	set(&t.Transport, in.Transport)
	set(&t.Username, in.Username)
	set(&t.Secret, in.Secret)
	set(&t.FromUser, in.FromUser)
	set(&t.Context, in.Context)
	if in.Port != nil {
		t.Port = *in.Port
	}
	if in.Register != nil {
		t.Register = *in.Register
	}
	if in.Expires != nil {
		t.ExpiresSeconds = *in.Expires
	}
	if in.Match != nil {
		t.Match = *in.Match
	}
}

var (
	trunkNameRe    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,31}$`)
	contextNameRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)
	trunkHostRe    = regexp.MustCompile(`^[A-Za-z0-9.:\[\]-]{1,253}$`)
	trunkFromUser  = regexp.MustCompile(`^[0-9+*#A-Za-z._-]{0,64}$`)
	trunkTransport = map[string]bool{"udp": true, "tcp": true, "tls": true}
)

func validateTrunk(t *store.Trunk, fe fieldErrors) {
	if !trunkNameRe.MatchString(t.Name) {
		fe.add("name", "1-32 letters, digits, '-', '_' or '.', starting with a letter")
	}
	if !trunkHostRe.MatchString(t.Host) {
		fe.add("host", "required: the provider's host name or IP address")
	}
	if t.Port != 0 && (t.Port < 1 || t.Port > 65535) {
		fe.add("port", "from 1 to 65535")
	}
	if t.Transport != "" && !trunkTransport[t.Transport] {
		fe.add("transport", "udp, tcp or tls")
	}
	if t.ExpiresSeconds != 0 && (t.ExpiresSeconds < 5 || t.ExpiresSeconds > 86400) {
		fe.add("expires", "from 5 to 86400 seconds")
	}
	if t.Register && t.Username == "" {
		fe.add("username", "required when the trunk registers")
	}
	if !trunkFromUser.MatchString(t.FromUser) {
		fe.add("from_user", "a number or SIP user of up to 64 characters")
	}
	if t.Context != "" && !contextNameRe.MatchString(t.Context) {
		fe.add("context", "a dial-plan context name")
	}
	for _, m := range t.Match {
		if _, err := trunk.ParseMatch(m); err != nil {
			fe.add("match", err.Error())
			break
		}
	}
}

func (s *Server) toTrunkJSON(t store.Trunk) trunkJSON {
	out := trunkJSON{Name: t.Name, Host: t.Host, Port: t.Port, Transport: t.Transport, Username: t.Username,
		HasSecret: t.Secret != "", Register: t.Register, Expires: t.ExpiresSeconds, FromUser: t.FromUser,
		Context: t.Context, Match: t.Match}
	if out.Match == nil {
		out.Match = []string{}
	}
	out.Status.State = trunk.StateUnregistered
	if s.cfg.Trunks != nil {
		if st, ok := s.cfg.Trunks.Status(t.Name); ok {
			tp := func(v time.Time) *time.Time {
				if v.IsZero() {
					return nil
				}
				v = v.UTC()
				return &v
			}
			out.Status = trunkStatusJSON{State: st.State, LastError: st.LastError, NextRetry: tp(st.NextRetry),
				RegisteredAt: tp(st.RegisteredAt), ExpiresAt: tp(st.ExpiresAt), Registrations: st.Registrations,
				Failures: st.Failures}
		}
	}
	return out
}

func (s *Server) listTrunks(c echo.Context) error {
	list, err := s.store.ListTrunks(c.Request().Context())
	if err != nil {
		return err
	}
	items := make([]trunkJSON, 0, len(list))
	for _, t := range list {
		items = append(items, s.toTrunkJSON(t))
	}
	return c.JSON(http.StatusOK, page[trunkJSON]{Items: items})
}

func (s *Server) createTrunk(c echo.Context) error {
	var in trunkInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t := store.Trunk{Name: deref(in.Name)}
	in.apply(&t)
	fe := fieldErrors{}
	validateTrunk(&t, fe)
	if err := fe.err(); err != nil {
		return err
	}
	err := s.store.CreateTrunk(c.Request().Context(), &t)
	if errors.Is(err, store.ErrExists) {
		return conflict("trunk %s already exists", t.Name)
	} else if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/trunks/"+t.Name)
	return c.JSON(http.StatusCreated, s.toTrunkJSON(t))
}

func (s *Server) getTrunk(c echo.Context) error {
	t, err := s.loadTrunk(c.Request().Context(), pathParam(c, "name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.toTrunkJSON(t))
}

// putTrunk replaces a trunk; an omitted secret keeps the stored one.
func (s *Server) putTrunk(c echo.Context) error {
	var in trunkInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	old, err := s.loadTrunk(c.Request().Context(), pathParam(c, "name"))
	if err != nil {
		return err
	}
	t := store.Trunk{Name: old.Name, Secret: old.Secret}
	return s.saveTrunk(c, &in, &t)
}

func (s *Server) patchTrunk(c echo.Context) error {
	var in trunkInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := s.loadTrunk(c.Request().Context(), pathParam(c, "name"))
	if err != nil {
		return err
	}
	return s.saveTrunk(c, &in, &t)
}

func (s *Server) saveTrunk(c echo.Context, in *trunkInput, t *store.Trunk) error {
	fe := fieldErrors{}
	if in.Name != nil && *in.Name != t.Name {
		fe.add("name", "does not match the trunk in the path ("+t.Name+"); names cannot be changed")
	}
	in.apply(t)
	validateTrunk(t, fe)
	if err := fe.err(); err != nil {
		return err
	}
	err := s.store.UpdateTrunk(c.Request().Context(), t)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no trunk %s", t.Name)
	} else if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.toTrunkJSON(*t))
}

// deleteTrunk removes a trunk unless something still sends calls to it.
func (s *Server) deleteTrunk(c echo.Context) error {
	name := pathParam(c, "name")
	err := s.store.DeleteTrunk(c.Request().Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("no trunk %s", name)
	case errors.Is(err, store.ErrInUse):
		return conflict("cannot delete trunk %s: %v", name, err)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) loadTrunk(ctx context.Context, name string) (store.Trunk, error) {
	t, err := s.store.GetTrunk(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return t, notFound("no trunk %s", name)
	}
	return t, err
}
