package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// MailItem is a voicemail message waiting in the e-mail outbox.
type MailItem struct {
	MessageID int64  // the voicemail message; also the item's key
	Mailbox   string // the message's box
	Recipient string // e-mail address, fixed when queued
	CreatedAt time.Time
	Attempts  int       // sends tried so far
	NextAt    time.Time // when the next attempt is due
	LastError string    // the last failure, "" before one
	SentAt    time.Time // zero until delivered
	GaveUpAt  time.Time // zero unless retries ran out
}

// EnqueueMail queues voicemail message id of mailbox for mailing to
// recipient, due at at. It is idempotent: a message already queued
// (pending, sent or given up) is left as it is and queued reports false.
func (s *Store) EnqueueMail(ctx context.Context, id int64, mailbox, recipient string, at time.Time) (queued bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO voicemail_email (message_id, mailbox, recipient, created_at, next_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT(message_id) DO NOTHING`, id, mailbox, recipient, at.UnixMilli(), at.UnixMilli())
		if err != nil {
			return fmt.Errorf("enqueue mail for voicemail %d: %w", id, err)
		}
		n, err := res.RowsAffected()
		queued = n == 1
		return err
	})
	return queued, err
}

// DueMail returns up to limit pending items due at or before now, the most
// overdue first.
func (s *Store) DueMail(ctx context.Context, now time.Time, limit int) ([]MailItem, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT message_id, mailbox, recipient, created_at, attempts, next_at, last_error,
		sent_at, gave_up_at FROM voicemail_email WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_at <= ?
		ORDER BY next_at, message_id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("due mail: %w", err)
	}
	defer rows.Close()
	var out []MailItem
	for rows.Next() {
		it, err := scanMailItem(rows)
		if err != nil {
			return nil, fmt.Errorf("due mail: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// NextMailDue returns when the earliest pending item is due; ok is false
// when nothing is pending.
func (s *Store) NextMailDue(ctx context.Context) (at time.Time, ok bool, err error) {
	var next sql.NullInt64
	err = s.r.QueryRowContext(ctx, `SELECT MIN(next_at) FROM voicemail_email
		WHERE sent_at IS NULL AND gave_up_at IS NULL`).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, false, err
	}
	return time.UnixMilli(next.Int64).UTC(), true, nil
}

// MailItem returns the outbox entry of voicemail message id, or ErrNotFound.
func (s *Store) MailItem(ctx context.Context, id int64) (MailItem, error) {
	row := s.r.QueryRowContext(ctx, `SELECT message_id, mailbox, recipient, created_at, attempts, next_at, last_error,
		sent_at, gave_up_at FROM voicemail_email WHERE message_id = ?`, id)
	it, err := scanMailItem(row)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("mail for voicemail %d: %w", id, ErrNotFound)
	}
	return it, err
}

// MailSent records a delivery.
func (s *Store) MailSent(ctx context.Context, id int64, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE voicemail_email SET attempts = attempts + 1, sent_at = ?, last_error = ''
			WHERE message_id = ?`, at.UnixMilli(), id)
		return affectedOne(res, err, fmt.Sprintf("mail for voicemail %d sent", id))
	})
}

// MailFailed records a failed attempt and when to try again. With a zero
// next the item is given up (kept, for the record, but never retried).
func (s *Store) MailFailed(ctx context.Context, id int64, at time.Time, reason string, next time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if next.IsZero() {
			res, err = tx.ExecContext(ctx, `UPDATE voicemail_email SET attempts = attempts + 1, last_error = ?, gave_up_at = ?
				WHERE message_id = ?`, reason, at.UnixMilli(), id)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE voicemail_email SET attempts = attempts + 1, last_error = ?, next_at = ?
				WHERE message_id = ?`, reason, next.UnixMilli(), id)
		}
		return affectedOne(res, err, fmt.Sprintf("mail for voicemail %d failed", id))
	})
}

// RetryMailNow makes every pending item due at now (new mail settings
// deserve a try without waiting out the backoff) and reports how many.
func (s *Store) RetryMailNow(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE voicemail_email SET next_at = ?
			WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_at > ?`, now.UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("retry mail: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

func scanMailItem(r interface{ Scan(...any) error }) (MailItem, error) {
	var it MailItem
	var created, next int64
	var sent, gaveUp sql.NullInt64
	if err := r.Scan(&it.MessageID, &it.Mailbox, &it.Recipient, &created, &it.Attempts, &next, &it.LastError, &sent, &gaveUp); err != nil {
		return it, err
	}
	it.CreatedAt = time.UnixMilli(created).UTC()
	it.NextAt = time.UnixMilli(next).UTC()
	if sent.Valid {
		it.SentAt = time.UnixMilli(sent.Int64).UTC()
	}
	if gaveUp.Valid {
		it.GaveUpAt = time.UnixMilli(gaveUp.Int64).UTC()
	}
	return it, nil
}
