package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"
)

// CDR dispositions.
const (
	DispositionAnswered = "answered"
	DispositionNoAnswer = "no_answer"
	DispositionBusy     = "busy"
	DispositionFailed   = "failed"
)

// CDR is the record of one call.
type CDR struct {
	ID          int64
	CallID      string
	Caller      string
	CallerName  string
	Callee      string
	StartedAt   time.Time
	AnsweredAt  time.Time // zero when never answered
	EndedAt     time.Time
	Disposition string
	HangupCause string
	RTPPackets  int64
	RTPLost     int64
	JitterMs    float64
}

// Duration is the whole call, from the first INVITE to the end.
func (c CDR) Duration() time.Duration { return c.EndedAt.Sub(c.StartedAt) }

// Billsec is the answered part of the call.
func (c CDR) Billsec() time.Duration {
	if c.AnsweredAt.IsZero() {
		return 0
	}
	return c.EndedAt.Sub(c.AnsweredAt)
}

// CDRFilter selects call records. Zero fields do not filter. Records come
// newest first; After is the cursor (the ID of the previous page's last row).
type CDRFilter struct {
	From, To time.Time // started_at within [From, To)
	Number   string    // caller or callee
	Limit    int
	After    int64
}

func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// InsertCDRs stores finished calls in one transaction, setting their IDs.
func (s *Store) InsertCDRs(ctx context.Context, cdrs []CDR) error {
	if len(cdrs) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO cdr (call_id, caller, caller_name, callee, started_at,
			answered_at, ended_at, disposition, hangup_cause, rtp_packets, rtp_lost, jitter_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range cdrs {
			c := &cdrs[i]
			res, err := stmt.ExecContext(ctx, c.CallID, c.Caller, c.CallerName, c.Callee, c.StartedAt.UnixMilli(),
				ms(c.AnsweredAt), c.EndedAt.UnixMilli(), c.Disposition, c.HangupCause, c.RTPPackets, c.RTPLost, c.JitterMs)
			if err != nil {
				return err
			}
			if c.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanCDR(row interface{ Scan(...any) error }) (CDR, error) {
	var c CDR
	var started, ended int64
	var answered sql.NullInt64
	err := row.Scan(&c.ID, &c.CallID, &c.Caller, &c.CallerName, &c.Callee, &started, &answered, &ended,
		&c.Disposition, &c.HangupCause, &c.RTPPackets, &c.RTPLost, &c.JitterMs)
	if err != nil {
		return c, err
	}
	c.StartedAt, c.EndedAt = time.UnixMilli(started).UTC(), time.UnixMilli(ended).UTC()
	if answered.Valid {
		c.AnsweredAt = time.UnixMilli(answered.Int64).UTC()
	}
	return c, nil
}

// ListCDRs pages call records newest first. next is the cursor of the
// following page, "" on the last one.
func (s *Store) ListCDRs(ctx context.Context, f CDRFilter) ([]CDR, string, error) {
	q := `SELECT id, call_id, caller, caller_name, callee, started_at, answered_at, ended_at, disposition,
		hangup_cause, rtp_packets, rtp_lost, jitter_ms FROM cdr WHERE 1 = 1`
	var args []any
	if f.After > 0 {
		q += ` AND id < ?`
		args = append(args, f.After)
	}
	if !f.From.IsZero() {
		q += ` AND started_at >= ?`
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		q += ` AND started_at < ?`
		args = append(args, f.To.UnixMilli())
	}
	if f.Number != "" {
		q += ` AND (caller = ? OR callee = ?)`
		args = append(args, f.Number, f.Number)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	return queryPage(ctx, s.r, q, args, clampLimit(f.Limit), scanCDR,
		func(c CDR) string { return strconv.FormatInt(c.ID, 10) })
}
