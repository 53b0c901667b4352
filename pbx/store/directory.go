package store

import (
	"context"
	"fmt"

	"github.com/officepbx/pbx/dialplan"
)

// Directory is a snapshot of every dialable number and its kind, for
// checking a dial plan's destinations: the checker asks many times, the
// database is read once.
type Directory struct {
	numbers map[string]string // number -> kind (extension, ringgroup, ivr, conference)
}

// Directory reads the current numbering into a snapshot.
func (s *Store) Directory(ctx context.Context) (*Directory, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT number, kind FROM numbers`)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	d := &Directory{numbers: map[string]string{}}
	for rows.Next() {
		var number, kind string
		if err := rows.Scan(&number, &kind); err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		d.numbers[number] = kind
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return d, nil
}

// Exists reports whether dest names something that exists: an extension,
// a voicemail box (every extension has one), a ring group, IVR menu or
// conference room of that number. hangup and number:N always exist (a
// number is routed when dialled); trunks never do, as none can be
// configured yet.
func (d *Directory) Exists(dest dialplan.Destination) bool {
	switch dest.Kind {
	case dialplan.KindHangup, dialplan.KindNumber:
		return true
	case dialplan.KindTrunk:
		return false
	case dialplan.KindVoicemail:
		return d.numbers[dest.Number] == dialplan.KindExtension
	case dialplan.KindExtension, dialplan.KindRingGroup, dialplan.KindIVR, dialplan.KindConference:
		return d.numbers[dest.Number] == dest.Kind
	}
	return false
}
