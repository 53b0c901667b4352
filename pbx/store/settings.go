package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Setting returns a stored setting, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("setting %s: %w", key, ErrNotFound)
	}
	return v, err
}

// SetSetting stores a setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	})
}

// Dialplan returns the stored dial plan text and when it was last changed.
func (s *Store) Dialplan(ctx context.Context) (string, time.Time, error) {
	var text string
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT text, updated_at FROM dialplan WHERE id = 1`).Scan(&text, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, fmt.Errorf("dial plan: %w", ErrNotFound)
	}
	return text, fromUnix(at), err
}

// SetDialplan replaces the dial plan text.
func (s *Store) SetDialplan(ctx context.Context, text string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dialplan(id, text, updated_at) VALUES (1, ?, ?)
			ON CONFLICT(id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at`, text, time.Now().Unix())
		return err
	})
	if err != nil {
		return err
	}
	s.publish(Change{Kind: "dialplan"})
	return nil
}
