package admin

import (
	"context"
	"errors"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// liveRooms is the conference application's live rooms, or none.
func (s *Server) liveRooms() map[string]LiveRoom {
	if s.cfg.Conferences == nil {
		return nil
	}
	return s.cfg.Conferences.LiveRooms()
}

// listConferences pages conference rooms, filtered by ?q= (number prefix
// or name substring), each with its live participant count.
func (s *Server) listConferences(c echo.Context) error {
	opt, err := listOptions(c)
	if err != nil {
		return err
	}
	rooms, next, err := s.store.ListConferences(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	live := s.liveRooms()
	items := make([]conferenceJSON, 0, len(rooms))
	for _, r := range rooms {
		items = append(items, toConferenceJSON(r, live[r.Number]))
	}
	return c.JSON(http.StatusOK, page[conferenceJSON]{Items: items, NextCursor: next})
}

// createConference stores a new room; omitted fields take their defaults.
func (s *Server) createConference(c echo.Context) error {
	var in conferenceInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	fe := fieldErrors{}
	if in.Number == nil {
		fe.add("number", "required")
	}
	r := defaultConference(deref(in.Number))
	in.apply(&r)
	ctx := c.Request().Context()
	if err := s.validateConference(ctx, &r, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.CreateConference(ctx, &r); err != nil {
		return writeError(err, r.Number)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/conferences/"+r.Number)
	return c.JSON(http.StatusCreated, toConferenceJSON(r, LiveRoom{}))
}

func (s *Server) getConference(c echo.Context) error {
	r, err := s.loadConference(c.Request().Context(), pathParam(c, "number"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toConferenceJSON(r, s.liveRooms()[r.Number]))
}

// putConference replaces a room: omitted fields take their defaults.
func (s *Server) putConference(c echo.Context) error {
	number := pathParam(c, "number")
	var in conferenceInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	old, err := s.loadConference(c.Request().Context(), number)
	if err != nil {
		return err
	}
	r := defaultConference(number)
	r.CreatedAt = old.CreatedAt
	return s.saveConference(c, &in, &r)
}

// patchConference changes the fields given.
func (s *Server) patchConference(c echo.Context) error {
	number := pathParam(c, "number")
	var in conferenceInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := s.loadConference(c.Request().Context(), number)
	if err != nil {
		return err
	}
	return s.saveConference(c, &in, &r)
}

func (s *Server) saveConference(c echo.Context, in *conferenceInput, r *store.Conference) error {
	fe := fieldErrors{}
	if in.Number != nil && *in.Number != r.Number {
		fe.add("number", "does not match the conference room in the path ("+r.Number+"); numbers cannot be changed")
	}
	in.apply(r)
	ctx := c.Request().Context()
	if err := s.validateConference(ctx, r, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.UpdateConference(ctx, r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no conference room %s", r.Number)
		}
		return writeError(err, r.Number)
	}
	return c.JSON(http.StatusOK, toConferenceJSON(*r, s.liveRooms()[r.Number]))
}

// deleteConference removes a room unless something sends calls to it.
// Callers in it stay until they hang up.
func (s *Server) deleteConference(c echo.Context) error {
	number := pathParam(c, "number")
	err := s.store.DeleteConference(c.Request().Context(), number)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("no conference room %s", number)
	case errors.Is(err, store.ErrInUse):
		return conflict("cannot delete conference room %s: %v", number, err)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) loadConference(ctx context.Context, number string) (store.Conference, error) {
	r, err := s.store.GetConference(ctx, number)
	if errors.Is(err, store.ErrNotFound) {
		return r, notFound("no conference room %s", number)
	}
	return r, err
}

// participants is room number's live participants (none if nobody is in
// it).
func (s *Server) participants(number string) []participantJSON {
	items := []participantJSON{}
	if s.cfg.Conferences == nil {
		return items
	}
	for _, p := range s.cfg.Conferences.ConferenceParticipants(number) {
		items = append(items, toParticipantJSON(p))
	}
	return items
}

// listParticipants is GET /conferences/{number}/participants.
func (s *Server) listParticipants(c echo.Context) error {
	r, err := s.loadConference(c.Request().Context(), pathParam(c, "number"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page[participantJSON]{Items: s.participants(r.Number)})
}

// patchParticipant mutes or unmutes a participant: {"muted": bool}.
func (s *Server) patchParticipant(c echo.Context) error {
	number, id := pathParam(c, "number"), pathParam(c, "id")
	var in struct {
		Muted *bool `json:"muted"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Muted == nil {
		fe := fieldErrors{}
		fe.add("muted", "required (true or false)")
		return fe.err()
	}
	if _, err := s.loadConference(c.Request().Context(), number); err != nil {
		return err
	}
	if s.cfg.Conferences == nil {
		return notFound("no participant %s in conference room %s", id, number)
	}
	p, ok := s.cfg.Conferences.SetParticipantMuted(number, id, *in.Muted)
	if !ok {
		return notFound("no participant %s in conference room %s", id, number)
	}
	return c.JSON(http.StatusOK, toParticipantJSON(p))
}

// kickParticipant removes a participant and ends their call.
func (s *Server) kickParticipant(c echo.Context) error {
	number, id := pathParam(c, "number"), pathParam(c, "id")
	if _, err := s.loadConference(c.Request().Context(), number); err != nil {
		return err
	}
	if s.cfg.Conferences == nil || !s.cfg.Conferences.KickParticipant(number, id) {
		return notFound("no participant %s in conference room %s", id, number)
	}
	return c.NoContent(http.StatusNoContent)
}

// liveConferences is every live room with its participants, by number,
// for the event stream.
func (s *Server) liveConferences() []liveConferenceJSON {
	out := []liveConferenceJSON{}
	for number, r := range s.liveRooms() {
		out = append(out, liveConferenceJSON{Number: number, Locked: r.Locked, Participants: s.participants(number)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}
