package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IVR is an IVR menu (auto attendant): a number that answers, plays a
// greeting and sends the caller where the digit they press says.
type IVR struct {
	Number   string
	Name     string
	Greeting string // prompt name; "" plays the built-in "welcome"
	// Options maps a key ("0"-"9", "*", "#") to a destination.
	Options map[string]string
	// TimeoutSeconds is how long to wait for a digit after the greeting.
	TimeoutSeconds int
	// Retries is how often the greeting is replayed after a timeout or an
	// invalid key before OnTimeout or OnInvalid applies.
	Retries   int
	OnTimeout string // destination
	OnInvalid string // destination
	// DirectDial lets a caller dial an extension number instead of an option.
	DirectDial    bool
	InvalidPrompt string // "" plays the built-in "invalid-option"
	TimeoutPrompt string // "" plays the built-in "no-input"
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// IsIVRKey reports whether k is a key an IVR option may use: a single
// 0-9, * or #.
func IsIVRKey(k string) bool {
	return len(k) == 1 && (k[0] >= '0' && k[0] <= '9' || k[0] == '*' || k[0] == '#')
}

const ivrColumns = `number, name, greeting, timeout_s, retries, on_timeout, on_invalid, direct_dial,
	invalid_prompt, timeout_prompt, created_at, updated_at`

func scanIVR(row interface{ Scan(...any) error }) (IVR, error) {
	var v IVR
	var created, updated int64
	err := row.Scan(&v.Number, &v.Name, &v.Greeting, &v.TimeoutSeconds, &v.Retries, &v.OnTimeout, &v.OnInvalid,
		&v.DirectDial, &v.InvalidPrompt, &v.TimeoutPrompt, &created, &updated)
	if err != nil {
		return v, err
	}
	v.Options = map[string]string{}
	v.CreatedAt, v.UpdatedAt = fromUnix(created), fromUnix(updated)
	return v, nil
}

// CreateIVR stores a new IVR menu; its number must be free across all
// kinds (ErrNumberTaken) and its destinations must exist (an InvalidError);
// an option may name the menu itself (repeat) or other menus.
func (s *Store) CreateIVR(ctx context.Context, v *IVR) error {
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := claimNumber(ctx, tx, v.Number, "ivr"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ivrs (`+ivrColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.Number, v.Name, v.Greeting, v.TimeoutSeconds, v.Retries, v.OnTimeout, v.OnInvalid, v.DirectDial,
			v.InvalidPrompt, v.TimeoutPrompt, unix(now), unix(now))
		if err != nil {
			return fmt.Errorf("insert ivr: %w", err)
		}
		return writeIVROptions(ctx, tx, v)
	})
	if err != nil {
		return err
	}
	v.CreatedAt, v.UpdatedAt = fromUnix(unix(now)), fromUnix(unix(now))
	s.publish(Change{Kind: "ivr", Key: v.Number})
	return nil
}

// UpdateIVR replaces the stored IVR menu v.Number, options included.
func (s *Store) UpdateIVR(ctx context.Context, v *IVR) error {
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ivrs SET name = ?, greeting = ?, timeout_s = ?, retries = ?,
			on_timeout = ?, on_invalid = ?, direct_dial = ?, invalid_prompt = ?, timeout_prompt = ?, updated_at = ?
			WHERE number = ?`,
			v.Name, v.Greeting, v.TimeoutSeconds, v.Retries, v.OnTimeout, v.OnInvalid, v.DirectDial,
			v.InvalidPrompt, v.TimeoutPrompt, unix(now), v.Number)
		if err := affectedOne(res, err, "ivr "+v.Number); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ivr_options WHERE ivr = ?`, v.Number); err != nil {
			return fmt.Errorf("ivr %s options: %w", v.Number, err)
		}
		return writeIVROptions(ctx, tx, v)
	})
	if err != nil {
		return err
	}
	v.UpdatedAt = fromUnix(unix(now))
	s.publish(Change{Kind: "ivr", Key: v.Number})
	return nil
}

// writeIVROptions inserts v's options, then checks every destination of v
// inside the transaction, where no delete can race it. The menu's own row
// is written by then, so "ivr:SELF" exists.
func writeIVROptions(ctx context.Context, tx *sql.Tx, v *IVR) error {
	p := problems{}
	for key, dest := range v.Options {
		if !IsIVRKey(key) {
			p["options"] = fmt.Sprintf("key %q is not one of 0-9, *, #", key)
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ivr_options(ivr, key, destination) VALUES (?, ?, ?)`,
			v.Number, key, dest); err != nil {
			return fmt.Errorf("ivr %s option %s: %w", v.Number, key, err)
		}
		if err := checkDestination(ctx, tx, p, "options."+key, dest); err != nil {
			return err
		}
	}
	if err := checkDestination(ctx, tx, p, "on_timeout", v.OnTimeout); err != nil {
		return err
	}
	if err := checkDestination(ctx, tx, p, "on_invalid", v.OnInvalid); err != nil {
		return err
	}
	return p.err()
}

