package app

import (
	"errors"

	"github.com/officepbx/pbx/admin"
	"github.com/officepbx/pbx/pbx"
)

// liveCalls shows the engine's calls to the admin API in its own types, so
// that admin needs no import of the call engine.
type liveCalls struct{ eng *pbx.Engine }

func (l liveCalls) Calls() []admin.Call {
	calls := l.eng.Calls()
	out := make([]admin.Call, len(calls))
	for i, c := range calls {
		out[i] = admin.Call{ID: c.ID, From: c.From, FromName: c.FromName, To: c.To, State: string(c.State),
			StartedAt: c.StartedAt, AnsweredAt: c.AnsweredAt, Legs: make([]admin.CallLeg, len(c.Legs))}
		for j, leg := range c.Legs {
			out[i].Legs[j] = admin.CallLeg(leg)
		}
	}
	return out
}

func (l liveCalls) Hangup(id string) error {
	err := l.eng.Hangup(id)
	if errors.Is(err, pbx.ErrCallNotFound) {
		return admin.ErrNoSuchCall
	}
	return err
}

// WatchCalls signals call changes (coalesced) for the admin event stream.
func (l liveCalls) WatchCalls() (<-chan struct{}, func()) { return l.eng.WatchCalls() }
