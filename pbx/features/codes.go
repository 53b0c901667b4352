// Package features is the call application of the numbering plan's
// feature codes that the PBX answers itself: *43 (the echo test) and the
// settings codes *72NUMBER/*73 (forward all on/off) and *78/*79 (do not
// disturb on/off). It uses only the callapp seam and the store.
package features

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/callapp"
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

// EchoTest is the feature code of the echo test: the PBX answers and sends
// the caller's audio back.
const EchoTest = "*43"

// IsCode reports whether dialed is a feature code this application takes.
func IsCode(dialed string) bool {
	if dialed == EchoTest {
		return true
	}
	_, ok := parseFeatureCode(dialed)
	return ok
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

// Cause is the call record's hang-up cause after a settings code.
const Cause = "feature code done"

// App answers feature codes.
type App struct {
	Store *store.Store
	Log   *slog.Logger
}

// Run carries out the code dialed: the echo test echoes until the caller
// hangs up; a settings code is stored for the caller's extension, the
// caller hears a confirmation tone (or an error tone) and the PBX hangs
// up.
func (a App) Run(call callapp.Call, code string) {
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("call", call.ID())
	if code == EchoTest {
		call.Echo()
		<-call.Context().Done()
		return
	}
	fc, ok := parseFeatureCode(code)
	if !ok {
		call.Hangup(Cause)
		return
	}
	tone := media.ConfirmTone()
	if err := fc.apply(call.Context(), a.Store, call.Caller().Number); err != nil {
		log.Info("feature code refused", "code", fc.name, "error", err)
		tone = media.ErrorTone()
	} else {
		log.Info("feature code", "code", fc.name)
	}
	call.Play(call.Context(), media.NewToneSource(tone), false)
	call.Hangup(Cause)
}
