package app

import (
	"github.com/officepbx/pbx/admin"
	"github.com/officepbx/pbx/pbx/conference"
)

// liveConferences shows the conference application to the admin API.
type liveConferences struct{ app *conference.App }

func (l liveConferences) LiveRooms() map[string]admin.LiveRoom {
	rooms := l.app.Rooms()
	out := make(map[string]admin.LiveRoom, len(rooms))
	for n, r := range rooms {
		out[n] = admin.LiveRoom{Participants: r.Participants, Locked: r.Locked}
	}
	return out
}

func (l liveConferences) ConferenceParticipants(number string) []admin.ConferenceParticipant {
	ps := l.app.Participants(number)
	out := make([]admin.ConferenceParticipant, 0, len(ps))
	for _, p := range ps {
		out = append(out, toAdminParticipant(p))
	}
	return out
}

func (l liveConferences) SetParticipantMuted(number, id string, muted bool) (admin.ConferenceParticipant, bool) {
	p, err := l.app.SetMuted(number, id, muted)
	return toAdminParticipant(p), err == nil
}

func (l liveConferences) KickParticipant(number, id string) bool {
	return l.app.Kick(number, id) == nil
}

func (l liveConferences) WatchConferences() (<-chan struct{}, func()) {
	return l.app.WatchConferences()
}

func toAdminParticipant(p conference.Participant) admin.ConferenceParticipant {
	return admin.ConferenceParticipant{ID: p.ID, Number: p.Number, Name: p.Name, JoinedAt: p.JoinedAt,
		Muted: p.Muted, Talking: p.Talking, Moderator: p.Moderator}
}
