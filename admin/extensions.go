package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// listExtensions pages extensions, filtered by ?q= (number prefix, name or
// email substring). Secrets stay out of lists.
func (s *Server) listExtensions(c echo.Context) error {
	opt, err := listOptions(c)
	if err != nil {
		return err
	}
	exts, next, err := s.store.ListExtensions(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	items := make([]extensionJSON, 0, len(exts))
	for _, e := range exts {
		items = append(items, toExtensionJSON(e, false))
	}
	return c.JSON(http.StatusOK, page[extensionJSON]{Items: items, NextCursor: next})
}

// createExtension stores a new extension; without a secret it gets a
// generated strong one, shown in this answer.
func (s *Server) createExtension(c echo.Context) error {
	var in extensionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	fe := fieldErrors{}
	if in.Number == nil {
		fe.add("number", "required")
	}
	e := defaultExtension(deref(in.Number))
	in.apply(&e)
	secretGiven := in.Secret != nil && *in.Secret != ""
	if secretGiven {
		e.Secret = *in.Secret
	} else {
		e.Secret = GenerateSecret()
	}
	ctx := c.Request().Context()
	if err := s.validateExtension(ctx, &e, secretGiven, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.CreateExtension(ctx, &e); err != nil {
		if errors.Is(err, store.ErrNumberTaken) {
			return numberTaken(e.Number)
		}
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/extensions/"+e.Number)
	return c.JSON(http.StatusCreated, toExtensionJSON(e, true))
}

func numberTaken(number string) error {
	return &apiError{
		Status:  http.StatusConflict,
		Message: "number " + number + " is already in use",
		Fields:  map[string]string{"number": "already in use"},
	}
}

// getExtension shows one extension with its SIP secret: admins, or the
// user whose extension it is.
func (s *Server) getExtension(c echo.Context) error {
	number := pathParam(c, "number")
	if p := principalOf(c); !p.isAdmin() && !p.ownsExtension(number) {
		return forbidden("forbidden: you may only see your own extension")
	}
	e, err := s.loadExtension(c.Request().Context(), number)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toExtensionJSON(e, true))
}

// putExtension replaces an extension; an omitted or empty secret keeps the
// stored one.
func (s *Server) putExtension(c echo.Context) error {
	number := pathParam(c, "number")
	var in extensionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	old, err := s.loadExtension(ctx, number)
	if err != nil {
		return err
	}
	e := defaultExtension(number)
	e.CreatedAt = old.CreatedAt
	e.Secret = old.Secret
	return s.saveExtension(c, &in, &e)
}

// patchExtension changes the fields given. A user-role caller may change
// only forward, dnd, call_waiting and voicemail.pin of their own extension.
func (s *Server) patchExtension(c echo.Context) error {
	number := pathParam(c, "number")
	p := principalOf(c)
	if !p.isAdmin() && !p.ownsExtension(number) {
		return forbidden("forbidden: you may only change your own extension")
	}
	var in extensionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if !p.isAdmin() {
		if bad := in.selfServiceViolations(); len(bad) > 0 {
			return forbidden("forbidden: users may change only forward, dnd, call_waiting and voicemail.pin of their extension, not %s",
				strings.Join(bad, ", "))
		}
	}
	e, err := s.loadExtension(c.Request().Context(), number)
	if err != nil {
		return err
	}
	return s.saveExtension(c, &in, &e)
}

// saveExtension applies in to e (the stored extension for PATCH, defaults
// for PUT), validates and writes it.
func (s *Server) saveExtension(c echo.Context, in *extensionInput, e *store.Extension) error {
	fe := fieldErrors{}
	if in.Number != nil && *in.Number != e.Number {
		fe.add("number", "does not match the extension in the path ("+e.Number+"); numbers cannot be changed")
	}
	in.apply(e)
	secretGiven := in.Secret != nil && *in.Secret != ""
	if secretGiven {
		e.Secret = *in.Secret
	}
	ctx := c.Request().Context()
	if err := s.validateExtension(ctx, e, secretGiven, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.UpdateExtension(ctx, e); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no extension %s", e.Number)
		}
		return err
	}
	return c.JSON(http.StatusOK, toExtensionJSON(*e, true))
}

type secretJSON struct {
	Secret string `json:"secret"`
}

// regenerateSecret gives an extension a new generated strong SIP secret, for
// when the old one leaked or a phone is handed on. Phones using the old one
// fail their next registration.
func (s *Server) regenerateSecret(c echo.Context) error {
	number := pathParam(c, "number")
	ctx := c.Request().Context()
	e, err := s.loadExtension(ctx, number)
	if err != nil {
		return err
	}
	e.Secret = GenerateSecret()
	if err := s.store.UpdateExtension(ctx, &e); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no extension %s", number)
		}
		return err
	}
	return c.JSON(http.StatusOK, secretJSON{Secret: e.Secret})
}

// deleteExtension removes an extension unless another one forwards to it.
func (s *Server) deleteExtension(c echo.Context) error {
	number := pathParam(c, "number")
	err := s.store.DeleteExtension(c.Request().Context(), number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("no extension %s", number)
	case errors.Is(err, store.ErrInUse):
		return conflict("cannot delete extension %s: %v", number, err)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) loadExtension(ctx context.Context, number string) (store.Extension, error) {
	e, err := s.store.GetExtension(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return e, notFound("no extension %s", number)
	}
	return e, err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
