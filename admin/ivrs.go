package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// listIVRs pages IVR menus, filtered by ?q= (number prefix or name
// substring).
func (s *Server) listIVRs(c echo.Context) error {
	opt, err := listOptions(c)
	if err != nil {
		return err
	}
	ivrs, next, err := s.store.ListIVRs(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	items := make([]ivrJSON, 0, len(ivrs))
	for _, v := range ivrs {
		items = append(items, toIVRJSON(v))
	}
	return c.JSON(http.StatusOK, page[ivrJSON]{Items: items, NextCursor: next})
}

// createIVR stores a new IVR menu; omitted fields take their defaults.
func (s *Server) createIVR(c echo.Context) error {
	var in ivrInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	fe := fieldErrors{}
	if in.Number == nil {
		fe.add("number", "required")
	}
	v := defaultIVR(deref(in.Number))
	in.apply(&v)
	ctx := c.Request().Context()
	if err := s.validateIVR(ctx, &v, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.CreateIVR(ctx, &v); err != nil {
		return writeError(err, v.Number)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/ivrs/"+v.Number)
	return c.JSON(http.StatusCreated, toIVRJSON(v))
}

func (s *Server) getIVR(c echo.Context) error {
	v, err := s.loadIVR(c.Request().Context(), pathParam(c, "number"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toIVRJSON(v))
}

// putIVR replaces an IVR menu: omitted fields take their defaults.
func (s *Server) putIVR(c echo.Context) error {
	number := pathParam(c, "number")
	var in ivrInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	old, err := s.loadIVR(c.Request().Context(), number)
	if err != nil {
		return err
	}
	v := defaultIVR(number)
	v.CreatedAt = old.CreatedAt
	return s.saveIVR(c, &in, &v)
}

// patchIVR changes the fields given; options, if given, replaces them all.
func (s *Server) patchIVR(c echo.Context) error {
	number := pathParam(c, "number")
	var in ivrInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.loadIVR(c.Request().Context(), number)
	if err != nil {
		return err
	}
	return s.saveIVR(c, &in, &v)
}

func (s *Server) saveIVR(c echo.Context, in *ivrInput, v *store.IVR) error {
	fe := fieldErrors{}
	if in.Number != nil && *in.Number != v.Number {
		fe.add("number", "does not match the IVR menu in the path ("+v.Number+"); numbers cannot be changed")
	}
	in.apply(v)
	ctx := c.Request().Context()
	if err := s.validateIVR(ctx, v, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.UpdateIVR(ctx, v); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no IVR menu %s", v.Number)
		}
		return writeError(err, v.Number)
	}
	return c.JSON(http.StatusOK, toIVRJSON(*v))
}

// deleteIVR removes an IVR menu unless something sends calls to it.
func (s *Server) deleteIVR(c echo.Context) error {
	number := pathParam(c, "number")
	err := s.store.DeleteIVR(c.Request().Context(), number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("no IVR menu %s", number)
	case errors.Is(err, store.ErrInUse):
		return conflict("cannot delete IVR menu %s: %v", number, err)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) loadIVR(ctx context.Context, number string) (store.IVR, error) {
	v, err := s.store.GetIVR(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return v, notFound("no IVR menu %s", number)
	}
	return v, err
}

// writeError maps a store write's refusal to the API's answer: a taken
// number is 409, a destination or member that vanished after validation
// (a concurrent delete) is a 400 on its field.
func writeError(err error, number string) error {
	var inv *store.InvalidError
	switch {
	case errors.Is(err, store.ErrNumberTaken):
		return numberTaken(number)
	case errors.As(err, &inv):
		fe := fieldErrors{}
		for k, v := range inv.Fields {
			fe.add(k, v)
		}
		return fe.err()
	}
	return err
}
