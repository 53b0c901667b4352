package store

import (
	"context"
	"database/sql"
	"time"
)

// Registration is one contact binding of an extension.
type Registration struct {
	Extension string
	Contact   string // the Contact URI as the phone sent it
	Source    string // ip:port the REGISTER came from
	Transport string // udp, tcp, tls
	UserAgent string
	CallID    string
	CSeq      uint32
	ExpiresAt time.Time
	UpdatedAt time.Time
}

// RegistrationKey identifies a binding.
type RegistrationKey struct {
	Extension string
	Contact   string
}

// SaveRegistrations writes a batch of binding upserts and removals in one
// transaction. Bindings whose extension has since been deleted are skipped.
func (s *Store) SaveRegistrations(ctx context.Context, upserts []Registration, removals []RegistrationKey) error {
	if len(upserts) == 0 && len(removals) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if len(removals) > 0 {
			del, err := tx.PrepareContext(ctx, `DELETE FROM registrations WHERE extension = ? AND contact = ?`)
			if err != nil {
				return err
			}
			defer del.Close()
			for _, k := range removals {
				if _, err := del.ExecContext(ctx, k.Extension, k.Contact); err != nil {
					return err
				}
			}
		}
		if len(upserts) > 0 {
			up, err := tx.PrepareContext(ctx, `INSERT INTO registrations
				(extension, contact, source, transport, user_agent, call_id, cseq, expires_at, updated_at)
				SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM extensions WHERE number = ?1)
				ON CONFLICT (extension, contact) DO UPDATE SET source = excluded.source, transport = excluded.transport,
				user_agent = excluded.user_agent, call_id = excluded.call_id, cseq = excluded.cseq,
				expires_at = excluded.expires_at, updated_at = excluded.updated_at`)
			if err != nil {
				return err
			}
			defer up.Close()
			for _, r := range upserts {
				if _, err := up.ExecContext(ctx, r.Extension, r.Contact, r.Source, r.Transport, r.UserAgent, r.CallID,
					int64(r.CSeq), unix(r.ExpiresAt), unix(r.UpdatedAt)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// LoadRegistrations returns every binding still valid at now, and removes
// the expired ones.
func (s *Store) LoadRegistrations(ctx context.Context, now time.Time) ([]Registration, error) {
	if err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM registrations WHERE expires_at <= ?`, unix(now))
		return err
	}); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT extension, contact, source, transport, user_agent, call_id, cseq,
		expires_at, updated_at FROM registrations ORDER BY extension, updated_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		var r Registration
		var cseq, exp, upd int64
		if err := rows.Scan(&r.Extension, &r.Contact, &r.Source, &r.Transport, &r.UserAgent, &r.CallID, &cseq, &exp, &upd); err != nil {
			return nil, err
		}
		r.CSeq = uint32(cseq)
		r.ExpiresAt, r.UpdatedAt = fromUnix(exp), fromUnix(upd)
		out = append(out, r)
	}
	return out, rows.Err()
}
