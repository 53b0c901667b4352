package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// User is a web/API login. PasswordHash is a bcrypt hash; the store never
// sees a plain password.
type User struct {
	Username     string
	PasswordHash string
	Role         string // "admin" or "user"
	Extension    string // the extension a "user" manages; may be empty
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const (
	userColumns       = `username, password_hash, role, COALESCE(extension, ''), created_at, updated_at`
	userColumnsJoined = `u.username, u.password_hash, u.role, COALESCE(u.extension, ''), u.created_at, u.updated_at`
)

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, updated int64
	if err := row.Scan(&u.Username, &u.PasswordHash, &u.Role, &u.Extension, &created, &updated); err != nil {
		return u, err
	}
	u.CreatedAt, u.UpdatedAt = fromUnix(created), fromUnix(updated)
	return u, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateUser stores a new user (ErrExists if the username is taken, ErrNotFound
// if the extension does not exist).
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkExtension(ctx, tx, u.Extension); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users(username, password_hash, role, extension, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, u.Username, u.PasswordHash, u.Role, nullable(u.Extension), unix(now), unix(now))
		if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return fmt.Errorf("user %s: %w", u.Username, ErrExists)
		}
		return err
	})
	if err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt = fromUnix(unix(now)), fromUnix(unix(now))
	s.publish(Change{Kind: "user", Key: u.Username})
	return nil
}

func checkExtension(ctx context.Context, tx *sql.Tx, number string) error {
	if number == "" {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM extensions WHERE number = ?`, number).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("extension %s: %w", number, ErrNotFound)
	}
	return err
}

// GetUser returns one user.
func (s *Store) GetUser(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %s: %w", username, ErrNotFound)
	}
	return u, err
}

// UpdateUser replaces the stored user u.Username.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkExtension(ctx, tx, u.Extension); err != nil {
			return err
		}
		if u.Role != "admin" {
			if err := keepAnAdmin(ctx, tx, u.Username); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, role = ?, extension = ?, updated_at = ?
			WHERE username = ?`, u.PasswordHash, u.Role, nullable(u.Extension), unix(now), u.Username)
		return affectedOne(res, err, "user "+u.Username)
	})
	if err != nil {
		return err
	}
	u.UpdatedAt = fromUnix(unix(now))
	s.publish(Change{Kind: "user", Key: u.Username})
	return nil
}

// keepAnAdmin fails with ErrInUse when username is the last admin.
func keepAnAdmin(ctx context.Context, tx *sql.Tx, username string) error {
	var others int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND username <> ?`, username).Scan(&others)
	if err != nil {
		return err
	}
	var isAdmin int
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND username = ?`, username).Scan(&isAdmin)
	if err != nil {
		return err
	}
	if isAdmin > 0 && others == 0 {
		return fmt.Errorf("%w: %s is the last admin", ErrInUse, username)
	}
	return nil
}

// DeleteUser removes a user with their sessions and tokens; the last admin
// cannot be removed (ErrInUse).
func (s *Store) DeleteUser(ctx context.Context, username string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := keepAnAdmin(ctx, tx, username); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE username = ?`, username)
		return affectedOne(res, err, "user "+username)
	})
	if err != nil {
		return err
	}
	s.publish(Change{Kind: "user", Key: username, Deleted: true})
	return nil
}

// ListUsers pages users ordered by username.
func (s *Store) ListUsers(ctx context.Context, opt ListOptions) ([]User, string, error) {
	limit := clampLimit(opt.Limit)
	q := `SELECT ` + userColumns + ` FROM users WHERE username > ?`
	args := []any{opt.After}
	if opt.Query != "" {
		q += ` AND (username LIKE ? ESCAPE '\' OR extension LIKE ? ESCAPE '\')`
		like := "%" + escapeLike(opt.Query) + "%"
		args = append(args, like, like)
	}
	q += ` ORDER BY username LIMIT ?`
	return queryPage(ctx, s.r, q, args, limit, scanUser, func(u User) string { return u.Username })
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}
