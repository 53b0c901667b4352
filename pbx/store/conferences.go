package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Conference room limits.
const (
	MinConferenceParticipants     = 2
	MaxConferenceParticipants     = 500
	DefaultConferenceParticipants = 20
)

// Conference is a numbered conference room. Who is in it now is the
// engine's live state, not stored.
type Conference struct {
	Number string
	Name   string
	// PIN, if set, is asked of every caller; ModeratorPIN, if set, makes
	// the caller who enters it a moderator (mute all, lock).
	PIN          string
	ModeratorPIN string
	// MaxParticipants bounds the room (2..500).
	MaxParticipants int
	// Announce plays a tone to the room when someone joins or leaves, and
	// "you are the only participant" to the first.
	Announce bool
	// MusicWhenAlone plays music on hold to a lone participant.
	MusicWhenAlone bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const conferenceColumns = `number, name, pin, moderator_pin, max_participants, announce, music_when_alone, created_at, updated_at`

func scanConference(row interface{ Scan(...any) error }) (Conference, error) {
	var c Conference
	var created, updated int64
	err := row.Scan(&c.Number, &c.Name, &c.PIN, &c.ModeratorPIN, &c.MaxParticipants, &c.Announce, &c.MusicWhenAlone, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromUnix(created), fromUnix(updated)
	return c, err
}

// conferenceProblems checks c's fields (the API checks them first; this
// keeps the store's rows sane whoever writes).
func conferenceProblems(c *Conference) error {
	p := problems{}
	if !allDigits(c.PIN) && c.PIN != "" {
		p["pin"] = "must be digits"
	}
	if !allDigits(c.ModeratorPIN) && c.ModeratorPIN != "" {
		p["moderator_pin"] = "must be digits"
	}
	if c.PIN != "" && c.PIN == c.ModeratorPIN {
		p["moderator_pin"] = "must differ from pin"
	}
	if c.MaxParticipants < MinConferenceParticipants || c.MaxParticipants > MaxConferenceParticipants {
		p["max_participants"] = fmt.Sprintf("must be %d to %d", MinConferenceParticipants, MaxConferenceParticipants)
	}
	return p.err()
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// CreateConference stores a new room; its number must be free across all
// kinds (ErrNumberTaken).
func (s *Store) CreateConference(ctx context.Context, c *Conference) error {
	if err := conferenceProblems(c); err != nil {
		return err
	}
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := claimNumber(ctx, tx, c.Number, "conference"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO conferences (`+conferenceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Number, c.Name, c.PIN, c.ModeratorPIN, c.MaxParticipants, c.Announce, c.MusicWhenAlone, unix(now), unix(now))
		if err != nil {
			return fmt.Errorf("insert conference: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt = fromUnix(unix(now)), fromUnix(unix(now))
	s.publish(Change{Kind: "conference", Key: c.Number})
	return nil
}

// UpdateConference replaces the stored room c.Number.
func (s *Store) UpdateConference(ctx context.Context, c *Conference) error {
	if err := conferenceProblems(c); err != nil {
		return err
	}
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE conferences SET name = ?, pin = ?, moderator_pin = ?, max_participants = ?,
			announce = ?, music_when_alone = ?, updated_at = ? WHERE number = ?`,
			c.Name, c.PIN, c.ModeratorPIN, c.MaxParticipants, c.Announce, c.MusicWhenAlone, unix(now), c.Number)
		return affectedOne(res, err, "conference "+c.Number)
	})
	if err != nil {
		return err
	}
	c.UpdatedAt = fromUnix(unix(now))
	s.publish(Change{Kind: "conference", Key: c.Number})
	return nil
}

// GetConference returns the room with the given number.
func (s *Store) GetConference(ctx context.Context, number string) (Conference, error) {
	c, err := scanConference(s.r.QueryRowContext(ctx, `SELECT `+conferenceColumns+` FROM conferences WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("conference %s: %w", number, ErrNotFound)
	}
	return c, err
}

// DeleteConference removes a room. It fails with ErrInUse, naming the
// users, while anything else sends calls to it.
func (s *Store) DeleteConference(ctx context.Context, number string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := inUse(ctx, tx, "conference", number, "conference:"+number); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM conferences WHERE number = ?`, number)
		if err := affectedOne(res, err, "conference "+number); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM numbers WHERE number = ?`, number)
		return err
	})
	if err != nil {
		return err
	}
	s.publish(Change{Kind: "conference", Key: number, Deleted: true})
	return nil
}

// ListConferences returns up to opt.Limit rooms ordered by number after
// opt.After, filtered by opt.Query (number prefix or name substring); next
// is the cursor of the following page, empty on the last.
func (s *Store) ListConferences(ctx context.Context, opt ListOptions) ([]Conference, string, error) {
	q := `SELECT ` + conferenceColumns + ` FROM conferences WHERE number > ?`
	args := []any{opt.After}
	if opt.Query != "" {
		q += ` AND (number LIKE ? ESCAPE '\' OR name LIKE ? ESCAPE '\')`
		args = append(args, escapeLike(opt.Query)+"%", "%"+escapeLike(opt.Query)+"%")
	}
	q += ` ORDER BY number LIMIT ?`
	return queryPage(ctx, s.r, q, args, clampLimit(opt.Limit), scanConference,
		func(c Conference) string { return c.Number })
}
