package admin

import (
	"encoding/json"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// extensionJSON is an extension as the API shows it.
type extensionJSON struct {
	Number         string        `json:"number"`
	Name           string        `json:"name"`
	Email          string        `json:"email"`
	Secret         string        `json:"secret,omitempty"` // left out of list items
	AuthAlgorithms []string      `json:"auth_algorithms"`
	RingSeconds    int           `json:"ring_seconds"`
	Voicemail      voicemailJSON `json:"voicemail"`
	Forward        forwardJSON   `json:"forward"`
	DND            bool          `json:"dnd"`
	CallWaiting    bool          `json:"call_waiting"`
	PickupGroup    string        `json:"pickup_group"`
	Outbound       string        `json:"outbound"`
	MaxCalls       int           `json:"max_calls"`
	SRTP           string        `json:"srtp"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

type voicemailJSON struct {
	Enabled         bool   `json:"enabled"`
	PIN             string `json:"pin"`
	MaxSeconds      int    `json:"max_seconds"`
	MaxMessages     int    `json:"max_messages"`
	DeleteAfterDays int    `json:"delete_after_days"`
	SkipPINOwn      bool   `json:"skip_pin_own"`
	Operator        string `json:"operator"`
	Email           bool   `json:"email"`
}

type forwardJSON struct {
	Always   string `json:"always"`
	Busy     string `json:"busy"`
	NoAnswer string `json:"no_answer"`
}

func toExtensionJSON(e store.Extension, withSecret bool) extensionJSON {
	j := extensionJSON{
		Number:         e.Number,
		Name:           e.Name,
		Email:          e.Email,
		AuthAlgorithms: e.AuthAlgorithms,
		RingSeconds:    e.RingSeconds,
		Voicemail: voicemailJSON{Enabled: e.Voicemail.Enabled, PIN: e.Voicemail.PIN, MaxSeconds: e.Voicemail.MaxSeconds,
			MaxMessages: e.Voicemail.MaxMessages, DeleteAfterDays: e.Voicemail.DeleteAfterDays,
			SkipPINOwn: e.Voicemail.SkipPINOwn, Operator: e.Voicemail.Operator, Email: e.Voicemail.Email},
		Forward:     forwardJSON{Always: e.Forward.Always, Busy: e.Forward.Busy, NoAnswer: e.Forward.NoAnswer},
		DND:         e.DND,
		CallWaiting: e.CallWaiting,
		PickupGroup: e.PickupGroup,
		Outbound:    e.Outbound,
		MaxCalls:    e.MaxCalls,
		SRTP:        e.SRTP,
		CreatedAt:   e.CreatedAt,
		UpdatedAt:   e.UpdatedAt,
	}
	if withSecret {
		j.Secret = e.Secret
	}
	return j
}

// extensionInput is a request body for POST, PUT and PATCH. Pointers tell an
// omitted field from a zero one: POST and PUT fill omitted fields with
// defaults, PATCH leaves them alone.
type extensionInput struct {
	Number         *string         `json:"number"`
	Name           *string         `json:"name"`
	Email          *string         `json:"email"`
	Secret         *string         `json:"secret"`
	AuthAlgorithms *[]string       `json:"auth_algorithms"`
	RingSeconds    *int            `json:"ring_seconds"`
	Voicemail      *voicemailInput `json:"voicemail"`
	Forward        *forwardInput   `json:"forward"`
	DND            *bool           `json:"dnd"`
	CallWaiting    *bool           `json:"call_waiting"`
	PickupGroup    *string         `json:"pickup_group"`
	Outbound       *string         `json:"outbound"`
	MaxCalls       *int            `json:"max_calls"`
	SRTP           *string         `json:"srtp"`
	// Read-only; accepted and ignored so a GET body can be PUT back as is.
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

type voicemailInput struct {
	Enabled         *bool   `json:"enabled"`
	PIN             *string `json:"pin"`
	MaxSeconds      *int    `json:"max_seconds"`
	MaxMessages     *int    `json:"max_messages"`
	DeleteAfterDays *int    `json:"delete_after_days"`
	SkipPINOwn      *bool   `json:"skip_pin_own"`
	Operator        *string `json:"operator"`
	Email           *bool   `json:"email"`
}

type forwardInput struct {
	Always   *string `json:"always"`
	Busy     *string `json:"busy"`
	NoAnswer *string `json:"no_answer"`
}

// defaultExtension is what a POST or PUT starts from.
func defaultExtension(number string) store.Extension {
	return store.Extension{
		Number:         number,
		AuthAlgorithms: []string{"MD5"}, // many deployed phones fail on any SHA-256 challenge
		RingSeconds:    20,
		Voicemail: store.Voicemail{Enabled: true, MaxSeconds: store.DefaultVoicemailMaxSeconds,
			MaxMessages: store.DefaultVoicemailMaxMessages, SkipPINOwn: true},
		CallWaiting: true,
		Outbound:    "internal",
		SRTP:        store.SRTPOptional,
	}
}

// apply copies the given fields onto e. Number and secret are left to the
// caller, which has rules for them.
func (in *extensionInput) apply(e *store.Extension) {
	set(&e.Name, in.Name)
	set(&e.Email, in.Email)
	if in.AuthAlgorithms != nil {
		e.AuthAlgorithms = *in.AuthAlgorithms
	}
	set(&e.RingSeconds, in.RingSeconds)
	if v := in.Voicemail; v != nil {
		set(&e.Voicemail.Enabled, v.Enabled)
		set(&e.Voicemail.PIN, v.PIN)
		set(&e.Voicemail.MaxSeconds, v.MaxSeconds)
		set(&e.Voicemail.MaxMessages, v.MaxMessages)
		set(&e.Voicemail.DeleteAfterDays, v.DeleteAfterDays)
		set(&e.Voicemail.SkipPINOwn, v.SkipPINOwn)
		set(&e.Voicemail.Operator, v.Operator)
		set(&e.Voicemail.Email, v.Email)
	}
	if f := in.Forward; f != nil {
		set(&e.Forward.Always, f.Always)
		set(&e.Forward.Busy, f.Busy)
		set(&e.Forward.NoAnswer, f.NoAnswer)
	}
	set(&e.DND, in.DND)
	set(&e.CallWaiting, in.CallWaiting)
	set(&e.PickupGroup, in.PickupGroup)
	set(&e.Outbound, in.Outbound)
	set(&e.MaxCalls, in.MaxCalls)
	set(&e.SRTP, in.SRTP)
}

// selfServiceViolations lists the fields a user-role caller gave beyond
// what they may change on their own extension: forward, dnd, call_waiting,
// voicemail.pin.
func (in *extensionInput) selfServiceViolations() []string {
	var out []string
	add := func(given bool, name string) {
		if given {
			out = append(out, name)
		}
	}
	add(in.Number != nil, "number")
	add(in.Name != nil, "name")
	add(in.Email != nil, "email")
	add(in.Secret != nil, "secret")
	add(in.AuthAlgorithms != nil, "auth_algorithms")
	add(in.RingSeconds != nil, "ring_seconds")
	if v := in.Voicemail; v != nil {
		add(v.Enabled != nil, "voicemail.enabled")
		add(v.MaxSeconds != nil, "voicemail.max_seconds")
		add(v.MaxMessages != nil, "voicemail.max_messages")
		add(v.DeleteAfterDays != nil, "voicemail.delete_after_days")
		add(v.SkipPINOwn != nil, "voicemail.skip_pin_own")
		add(v.Operator != nil, "voicemail.operator")
		add(v.Email != nil, "voicemail.email")
	}
	add(in.PickupGroup != nil, "pickup_group")
	add(in.Outbound != nil, "outbound")
	add(in.MaxCalls != nil, "max_calls")
	add(in.SRTP != nil, "srtp")
	return out
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
