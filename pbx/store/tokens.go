package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sessions and API tokens are stored as hashes: the caller hashes the secret
// token (SHA-256, hex) before it reaches the store.

// CreateSession records a web session for username until expires.
func (s *Store) CreateSession(ctx context.Context, tokenHash, username string, expires time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Drop stale sessions while we hold the writer anyway.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, time.Now().Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions(token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			tokenHash, username, time.Now().Unix(), unix(expires))
		return err
	})
}

// SessionUser returns the user owning a live session.
func (s *Store) SessionUser(ctx context.Context, tokenHash string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumnsJoined+` FROM sessions s
		JOIN users u ON u.username = s.username WHERE s.token_hash = ? AND s.expires_at >= ?`, tokenHash, time.Now().Unix()))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("session: %w", ErrNotFound)
	}
	return u, err
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
}

// DeleteUserSessions ends every session of username (after a password change).
func (s *Store) DeleteUserSessions(ctx context.Context, username string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE username = ?`, username)
		return err
	})
}

// APIToken is a long-lived token for scripts.
type APIToken struct {
	ID         int64
	Name       string
	Username   string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero if never used
}

// CreateAPIToken stores a token hash for username.
func (s *Store) CreateAPIToken(ctx context.Context, t *APIToken, tokenHash string) error {
	now := time.Now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens(name, token_hash, username, created_at) VALUES (?, ?, ?, ?)`,
			t.Name, tokenHash, t.Username, unix(now))
		if err != nil {
			return err
		}
		t.ID, err = res.LastInsertId()
		t.CreatedAt = fromUnix(unix(now))
		return err
	})
}

// APITokenUser returns the user owning an API token.
func (s *Store) APITokenUser(ctx context.Context, tokenHash string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumnsJoined+` FROM api_tokens t
		JOIN users u ON u.username = t.username WHERE t.token_hash = ?`, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("api token: %w", ErrNotFound)
	}
	return u, err
}

// TouchAPIToken records that a token was used now.
func (s *Store) TouchAPIToken(ctx context.Context, tokenHash string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?`, time.Now().Unix(), tokenHash)
		return err
	})
}

// ListAPITokens lists the tokens of username (all users' when username is empty).
func (s *Store) ListAPITokens(ctx context.Context, username string) ([]APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, username, created_at, COALESCE(last_used_at, 0) FROM api_tokens
		WHERE ?1 = '' OR username = ?1 ORDER BY id`, username)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var created, used int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Username, &created, &used); err != nil {
			return nil, err
		}
		t.CreatedAt = fromUnix(created)
		if used > 0 {
			t.LastUsedAt = fromUnix(used)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteAPIToken revokes token id; username, when not empty, must own it.
func (s *Store) DeleteAPIToken(ctx context.Context, id int64, username string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?1 AND (?2 = '' OR username = ?2)`, id, username)
		return affectedOne(res, err, fmt.Sprintf("api token %d", id))
	})
}
