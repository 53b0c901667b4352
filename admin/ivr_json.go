package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// ivrJSON is an IVR menu as the API shows it.
type ivrJSON struct {
	Number        string            `json:"number"`
	Name          string            `json:"name"`
	Greeting      string            `json:"greeting"`
	Options       map[string]string `json:"options"`
	TimeoutS      int               `json:"timeout_s"`
	Retries       int               `json:"retries"`
	OnTimeout     string            `json:"on_timeout"`
	OnInvalid     string            `json:"on_invalid"`
	DirectDial    bool              `json:"direct_dial"`
	InvalidPrompt string            `json:"invalid_prompt"`
	TimeoutPrompt string            `json:"timeout_prompt"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

func toIVRJSON(v store.IVR) ivrJSON {
	opts := v.Options
	if opts == nil {
		opts = map[string]string{}
	}
	return ivrJSON{
		Number: v.Number, Name: v.Name, Greeting: v.Greeting, Options: opts, TimeoutS: v.TimeoutSeconds,
		Retries: v.Retries, OnTimeout: v.OnTimeout, OnInvalid: v.OnInvalid, DirectDial: v.DirectDial,
		InvalidPrompt: v.InvalidPrompt, TimeoutPrompt: v.TimeoutPrompt, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
	}
}

// ivrInput is a request body for POST, PUT and PATCH; nil fields were
// omitted (as is a field given as null). options is one field: given, it
// replaces all options; {} clears them.
type ivrInput struct {
	Number        *string            `json:"number"`
	Name          *string            `json:"name"`
	Greeting      *string            `json:"greeting"`
	Options       *map[string]string `json:"options"`
	TimeoutS      *int               `json:"timeout_s"`
	Retries       *int               `json:"retries"`
	OnTimeout     *string            `json:"on_timeout"`
	OnInvalid     *string            `json:"on_invalid"`
	DirectDial    *bool              `json:"direct_dial"`
	InvalidPrompt *string            `json:"invalid_prompt"`
	TimeoutPrompt *string            `json:"timeout_prompt"`
	// Read-only; accepted and ignored so a GET body can be PUT back as is.
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

// defaultIVR is what a POST or PUT starts from.
func defaultIVR(number string) store.IVR {
	return store.IVR{Number: number, Options: map[string]string{}, TimeoutSeconds: 5, Retries: 3,
		OnTimeout: "hangup", OnInvalid: "hangup", DirectDial: true}
}

// apply copies the given fields onto v; the number is the caller's.
func (in *ivrInput) apply(v *store.IVR) {
	set(&v.Name, in.Name)
	set(&v.Greeting, in.Greeting)
	if in.Options != nil && *in.Options != nil {
		v.Options = *in.Options
	}
	set(&v.TimeoutSeconds, in.TimeoutS)
	set(&v.Retries, in.Retries)
	set(&v.OnTimeout, in.OnTimeout)
	set(&v.OnInvalid, in.OnInvalid)
	set(&v.DirectDial, in.DirectDial)
	set(&v.InvalidPrompt, in.InvalidPrompt)
	set(&v.TimeoutPrompt, in.TimeoutPrompt)
}

// validateIVR checks every field of v and adds each problem to fe. Options
// may send the caller to this menu again or to other menus. The error is
// only for a failing store.
func (s *Server) validateIVR(ctx context.Context, v *store.IVR, fe fieldErrors) error {
	if !isDigits(v.Number, 2, 10) {
		fe.add("number", "must be 2 to 10 digits")
	}
	if msg := checkText(v.Name, maxNameLen); msg != "" {
		fe.add("name", msg)
	}
	for _, p := range []struct{ field, name, builtin string }{
		{"greeting", v.Greeting, "welcome"},
		{"invalid_prompt", v.InvalidPrompt, "invalid-option"},
		{"timeout_prompt", v.TimeoutPrompt, "no-input"},
	} {
		msg, err := s.promptProblem(ctx, p.name, p.builtin)
		if err != nil {
			return err
		}
		if msg != "" {
			fe.add(p.field, msg)
		}
	}
	self := "ivr:" + v.Number
	for key, dest := range v.Options {
		if !store.IsIVRKey(key) {
			fe.add("options", fmt.Sprintf("key %q is not one of 0-9, *, #", key))
			continue
		}
		if err := s.checkDestination(ctx, fe, "options."+key, dest, self); err != nil {
			return err
		}
	}
	if v.TimeoutSeconds < 1 || v.TimeoutSeconds > 60 {
		fe.add("timeout_s", "must be from 1 to 60")
	}
	if v.Retries < 0 || v.Retries > 10 {
		fe.add("retries", "must be from 0 to 10")
	}
	if err := s.checkDestination(ctx, fe, "on_timeout", v.OnTimeout, self); err != nil {
		return err
	}
	return s.checkDestination(ctx, fe, "on_invalid", v.OnInvalid, self)
}

// checkDestination adds the problem of a destination field, if any, to fe.
// self is the destination of the object configured, allowed to point at
// itself.
func (s *Server) checkDestination(ctx context.Context, fe fieldErrors, field, dest, self string) error {
	msg, err := s.store.DestinationProblem(ctx, dest, self)
	if err != nil {
		return err
	}
	if msg != "" {
		fe.add(field, msg)
	}
	return nil
}

// promptProblem checks a prompt field: "" plays the built-in prompt named
// def; anything else must be an uploaded prompt or one the binary carries.
func (s *Server) promptProblem(ctx context.Context, name, def string) (string, error) {
	if name == "" {
		return "", nil
	}
	if msg := store.PromptNameProblem(name); msg != "" {
		return "is not a prompt name: " + msg, nil
	}
	if s.promptBuiltin(name) {
		return "", nil
	}
	_, err := s.store.GetPrompt(ctx, name)
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, store.ErrNotFound):
		return "no prompt " + name + " (upload it under Prompts, or leave empty for the built-in " + def + ")", nil
	}
	return "", err
}

// promptBuiltin reports whether name is a prompt the binary carries.
func (s *Server) promptBuiltin(name string) bool {
	_, ok := s.builtins.get(name)
	return ok
}