// GetIVR returns the IVR menu with the given number.
func (s *Store) GetIVR(ctx context.Context, number string) (IVR, error) {
	v, err := scanIVR(s.r.QueryRowContext(ctx, `SELECT `+ivrColumns+` FROM ivrs WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("ivr %s: %w", number, ErrNotFound)
	}
	if err != nil {
		return v, err
	}
	list := []IVR{v}
	if err := s.loadIVROptions(ctx, list); err != nil {
		return v, err
	}
	return list[0], nil
}

// DeleteIVR removes an IVR menu. It fails with ErrInUse, naming the users,
// while anything else sends calls to it; its own options do not count.
func (s *Store) DeleteIVR(ctx context.Context, number string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := inUse(ctx, tx, "ivr", number, "ivr:"+number); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM ivrs WHERE number = ?`, number)
		if err := affectedOne(res, err, "ivr "+number); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM numbers WHERE number = ?`, number)
		return err
	})
	if err != nil {
		return err
	}
	s.publish(Change{Kind: "ivr", Key: number, Deleted: true})
	return nil
}

// ListIVRs returns up to opt.Limit IVR menus ordered by number after
// opt.After, filtered by opt.Query (number prefix or name substring); next
// is the cursor of the following page, empty on the last one.
func (s *Store) ListIVRs(ctx context.Context, opt ListOptions) ([]IVR, string, error) {
	q := `SELECT ` + ivrColumns + ` FROM ivrs WHERE number > ?`
	args := []any{opt.After}
	if opt.Query != "" {
		q += ` AND (number LIKE ? ESCAPE '\' OR name LIKE ? ESCAPE '\')`
		args = append(args, escapeLike(opt.Query)+"%", "%"+escapeLike(opt.Query)+"%")
	}
	q += ` ORDER BY number LIMIT ?`
	items, next, err := queryPage(ctx, s.r, q, args, clampLimit(opt.Limit), scanIVR, func(v IVR) string { return v.Number })
	if err != nil {
		return nil, "", err
	}
	if err := s.loadIVROptions(ctx, items); err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// loadIVROptions fills the options of ivrs (sorted by number) in one query.
func (s *Store) loadIVROptions(ctx context.Context, ivrs []IVR) error {
	if len(ivrs) == 0 {
		return nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT ivr, key, destination FROM ivr_options
		WHERE ivr BETWEEN ? AND ?`, ivrs[0].Number, ivrs[len(ivrs)-1].Number)
	if err != nil {
		return fmt.Errorf("ivr options: %w", err)
	}
	defer rows.Close()
	byNumber := make(map[string]map[string]string, len(ivrs))
	for _, v := range ivrs {
		byNumber[v.Number] = v.Options
	}
	for rows.Next() {
		var number, key, dest string
		if err := rows.Scan(&number, &key, &dest); err != nil {
			return err
		}
		if opts, ok := byNumber[number]; ok { // a filtered list skips some in the range
			opts[key] = dest
		}
	}
	return rows.Err()
}

// PromptUsers names the IVR menus that play the prompt name, as "ivr 500
// greeting", "ivr 500 invalid_prompt", "ivr 500 timeout_prompt". Sorted;
// nil if none.
func (s *Store) PromptUsers(ctx context.Context, name string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT number, 'greeting' FROM ivrs WHERE greeting = ?1
		UNION ALL SELECT number, 'invalid_prompt' FROM ivrs WHERE invalid_prompt = ?1
		UNION ALL SELECT number, 'timeout_prompt' FROM ivrs WHERE timeout_prompt = ?1
		ORDER BY 1, 2`, name)
	if err != nil {
		return nil, fmt.Errorf("users of prompt %s: %w", name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var number, what string
		if err := rows.Scan(&number, &what); err != nil {
			return nil, err
		}
		out = append(out, "ivr "+number+" "+what)
	}
	return out, rows.Err()
}
