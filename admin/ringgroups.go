package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// listRingGroups pages ring groups, filtered by ?q= (number prefix or name
// substring).
func (s *Server) listRingGroups(c echo.Context) error {
	opt, err := listOptions(c)
	if err != nil {
		return err
	}
	groups, next, err := s.store.ListRingGroups(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	items := make([]ringGroupJSON, 0, len(groups))
	for _, g := range groups {
		items = append(items, toRingGroupJSON(g))
	}
	return c.JSON(http.StatusOK, page[ringGroupJSON]{Items: items, NextCursor: next})
}

// createRingGroup stores a new ring group; omitted fields take their
// defaults, but members are required.
func (s *Server) createRingGroup(c echo.Context) error {
	var in ringGroupInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	fe := fieldErrors{}
	if in.Number == nil {
		fe.add("number", "required")
	}
	g := defaultRingGroup(deref(in.Number))
	in.apply(&g)
	ctx := c.Request().Context()
	if err := s.validateRingGroup(ctx, &g, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.CreateRingGroup(ctx, &g); err != nil {
		return writeError(err, g.Number)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/ringgroups/"+g.Number)
	return c.JSON(http.StatusCreated, toRingGroupJSON(g))
}

func (s *Server) getRingGroup(c echo.Context) error {
	g, err := s.loadRingGroup(c.Request().Context(), pathParam(c, "number"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRingGroupJSON(g))
}

// putRingGroup replaces a ring group: omitted fields take their defaults.
func (s *Server) putRingGroup(c echo.Context) error {
	number := pathParam(c, "number")
	var in ringGroupInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	old, err := s.loadRingGroup(c.Request().Context(), number)
	if err != nil {
		return err
	}
	g := defaultRingGroup(number)
	g.CreatedAt = old.CreatedAt
	return s.saveRingGroup(c, &in, &g)
}

// patchRingGroup changes the fields given; members, if given, replaces the
// list (and its order).
func (s *Server) patchRingGroup(c echo.Context) error {
	number := pathParam(c, "number")
	var in ringGroupInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	g, err := s.loadRingGroup(c.Request().Context(), number)
	if err != nil {
		return err
	}
	return s.saveRingGroup(c, &in, &g)
}

func (s *Server) saveRingGroup(c echo.Context, in *ringGroupInput, g *store.RingGroup) error {
	fe := fieldErrors{}
	if in.Number != nil && *in.Number != g.Number {
		fe.add("number", "does not match the ring group in the path ("+g.Number+"); numbers cannot be changed")
	}
	in.apply(g)
	ctx := c.Request().Context()
	if err := s.validateRingGroup(ctx, g, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.UpdateRingGroup(ctx, g); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no ring group %s", g.Number)
		}
		return writeError(err, g.Number)
	}
	return c.JSON(http.StatusOK, toRingGroupJSON(*g))
}

// deleteRingGroup removes a ring group unless something sends calls to it.
func (s *Server) deleteRingGroup(c echo.Context) error {
	number := pathParam(c, "number")
	err := s.store.DeleteRingGroup(c.Request().Context(), number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("no ring group %s", number)
	case errors.Is(err, store.ErrInUse):
		return conflict("cannot delete ring group %s: %v", number, err)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) loadRingGroup(ctx context.Context, number string) (store.RingGroup, error) {
	g, err := s.store.GetRingGroup(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return g, notFound("no ring group %s", number)
	}
	return g, err
}
