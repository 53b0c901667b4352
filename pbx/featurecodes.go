package pbx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// featureCode is a change a caller makes to its own extension by dialing
// a code: *72NUMBER forward all calls to NUMBER, *73 forward off, *78 do
// not disturb on, *79 off.
type featureCode struct {
	name    string // for logs and the CDR
	forward *string
	dnd     *bool
}

// parseFeatureCode recognises the settings codes of the numbering plan.
func parseFeatureCode(dialed string) (featureCode, bool) {
	on, off := true, false
	none := ""
	switch {
	case dialed == "*73":
		return featureCode{name: "forward off", forward: &none}, true
	case dialed == "*78":
		return featureCode{name: "do not disturb on", dnd: &on}, true
	case dialed == "*79":
		return featureCode{name: "do not disturb off", dnd: &off}, true
	case strings.HasPrefix(dialed, "*72") && dialplan.IsNumber(dialed[3:]):
		dest := dialed[3:]
		return featureCode{name: "forward on", forward: &dest}, true
	}
	return featureCode{}, false
}

// errBadFeature is a feature code the PBX cannot carry out (forward to a
// number that is not an extension, or to oneself).
var errBadFeature = errors.New("feature code refused")

// apply stores the change for the caller's extension.
func (fc featureCode) apply(ctx context.Context, st *store.Store, caller string) error {
	ext, err := st.GetExtension(ctx, caller)
	if err != nil {
		return err
	}
	if fc.dnd != nil {
		ext.DND = *fc.dnd
	}
	if fc.forward != nil {
		ext.Forward.Always = ""
		if to := *fc.forward; to != "" {
			ext.Forward.Always = "extension:" + to
		}
		// The same rule as the REST API: no forward to oneself or to what
		// does not exist.
		problem, err := st.ForwardProblem(ctx, ext.Forward.Always, caller)
		if err != nil {
			return err
		}
		if problem != "" {
			return fmt.Errorf("%w: %s", errBadFeature, problem)
		}
	}
	return st.UpdateExtension(ctx, &ext)
}

// setupFeature answers a feature code: the change is stored, the caller
// hears a confirmation tone (or an error tone) and the PBX hangs up. It
// owns ports.
func (c *call) setupFeature(fc featureCode, offer mediaOffer, ports *media.PortPair) (failure, bool) {
	ep, fail, ok := c.answerAlone(offer, ports, false)
	if !ok {
		return fail, false
	}
	tone := media.ConfirmTone()
	if err := fc.apply(c.e.ctx, c.e.cfg.Store, c.caller.Number); err != nil {
		c.log.Info("feature code refused", "code", fc.name, "error", err)
		tone = media.ErrorTone()
	} else {
		c.log.Info("feature code", "code", fc.name)
	}
	pb := ep.Play(media.NewToneSource(tone))
	c.e.calls.wg.Add(1) // the call's own count is held: answered
	go func() {
		defer c.e.calls.wg.Done()
		select {
		case <-pb.Done():
			c.stop(causeFeatureDone)
		case <-c.done:
		}
	}()
	return failure{}, true
}
