package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/officepbx/pbx/dialplan"
)

// directory is a snapshot of every dialable number and its kind, for
// checking a dial plan's destinations: the checker asks many times, the
// database is read once.
type directory struct {
	numbers map[string]string // number -> kind (extension, ringgroup, ivr, conference)
	trunks  map[string]bool   // trunk names
}

// Directory reads the current numbering into a snapshot that answers
// whether a dial plan destination exists (see directory.Exists). Later
// changes are not seen: take a new one per check.
func (s *Store) Directory(ctx context.Context) (dialplan.Directory, error) {
	d := &directory{numbers: map[string]string{}, trunks: map[string]bool{}}
	// One query at a time: a second opened while the first's rows are
	// still read would hold two of the read pool's connections, and
	// enough concurrent checks would wait on each other for ever.
	if err := d.loadTrunks(ctx, s); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT number, kind FROM numbers`)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
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
// number is routed when dialled); a trunk when one of that name is
// configured.
func (d *directory) Exists(dest dialplan.Destination) bool {
	switch dest.Kind {
	case dialplan.KindHangup, dialplan.KindNumber:
		return true
	case dialplan.KindTrunk:
		return d.trunks[dest.Trunk]
	case dialplan.KindVoicemail:
		return d.numbers[dest.Number] == dialplan.KindExtension
	case dialplan.KindExtension, dialplan.KindRingGroup, dialplan.KindIVR, dialplan.KindConference:
		return d.numbers[dest.Number] == dest.Kind
	}
	return false
}

// DialplanUsers names every place in the current dial plan that uses dest,
// as "dial plan line 12", for refusing to delete what a call would be routed
// to. A reference matches when its kind and number are dest's; an
// extension is also used by voicemail:N of its number (its box goes with
// it). A trunk given without a number (Destination{Kind: "trunk", Trunk:
// NAME}) matches every reference to that trunk, whatever the number.
// References whose number is a variable (${number}) match nothing but
// their trunk. No plan, or a stored plan that does not parse (from before
// the dial plan language), uses nothing.
func (s *Store) DialplanUsers(ctx context.Context, dest dialplan.Destination) ([]string, error) {
	cur, err := s.Dialplan(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var users []string
	for _, line := range planLines(cur.Text, dest) {
		users = append(users, "dial plan line "+strconv.Itoa(line))
	}
	return users, nil
}

// planLines are the lines of plan text that use dest; a text that does not
// parse uses nothing.
func planLines(text string, dest dialplan.Destination) []int {
	plan, errs := dialplan.Parse(text)
	if len(errs) > 0 {
		return nil
	}
	var lines []int
	for _, r := range plan.References() {
		if usesDestination(r, dest) {
			lines = append(lines, r.Line)
		}
	}
	return lines
}

func usesDestination(r dialplan.Reference, dest dialplan.Destination) bool {
	if dest.Kind == dialplan.KindTrunk {
		return r.Kind == dialplan.KindTrunk && r.Trunk == dest.Trunk &&
			(dest.Number == "" || r.Dest.Number == dest.Number)
	}
	if r.Dest.Kind == "" || r.Dest.Number != dest.Number {
		return false
	}
	return r.Dest.Kind == dest.Kind ||
		(dest.Kind == dialplan.KindExtension && r.Dest.Kind == dialplan.KindVoicemail)
}

// loadTrunks reads the trunk names into the snapshot.
func (d *directory) loadTrunks(ctx context.Context, s *Store) error {
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM trunks`)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("directory: %w", err)
		}
		d.trunks[name] = true
	}
	return rows.Err()
}
