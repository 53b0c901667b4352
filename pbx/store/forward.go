package store

import (
	"context"
	"errors"

	"github.com/officepbx/pbx/dialplan"
)

// ForwardProblem checks a forward destination of extension self, for
// every writer of forwards (the REST API, the *72 feature code): "" is
// off; anything else must parse and point at something that exists, so a
// dangling forward is refused now rather than a failed call later. It
// returns what is wrong ("" if nothing); the error is only for a failing
// store.
func (s *Store) ForwardProblem(ctx context.Context, dest, self string) (string, error) {
	if dest == "" {
		return "", nil
	}
	d, err := dialplan.ParseDestination(dest)
	if err != nil {
		return err.Error(), nil
	}
	switch d.Kind {
	case dialplan.KindHangup, dialplan.KindNumber:
		return "", nil
	case dialplan.KindTrunk:
		return "no trunk " + d.Trunk, nil // trunks are not configurable yet
	case dialplan.KindVoicemail:
		if d.Number == self {
			return "", nil // "send my calls to my voicemail" is a normal wish
		}
		return s.NumberProblem(ctx, d.Number, "extension")
	case dialplan.KindExtension:
		if d.Number == self {
			return "cannot forward an extension to itself", nil
		}
		return s.NumberProblem(ctx, d.Number, "extension")
	}
	return s.NumberProblem(ctx, d.Number, d.Kind) // ringgroup, ivr, conference
}

// NumberProblem returns "no KIND NUMBER" unless number is a number of
// kind want; the error is only for a failing store.
func (s *Store) NumberProblem(ctx context.Context, number, want string) (string, error) {
	kind, err := s.NumberKind(ctx, number)
	if errors.Is(err, ErrNotFound) || (err == nil && kind != want) {
		return "no " + want + " " + number, nil
	}
	return "", err
}
