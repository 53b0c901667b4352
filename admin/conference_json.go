package admin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// ConferenceParticipant is one caller in a live conference room.
type ConferenceParticipant struct {
	ID        string // the call's ID
	Number    string // caller ID number
	Name      string // caller ID name
	JoinedAt  time.Time
	Muted     bool
	Talking   bool
	Moderator bool
}

// LiveRoom is a conference room's live state.
type LiveRoom struct {
	Participants int
	Locked       bool
}

// LiveConferences is the conference application's live view and control.
type LiveConferences interface {
	// LiveRooms reports the rooms someone is in, by number.
	LiveRooms() map[string]LiveRoom
	// ConferenceParticipants lists a room's participants in join order.
	ConferenceParticipants(number string) []ConferenceParticipant
	// SetParticipantMuted mutes or unmutes one; false if there is no such
	// participant in the room.
	SetParticipantMuted(number, id string, muted bool) (ConferenceParticipant, bool)
	// KickParticipant removes one from the room and ends their call; false
	// if there is no such participant.
	KickParticipant(number, id string) bool
	// WatchConferences signals (coalesced) when participants, their mute
	// or talking state, or a room's lock changed.
	WatchConferences() (<-chan struct{}, func())
}

// conferenceJSON is a conference room as the API shows it, with its live
// state.
type conferenceJSON struct {
	Number          string    `json:"number"`
	Name            string    `json:"name"`
	PIN             string    `json:"pin"`
	ModeratorPIN    string    `json:"moderator_pin"`
	MaxParticipants int       `json:"max_participants"`
	Announce        bool      `json:"announce"`
	MusicWhenAlone  bool      `json:"music_when_alone"`
	Participants    int       `json:"participants"`
	Locked          bool      `json:"locked"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func toConferenceJSON(c store.Conference, live LiveRoom) conferenceJSON {
	return conferenceJSON{
		Number: c.Number, Name: c.Name, PIN: c.PIN, ModeratorPIN: c.ModeratorPIN, MaxParticipants: c.MaxParticipants,
		Announce: c.Announce, MusicWhenAlone: c.MusicWhenAlone, Participants: live.Participants, Locked: live.Locked,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// conferenceInput is a request body for POST, PUT and PATCH; nil fields
// were omitted.
type conferenceInput struct {
	Number          *string `json:"number"`
	Name            *string `json:"name"`
	PIN             *string `json:"pin"`
	ModeratorPIN    *string `json:"moderator_pin"`
	MaxParticipants *int    `json:"max_participants"`
	Announce        *bool   `json:"announce"`
	MusicWhenAlone  *bool   `json:"music_when_alone"`
	// Read-only; accepted and ignored so a GET body can be PUT back as is.
	Participants json.RawMessage `json:"participants"`
	Locked       json.RawMessage `json:"locked"`
	CreatedAt    json.RawMessage `json:"created_at"`
	UpdatedAt    json.RawMessage `json:"updated_at"`
}

// defaultConference is what a POST or PUT starts from.
func defaultConference(number string) store.Conference {
	return store.Conference{Number: number, MaxParticipants: store.DefaultConferenceParticipants, Announce: true}
}

func (in *conferenceInput) apply(c *store.Conference) {
	set(&c.Name, in.Name)
	set(&c.PIN, in.PIN)
	set(&c.ModeratorPIN, in.ModeratorPIN)
	set(&c.MaxParticipants, in.MaxParticipants)
	set(&c.Announce, in.Announce)
	set(&c.MusicWhenAlone, in.MusicWhenAlone)
}

// validateConference checks every field of c and adds each problem to fe.
func (s *Server) validateConference(_ context.Context, c *store.Conference, fe fieldErrors) error {
	if !isDigits(c.Number, 2, 10) {
		fe.add("number", "must be 2 to 10 digits")
	}
	if msg := checkText(c.Name, maxNameLen); msg != "" {
		fe.add("name", msg)
	}
	if c.PIN != "" && !isDigits(c.PIN, 1, 12) {
		fe.add("pin", "must be 1 to 12 digits, or empty for none")
	}
	if c.ModeratorPIN != "" && !isDigits(c.ModeratorPIN, 1, 12) {
		fe.add("moderator_pin", "must be 1 to 12 digits, or empty for none")
	} else if c.ModeratorPIN != "" && c.ModeratorPIN == c.PIN {
		fe.add("moderator_pin", "must differ from pin")
	}
	if c.MaxParticipants < store.MinConferenceParticipants || c.MaxParticipants > store.MaxConferenceParticipants {
		fe.add("max_participants", "must be from 2 to 500")
	}
	return nil
}

// participantJSON is a live participant as the API shows it.
type participantJSON struct {
	ID         string    `json:"id"`
	Caller     string    `json:"caller"`
	CallerName string    `json:"caller_name"`
	JoinedAt   time.Time `json:"joined_at"`
	Muted      bool      `json:"muted"`
	Talking    bool      `json:"talking"`
	Moderator  bool      `json:"moderator"`
}

func toParticipantJSON(p ConferenceParticipant) participantJSON {
	return participantJSON{ID: p.ID, Caller: p.Number, CallerName: p.Name, JoinedAt: p.JoinedAt.UTC(),
		Muted: p.Muted, Talking: p.Talking, Moderator: p.Moderator}
}

// liveConferenceJSON is one live room on the event stream.
type liveConferenceJSON struct {
	Number       string            `json:"number"`
	Locked       bool              `json:"locked"`
	Participants []participantJSON `json:"participants"`
}
