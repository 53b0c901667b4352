package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Call is one live call as the calls API shows it.
type Call struct {
	ID         string
	From       string
	FromName   string
	To         string
	State      string // setup, ringing, answered, ending
	StartedAt  time.Time
	AnsweredAt time.Time // zero until answered
	Legs       []CallLeg
}

// CallLeg is one dialog of a live call.
type CallLeg struct {
	Role    string // caller or callee
	Number  string
	Contact string
	Source  string
	State   string
	Codec   string
	Holding bool // the phone has put the call on hold
	SRTP    bool // the leg's media is SRTP
}

// ErrNoSuchCall is what LiveCalls.Hangup returns for an unknown call.
var ErrNoSuchCall = errors.New("no such call")

// LiveCalls is the call engine's view of calls in progress.
type LiveCalls interface {
	Calls() []Call
	// Hangup ends a call (asynchronously); ErrNoSuchCall if there is none.
	Hangup(id string) error
}

type callLegJSON struct {
	Role    string `json:"role"`
	Number  string `json:"number"`
	Contact string `json:"contact"`
	Source  string `json:"source"`
	State   string `json:"state"`
	Codec   string `json:"codec"`
	Holding bool   `json:"holding"`
	SRTP    bool   `json:"srtp"`
}

type callJSON struct {
	ID         string        `json:"id"`
	From       string        `json:"from"`
	FromName   string        `json:"from_name"`
	To         string        `json:"to"`
	State      string        `json:"state"`
	StartedAt  time.Time     `json:"started_at"`
	AnsweredAt *time.Time    `json:"answered_at"`
	Legs       []callLegJSON `json:"legs"`
}

func toCallJSON(c Call) callJSON {
	out := callJSON{ID: c.ID, From: c.From, FromName: c.FromName, To: c.To, State: c.State,
		StartedAt: c.StartedAt.UTC(), Legs: make([]callLegJSON, len(c.Legs))}
	if !c.AnsweredAt.IsZero() {
		t := c.AnsweredAt.UTC()
		out.AnsweredAt = &t
	}
	for i, l := range c.Legs {
		out.Legs[i] = callLegJSON(l)
	}
	return out
}

// visibleCalls lists the calls p may see: all for an admin, a user's
// own extension's (as caller or callee) otherwise.
func (s *Server) visibleCalls(p *principal) []callJSON {
	items := []callJSON{}
	if s.cfg.Calls == nil || (!p.isAdmin() && p.user.Extension == "") {
		return items
	}
	for _, c := range s.cfg.Calls.Calls() {
		if !p.isAdmin() && c.From != p.user.Extension && c.To != p.user.Extension {
			continue
		}
		items = append(items, toCallJSON(c))
	}
	return items
}

// listCalls is GET /api/v1/calls: the calls in progress, oldest first.
// An office has at most a few hundred at once, so it is one page.
func (s *Server) listCalls(c echo.Context) error {
	return c.JSON(http.StatusOK, page[callJSON]{Items: s.visibleCalls(principalOf(c))})
}

// hangupCall is DELETE /api/v1/calls/{id} (admin): ends the call; both
// phones get BYE (or, while it rings, CANCEL and a final response).
func (s *Server) hangupCall(c echo.Context) error {
	if s.cfg.Calls == nil {
		return newError(http.StatusNotFound, "no call %s", pathParam(c, "id"))
	}
	id := pathParam(c, "id")
	if err := s.cfg.Calls.Hangup(id); errors.Is(err, ErrNoSuchCall) {
		return newError(http.StatusNotFound, "no call %s", id)
	} else if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
