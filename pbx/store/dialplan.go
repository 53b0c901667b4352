package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// DialplanVersion is one saved dial plan. Versions are never changed or
// removed; the current plan is the newest.
type DialplanVersion struct {
	ID        int64
	Text      string // empty in lists
	CreatedAt time.Time
	CreatedBy string // username; "" for the system
	Comment   string
	Lines     int // lines of Text
}

// DialplanVersionFilter pages the version list, newest first.
type DialplanVersionFilter struct {
	Limit int
	After int64 // the cursor: the ID of the previous page's last version; 0 from the newest
}

// lineCount counts lines the way an editor numbers them: a final line
// without a newline counts, an empty text has none.
const lineCount = `(length(text) - length(replace(text, char(10), '')) +
	CASE WHEN text = '' OR substr(text, -1) = char(10) THEN 0 ELSE 1 END)`

// Dialplan returns the current dial plan: the newest version, with its text.
// ErrNotFound before the first SetDialplan.
func (s *Store) Dialplan(ctx context.Context) (DialplanVersion, error) {
	v, err := scanDialplanVersion(s.r.QueryRowContext(ctx, `SELECT id, text, created_at, created_by, comment, `+lineCount+`
		FROM dialplan_versions ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("dial plan: %w", ErrNotFound)
	}
	return v, err
}

// GetDialplanVersion returns one version with its text, or ErrNotFound.
func (s *Store) GetDialplanVersion(ctx context.Context, id int64) (DialplanVersion, error) {
	v, err := scanDialplanVersion(s.r.QueryRowContext(ctx, `SELECT id, text, created_at, created_by, comment, `+lineCount+`
		FROM dialplan_versions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("dial plan version %d: %w", id, ErrNotFound)
	}
	return v, err
}

// ListDialplanVersions pages the saved versions newest first, without their
// text. next is the cursor of the following page, "" on the last one.
func (s *Store) ListDialplanVersions(ctx context.Context, f DialplanVersionFilter) ([]DialplanVersion, string, error) {
	q := `SELECT id, '', created_at, created_by, comment, ` + lineCount + ` FROM dialplan_versions`
	var args []any
	if f.After > 0 {
		q += ` WHERE id < ?`
		args = append(args, f.After)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	return queryPage(ctx, s.r, q, args, clampLimit(f.Limit), scanDialplanVersion,
		func(v DialplanVersion) string { return strconv.FormatInt(v.ID, 10) })
}

// SetDialplan saves text as the new current dial plan, by the user named
// (or "" for the system), and returns its version. Checking the text is the
// caller's job: the store keeps what it is given.
func (s *Store) SetDialplan(ctx context.Context, text, by string) (int64, error) {
	return s.AddDialplanVersion(ctx, text, by, "")
}

// AddDialplanVersion is SetDialplan with a comment ("restored from version 3").
func (s *Store) AddDialplanVersion(ctx context.Context, text, by, comment string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO dialplan_versions(text, created_at, created_by, comment)
			VALUES (?, ?, ?, ?)`, text, time.Now().Unix(), by, comment)
		if err != nil {
			return fmt.Errorf("save dial plan: %w", err)
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, err
	}
	s.publish(Change{Kind: "dialplan"})
	return id, nil
}

func scanDialplanVersion(row interface{ Scan(...any) error }) (DialplanVersion, error) {
	var v DialplanVersion
	var at int64
	if err := row.Scan(&v.ID, &v.Text, &at, &v.CreatedBy, &v.Comment, &v.Lines); err != nil {
		return DialplanVersion{}, err
	}
	v.CreatedAt = fromUnix(at)
	return v, nil
}
