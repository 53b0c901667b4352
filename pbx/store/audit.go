package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"
)

// auditKeep bounds the audit log: older rows are dropped as new ones come,
// so a flood of refused requests cannot fill the disk.
const auditKeep = 100000

// AuditEntry is one request that could change something, as answered.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Username string // "" when the caller was not authenticated
	Method   string
	Path     string
	Entity   string // what was touched, e.g. "extension 101"
	RemoteIP string
	Status   int
}

// AuditFilter selects audit entries, newest first. Zero fields do not
// filter; After is the cursor (the ID of the previous page's last row).
type AuditFilter struct {
	Username string
	Limit    int
	After    int64
}

// AddAudit appends an entry (setting its ID) and trims the log to its bound.
func (s *Store) AddAudit(ctx context.Context, e *AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, username, method, path, entity, remote_ip, status)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.At.UnixMilli(), e.Username, e.Method, e.Path, e.Entity, e.RemoteIP, e.Status)
		if err != nil {
			return err
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if e.ID%1000 == 0 { // trimming costs a scan: now and then is enough
			_, err = tx.ExecContext(ctx, `DELETE FROM audit_log WHERE id <= ?`, e.ID-auditKeep)
		}
		return err
	})
}

// ListAudit pages the audit log newest first; next is the following page's
// cursor, "" on the last one.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, string, error) {
	q := `SELECT id, at, username, method, path, entity, remote_ip, status FROM audit_log WHERE 1 = 1`
	var args []any
	if f.After > 0 {
		q += ` AND id < ?`
		args = append(args, f.After)
	}
	if f.Username != "" {
		q += ` AND username = ?`
		args = append(args, f.Username)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	return queryPage(ctx, s.r, q, args, clampLimit(f.Limit), func(row interface{ Scan(...any) error }) (AuditEntry, error) {
		var e AuditEntry
		var at int64
		err := row.Scan(&e.ID, &at, &e.Username, &e.Method, &e.Path, &e.Entity, &e.RemoteIP, &e.Status)
		e.At = time.UnixMilli(at).UTC()
		return e, err
	}, func(e AuditEntry) string { return strconv.FormatInt(e.ID, 10) })
}
