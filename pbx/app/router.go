package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/officepbx/pbx/admin"
	"github.com/officepbx/pbx/pbx"
)

// router shows the engine's routing to the admin API's trace, so a trace
// runs exactly the code a call meets (numbering plan, then the plan in
// force).
type router struct{ e *pbx.Engine }

func (r router) Trace(ctx context.Context, req admin.TraceRequest) (admin.TraceResult, error) {
	res, err := r.e.Trace(ctx, pbx.TraceRequest{Context: req.Context, Number: req.Number, From: req.CallerNumber,
		At: req.At, Trunk: req.Trunk})
	if errors.Is(err, pbx.ErrUnknownContext) {
		return admin.TraceResult{}, fmt.Errorf("%w: %w", admin.ErrUnknownContext, err)
	}
	if err != nil {
		return admin.TraceResult{}, err
	}
	out := admin.TraceResult{Outcome: res.Outcome, Reason: res.Reason, Context: res.Context, Number: res.Number,
		CallerNumber: res.CallerNumber, CallerName: res.CallerName}
	for _, a := range res.Attempts {
		out.Attempts = append(out.Attempts, admin.TraceAttempt{Destination: a.Destination, Ring: a.Ring, Line: a.Line})
	}
	for _, s := range res.Steps {
		out.Steps = append(out.Steps, admin.TraceStep{Line: s.Line, Context: s.Context, Text: s.Text})
	}
	return out, nil
}
