package store

import (
	"context"

	"github.com/officepbx/pbx/dialplan"
)

// ForwardProblem checks a forward destination of extension self, for
// every writer of forwards (the REST API, the *72 feature code): "" is
// off; anything else must pass DestinationProblem, so a dangling forward is
// refused now rather than a failed call later. An extension may forward to
// its own voicemail but not to itself. It returns what is wrong ("" if
// nothing); the error is only for a failing store.
func (s *Store) ForwardProblem(ctx context.Context, dest, self string) (string, error) {
	if dest == "" {
		return "", nil
	}
	d, err := dialplan.ParseDestination(dest)
	if err != nil {
		return err.Error(), nil
	}
	if d.Number == self {
		switch d.Kind {
		case dialplan.KindVoicemail:
			return "", nil // "send my calls to my voicemail" is a normal wish
		case dialplan.KindExtension:
			return "cannot forward an extension to itself", nil
		}
	}
	return destinationProblem(ctx, s.r, d, "")
}
