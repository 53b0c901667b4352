package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Extension is a phone number staff are reached on, with its SIP credentials.
type Extension struct {
	Number         string
	Name           string
	Email          string
	Secret         string
	AuthAlgorithms []string // "MD5", "SHA-256", in challenge order
	RingSeconds    int
	Voicemail      Voicemail
	Forward        Forward
	DND            bool
	// CallWaiting lets a second call ring the extension while it is on a
	// call; without it such a call is busy. The API's default is true (the
	// zero value here is false: set it when building an Extension by hand).
	CallWaiting bool
	// PickupGroup is the call pickup group; "" is the default group every
	// extension shares.
	PickupGroup string
	Outbound    string // internal, local, national, international
	// MaxCalls bounds the calls the extension is on at once (placed or
	// answered); 0 is no limit.
	MaxCalls int
	// SRTP is the phone's media encryption: SRTPOff, SRTPOptional (the
	// default) or SRTPRequired.
	SRTP      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Voicemail is an extension's voicemail box settings.
type Voicemail struct {
	Enabled bool
	PIN     string
	// MaxSeconds is the longest message (10-600); 0 stores the default, 120.
	MaxSeconds int
	// MaxMessages is how many messages the box holds (1-1000); 0 stores the
	// default, 100.
	MaxMessages int
	// DeleteAfterDays expires messages this many days old (0-3650); 0 keeps
	// them until deleted.
	DeleteAfterDays int
	// SkipPINOwn lets *97 from the box's own extension in without the PIN.
	// The API's default is true (the zero value here is false).
	SkipPINOwn bool
	// Operator is the destination key 0 sends a caller leaving a message
	// to; "" none.
	Operator string
	// Email sends new messages to the extension's e-mail address.
	Email bool
}

// Voicemail box defaults, stored for a zero MaxSeconds or MaxMessages.
const (
	DefaultVoicemailMaxSeconds  = 120
	DefaultVoicemailMaxMessages = 100
)

// withDefaults fills the zero limits with their defaults.
func (v Voicemail) withDefaults() Voicemail {
	if v.MaxSeconds == 0 {
		v.MaxSeconds = DefaultVoicemailMaxSeconds
	}
	if v.MaxMessages == 0 {
		v.MaxMessages = DefaultVoicemailMaxMessages
	}
	return v
}

// Forward holds an extension's call-forward destinations; empty means off.
type Forward struct {
	Always   string
	Busy     string
	NoAnswer string
}

// ListOptions pages and filters a list. After is the cursor: the last key of
// the previous page.
type ListOptions struct {
	Query string
	Limit int
	After string
}

const extensionColumns = `number, name, email, secret, auth_algorithms, ring_seconds, vm_enabled, vm_pin,
	fwd_always, fwd_busy, fwd_no_answer, dnd, call_waiting, pickup_group, outbound, created_at, updated_at,
	vm_max_seconds, vm_max_messages, vm_delete_after_days, vm_skip_pin_own, vm_operator, vm_email, max_calls, srtp`

func scanExtension(row interface{ Scan(...any) error }) (Extension, error) {
	var e Extension
	var algs string
	var created, updated int64
	err := row.Scan(&e.Number, &e.Name, &e.Email, &e.Secret, &algs, &e.RingSeconds, &e.Voicemail.Enabled,
		&e.Voicemail.PIN, &e.Forward.Always, &e.Forward.Busy, &e.Forward.NoAnswer, &e.DND, &e.CallWaiting,
		&e.PickupGroup, &e.Outbound, &created, &updated, &e.Voicemail.MaxSeconds, &e.Voicemail.MaxMessages,
		&e.Voicemail.DeleteAfterDays, &e.Voicemail.SkipPINOwn, &e.Voicemail.Operator, &e.Voicemail.Email, &e.MaxCalls, &e.SRTP)
	if err != nil {
		return e, err
	}
	e.AuthAlgorithms = strings.Split(algs, ",")
	e.CreatedAt, e.UpdatedAt = fromUnix(created), fromUnix(updated)
	return e, nil
}

// CreateExtension stores a new extension; its number must be free across all
// kinds (ErrNumberTaken).
func (s *Store) CreateExtension(ctx context.Context, e *Extension) error {
	now := time.Now()
	e.Voicemail = e.Voicemail.withDefaults()
	e.SRTP = srtpOrDefault(e.SRTP)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := claimNumber(ctx, tx, e.Number, "extension"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO extensions (`+extensionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Number, e.Name, e.Email, e.Secret, strings.Join(e.AuthAlgorithms, ","), e.RingSeconds,
			e.Voicemail.Enabled, e.Voicemail.PIN, e.Forward.Always, e.Forward.Busy, e.Forward.NoAnswer,
			e.DND, e.CallWaiting, e.PickupGroup, e.Outbound, unix(now), unix(now),
			e.Voicemail.MaxSeconds, e.Voicemail.MaxMessages, e.Voicemail.DeleteAfterDays, e.Voicemail.SkipPINOwn,
			e.Voicemail.Operator, e.Voicemail.Email, e.MaxCalls, e.SRTP)
		if err != nil {
			return fmt.Errorf("insert extension: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.CreatedAt, e.UpdatedAt = fromUnix(unix(now)), fromUnix(unix(now))
	s.publish(Change{Kind: "extension", Key: e.Number})
	return nil
}

// GetExtension returns the extension with the given number.
func (s *Store) GetExtension(ctx context.Context, number string) (Extension, error) {
	e, err := scanExtension(s.r.QueryRowContext(ctx, `SELECT `+extensionColumns+` FROM extensions WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("extension %s: %w", number, ErrNotFound)
	}
	return e, err
}

// UpdateExtension replaces the stored extension e.Number with e.
func (s *Store) UpdateExtension(ctx context.Context, e *Extension) error {
	now := time.Now()
	e.Voicemail = e.Voicemail.withDefaults()
	e.SRTP = srtpOrDefault(e.SRTP)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE extensions SET name = ?, email = ?, secret = ?, auth_algorithms = ?,
			ring_seconds = ?, vm_enabled = ?, vm_pin = ?, fwd_always = ?, fwd_busy = ?, fwd_no_answer = ?, dnd = ?,
			call_waiting = ?, pickup_group = ?, outbound = ?, updated_at = ?, vm_max_seconds = ?, vm_max_messages = ?,
			vm_delete_after_days = ?, vm_skip_pin_own = ?, vm_operator = ?, vm_email = ?, max_calls = ?, srtp = ? WHERE number = ?`,
			e.Name, e.Email, e.Secret, strings.Join(e.AuthAlgorithms, ","), e.RingSeconds, e.Voicemail.Enabled,
			e.Voicemail.PIN, e.Forward.Always, e.Forward.Busy, e.Forward.NoAnswer, e.DND, e.CallWaiting, e.PickupGroup,
			e.Outbound, unix(now), e.Voicemail.MaxSeconds, e.Voicemail.MaxMessages, e.Voicemail.DeleteAfterDays,
			e.Voicemail.SkipPINOwn, e.Voicemail.Operator, e.Voicemail.Email, e.MaxCalls, e.SRTP, e.Number)
		return affectedOne(res, err, "extension "+e.Number)
	})
	if err != nil {
		return err
	}
	e.UpdatedAt = fromUnix(unix(now))
	s.publish(Change{Kind: "extension", Key: e.Number})
	return nil
}

// DeleteExtension removes an extension and its registrations, and its
// voicemail: messages, their audio and the greeting. It fails with
// ErrInUse, naming the users, while anything else sends calls to it or its
// voicemail (a forward, an IVR option, a ring group membership, the dial
// plan); its own forward to its own voicemail does not count.
func (s *Store) DeleteExtension(ctx context.Context, number string) error {
	var trash string
	defer func() {
		if trash != "" {
			os.RemoveAll(trash)
		}
	}()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := inUse(ctx, tx, "extension", number, "extension:"+number, "voicemail:"+number); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM extensions WHERE number = ?`, number)
		if err := affectedOne(res, err, "extension "+number); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM numbers WHERE number = ?`, number); err != nil {
			return err
		}
		// The messages' rows go with the extension (ON DELETE CASCADE);
		// their audio is moved aside now and removed after the commit.
		t, err := s.setMailboxAside(number)
		trash = t
		return err
	})
	if err != nil {
		if trash != "" { // the commit failed: the box keeps its audio
			s.restoreMailbox(number, trash)
			trash = ""
		}
		return err
	}
	s.publish(Change{Kind: "extension", Key: number, Deleted: true})
	return nil
}

// ListExtensions returns up to opt.Limit extensions ordered by number after
// opt.After, filtered by opt.Query (number prefix, or name/email substring).
// next is the cursor of the following page, empty on the last one.
func (s *Store) ListExtensions(ctx context.Context, opt ListOptions) ([]Extension, string, error) {
	limit := clampLimit(opt.Limit)
	q := `SELECT ` + extensionColumns + ` FROM extensions WHERE number > ?`
	args := []any{opt.After}
	if opt.Query != "" {
		like := "%" + escapeLike(opt.Query) + "%"
		q += ` AND (number LIKE ? ESCAPE '\' OR name LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\')`
		args = append(args, escapeLike(opt.Query)+"%", like, like)
	}
	q += ` ORDER BY number LIMIT ?`
	return queryPage(ctx, s.r, q, args, limit, scanExtension, func(e Extension) string { return e.Number })
}

// CountExtensions returns how many extensions exist.
func (s *Store) CountExtensions(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM extensions`).Scan(&n)
	return n, err
}

// NumberKind reports what owns a dialable number ("extension", ...), or
// ErrNotFound.
func (s *Store) NumberKind(ctx context.Context, number string) (string, error) {
	var kind string
	err := s.r.QueryRowContext(ctx, `SELECT kind FROM numbers WHERE number = ?`, number).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("number %s: %w", number, ErrNotFound)
	}
	return kind, err
}

func claimNumber(ctx context.Context, tx *sql.Tx, number, kind string) error {
	var existing string
	err := tx.QueryRowContext(ctx, `SELECT kind FROM numbers WHERE number = ?`, number).Scan(&existing)
	switch {
	case err == nil:
		return fmt.Errorf("%w: %s is a %s", ErrNumberTaken, number, existing)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO numbers(number, kind) VALUES (?, ?)`, number, kind)
	return err
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// An extension's SRTP settings (Extension.SRTP).
const (
	SRTPOff      = "off"
	SRTPOptional = "optional"
	SRTPRequired = "required"
)

// srtpOrDefault stores "" (an Extension built by hand) as the default.
func srtpOrDefault(v string) string {
	if v == "" {
		return SRTPOptional
	}
	return v
}
