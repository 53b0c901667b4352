package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrMailboxFull is returned by SaveMessage when the recipient already has
// as many stored messages as allowed. (Kept beside the messages it is about
// rather than in errors.go.)
var ErrMailboxFull = errors.New("too many stored messages for the recipient")

// Message is a SIP MESSAGE stored until its recipient's phone takes it.
type Message struct {
	ID            int64
	Sender        string // extension number
	SenderName    string
	Recipient     string // extension number
	ContentType   string
	Body          []byte
	CreatedAt     time.Time
	Attempts      int       // deliveries tried since it was stored
	LastAttemptAt time.Time // zero before the first
}

// SaveMessage stores m and sets its ID. When limit > 0 and the recipient
// already has limit messages stored, it stores nothing and returns
// ErrMailboxFull. CreatedAt defaults to now.
func (s *Store) SaveMessage(ctx context.Context, m *Message, limit int) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now()
	}
	body := m.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if limit > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE recipient = ?`, m.Recipient).Scan(&n); err != nil {
				return fmt.Errorf("count messages: %w", err)
			}
			if n >= limit {
				return fmt.Errorf("%s has %d: %w", m.Recipient, n, ErrMailboxFull)
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO messages (sender, sender_name, recipient, content_type, body,
			created_at, attempts, last_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Sender, m.SenderName, m.Recipient, m.ContentType, body, m.CreatedAt.UnixMilli(), m.Attempts, ms(m.LastAttemptAt))
		if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		m.ID, err = res.LastInsertId()
		return err
	})
}

// PendingMessages returns up to limit stored messages of recipient in the
// order they came, those with an ID above after and created after since
// (older ones have expired).
func (s *Store) PendingMessages(ctx context.Context, recipient string, after int64, since time.Time, limit int) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, sender, sender_name, recipient, content_type, body, created_at,
		attempts, last_attempt_at FROM messages WHERE recipient = ? AND id > ? AND created_at > ? ORDER BY id LIMIT ?`,
		recipient, after, since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("pending messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var created int64
		var last sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Sender, &m.SenderName, &m.Recipient, &m.ContentType, &m.Body, &created,
			&m.Attempts, &last); err != nil {
			return nil, fmt.Errorf("pending messages: %w", err)
		}
		m.CreatedAt = time.UnixMilli(created).UTC()
		if last.Valid {
			m.LastAttemptAt = time.UnixMilli(last.Int64).UTC()
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MessageRecipients returns every extension with stored messages created
// after since.
func (s *Store) MessageRecipients(ctx context.Context, since time.Time) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT recipient FROM messages WHERE created_at > ? ORDER BY recipient`,
		since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("message recipients: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("message recipients: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteMessage removes a delivered message (ErrNotFound if it is gone).
func (s *Store) DeleteMessage(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, id)
		return affectedOne(res, err, fmt.Sprintf("delete message %d", id))
	})
}

// MessageAttempted counts a delivery attempt that no phone accepted.
func (s *Store) MessageAttempted(ctx context.Context, id int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET attempts = attempts + 1, last_attempt_at = ? WHERE id = ?`,
			at.UnixMilli(), id)
		return affectedOne(res, err, fmt.Sprintf("message %d attempted", id))
	})
}

// DeleteExpiredMessages removes the messages created at or before before
// and reports how many went.
func (s *Store) DeleteExpiredMessages(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE created_at <= ?`, before.UnixMilli())
		if err != nil {
			return fmt.Errorf("delete expired messages: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
