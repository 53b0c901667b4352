package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/dialplan"
)

// TraceRequest is a call to route without placing it.
type TraceRequest struct {
	Context      string // the context routing starts in; "internal" for calls from extensions
	Number       string // as dialled
	CallerNumber string
	Trunk        string    // the trunk an inbound call came in on, "" for none
	At           time.Time // when the call would be routed
}

// TraceResult is where a call would go and every step that decided it.
type TraceResult struct {
	Outcome      string // route, no_match, refused, hangup
	Reason       string // why, for no_match and refused
	Context      string // the context routing ended in
	Number       string // after strip and prefix
	CallerNumber string
	CallerName   string
	Attempts     []TraceAttempt
	Steps        []TraceStep
}

// TraceAttempt is one destination the call would try, in order.
type TraceAttempt struct {
	Destination string        // e.g. "extension:101"
	Ring        time.Duration // 0: the destination's own ring time
	Line        int           // the dial statement's line
}

// TraceStep is one line of the trace; Line is 0 for steps no line caused.
type TraceStep struct {
	Line    int
	Context string
	Text    string
}

// ErrUnknownContext is what Router.Trace returns (wrapped) for a context
// the plan does not have: a 400.
var ErrUnknownContext = errors.New("unknown context")

// ErrNoPlan is what Router.Trace returns (wrapped) when there is no usable
// dial plan to trace: a 409.
var ErrNoPlan = errors.New("no usable dial plan")

// Router is the call engine's routing, asked about a call without placing
// it, so that a trace shows what a real call would do.
type Router interface {
	Trace(ctx context.Context, req TraceRequest) (TraceResult, error)
}

type traceInput struct {
	Context *string `json:"context"`
	Number  *string `json:"number"`
	From    *string `json:"from"`
	At      *string `json:"at"`
	Trunk   *string `json:"trunk"`
}

type traceStepJSON struct {
	Line    int    `json:"line"`
	Context string `json:"context"`
	Text    string `json:"text"`
}

type traceAttemptJSON struct {
	Destination string `json:"destination"`
	RingS       int    `json:"ring_s"`
	Line        int    `json:"line"`
}

type traceJSON struct {
	Steps        []traceStepJSON    `json:"steps"`
	Outcome      string             `json:"outcome"`
	Reason       string             `json:"reason"`
	Context      string             `json:"context"`
	Attempts     []traceAttemptJSON `json:"attempts"`
	Number       string             `json:"number"`
	CallerNumber string             `json:"caller_number"`
	CallerName   string             `json:"caller_name"`
}

// traceDialplan is POST /api/v1/dialplan/trace: the routing steps a call
// would take, through the engine's routing, without placing it.
func (s *Server) traceDialplan(c echo.Context) error {
	var in traceInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	req := TraceRequest{Context: "internal", Number: deref(in.Number), CallerNumber: deref(in.From), Trunk: deref(in.Trunk), At: time.Now()}
	fe := fieldErrors{}
	if in.Context != nil && *in.Context != "" {
		req.Context = *in.Context
	}
	if !dialplan.IsName(req.Context) {
		fe.add("context", "must be a context name: letters, digits, '-', '_' and '.'")
	}
	switch {
	case in.Number == nil || req.Number == "":
		fe.add("number", "required: the number dialled")
	case !dialedNumber(req.Number):
		fe.add("number", "must be digits, * and #, with an optional leading +")
	}
	if req.CallerNumber != "" && !dialedNumber(req.CallerNumber) {
		fe.add("from", "must be digits, * and #, with an optional leading +")
	}
	if req.Trunk != "" && !dialplan.IsName(req.Trunk) {
		fe.add("trunk", "must be a trunk name: letters, digits, '-', '_' and '.'")
	}
	if in.At != nil && *in.At != "" {
		t, err := time.Parse(time.RFC3339, *in.At)
		if err != nil {
			fe.add("at", "must be an RFC 3339 time, e.g. 2026-12-24T09:30:00+01:00")
		}
		req.At = t
	}
	if err := fe.err(); err != nil {
		return err
	}
	if s.cfg.Router == nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "routing is not available")
	}
	res, err := s.cfg.Router.Trace(c.Request().Context(), req)
	switch {
	case errors.Is(err, ErrUnknownContext):
		return fieldError("context", "the dial plan has no context "+req.Context)
	case errors.Is(err, ErrNoPlan):
		return conflict("cannot trace: %v", err)
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, toTraceJSON(res))
}

func toTraceJSON(r TraceResult) traceJSON {
	out := traceJSON{Outcome: r.Outcome, Reason: r.Reason, Context: r.Context, Number: r.Number,
		CallerNumber: r.CallerNumber, CallerName: r.CallerName,
		Steps: make([]traceStepJSON, len(r.Steps)), Attempts: make([]traceAttemptJSON, len(r.Attempts))}
	for i, st := range r.Steps {
		out.Steps[i] = traceStepJSON(st)
	}
	for i, a := range r.Attempts {
		out.Attempts[i] = traceAttemptJSON{Destination: a.Destination, RingS: int(a.Ring / time.Second), Line: a.Line}
	}
	return out
}

// dialedNumber reports whether s could be dialled: 1-32 of digits, * and
// #, with an optional leading +.
func dialedNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	return len(s) >= 1 && len(s) <= 32 && strings.Trim(s, "0123456789*#") == ""
}
