package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/officepbx/pbx/dialplan"
)

// Trunk is a SIP trunk to a phone company: where its calls go (Host,
// Port, Transport), the credentials the provider asks for, whether the
// PBX registers to it, and the dial-plan context its inbound calls start
// in.
type Trunk struct {
	Name      string
	Host      string
	Port      int    // default 5060
	Transport string // udp, tcp, tls
	Username  string // digest user name (and the registration's user)
	Secret    string // digest password, kept like an extension's SIP secret
	Register  bool   // send REGISTER to the provider
	// ExpiresSeconds is the registration expiry asked for (5-86400;
	// default 300).
	ExpiresSeconds int
	// FromUser is the caller ID number outbound calls present (From and
	// P-Asserted-Identity); "" presents the caller's number as routing
	// left it.
	FromUser string
	// Context is the dial-plan context inbound calls start in.
	Context string
	// Match lists the source addresses (IP, IP:PORT or CIDR) whose
	// requests are this trunk's, beside the registered host's address.
	Match     []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const trunkColumns = `name, host, port, transport, username, secret, register, expires_s, from_user, context, match,
	created_at, updated_at`

func scanTrunk(row interface{ Scan(...any) error }) (Trunk, error) {
	var t Trunk
	var match string
	var created, updated int64
	err := row.Scan(&t.Name, &t.Host, &t.Port, &t.Transport, &t.Username, &t.Secret, &t.Register, &t.ExpiresSeconds,
		&t.FromUser, &t.Context, &match, &created, &updated)
	if err != nil {
		return t, err
	}
	t.Match = splitMatch(match)
	t.CreatedAt, t.UpdatedAt = fromUnix(created), fromUnix(updated)
	return t, nil
}

func splitMatch(s string) []string {
	var out []string
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

func (t *Trunk) defaults() {
	if t.Port == 0 {
		t.Port = 5060
	}
	if t.Transport == "" {
		t.Transport = "udp"
	}
	if t.ExpiresSeconds == 0 {
		t.ExpiresSeconds = 300
	}
	if t.Context == "" {
		t.Context = "from-trunk"
	}
}

// CreateTrunk stores a new trunk; a taken name is ErrExists.
func (s *Store) CreateTrunk(ctx context.Context, t *Trunk) error {
	t.defaults()
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM trunks WHERE name = ?`, t.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("trunk %s: %w", t.Name, ErrExists)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO trunks (`+trunkColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Name, t.Host, t.Port, t.Transport, t.Username, t.Secret, t.Register, t.ExpiresSeconds, t.FromUser,
			t.Context, strings.Join(t.Match, ","), unix(now), unix(now))
		if err != nil {
			return fmt.Errorf("insert trunk: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.CreatedAt, t.UpdatedAt = fromUnix(unix(now)), fromUnix(unix(now))
	s.publish(Change{Kind: "trunk", Key: t.Name})
	return nil
}

// UpdateTrunk replaces the stored trunk t.Name.
func (s *Store) UpdateTrunk(ctx context.Context, t *Trunk) error {
	t.defaults()
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE trunks SET host = ?, port = ?, transport = ?, username = ?, secret = ?,
			register = ?, expires_s = ?, from_user = ?, context = ?, match = ?, updated_at = ? WHERE name = ?`,
			t.Host, t.Port, t.Transport, t.Username, t.Secret, t.Register, t.ExpiresSeconds, t.FromUser, t.Context,
			strings.Join(t.Match, ","), unix(now), t.Name)
		return affectedOne(res, err, "trunk "+t.Name)
	})
	if err != nil {
		return err
	}
	t.UpdatedAt = fromUnix(unix(now))
	s.publish(Change{Kind: "trunk", Key: t.Name})
	return nil
}

// GetTrunk returns the trunk with the given name.
func (s *Store) GetTrunk(ctx context.Context, name string) (Trunk, error) {
	t, err := scanTrunk(s.r.QueryRowContext(ctx, `SELECT `+trunkColumns+` FROM trunks WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("trunk %s: %w", name, ErrNotFound)
	}
	return t, err
}

// ListTrunks returns every trunk, ordered by name (an office has a few).
func (s *Store) ListTrunks(ctx context.Context) ([]Trunk, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+trunkColumns+` FROM trunks ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list trunks: %w", err)
	}
	defer rows.Close()
	var out []Trunk
	for rows.Next() {
		t, err := scanTrunk(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTrunk removes a trunk. It fails with ErrInUse, naming the users,
// while the dial plan or a configured destination still sends calls to it.
func (s *Store) DeleteTrunk(ctx context.Context, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		users, err := trunkUsers(ctx, tx, name)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return fmt.Errorf("%w: used by %s", ErrInUse, strings.Join(users, ", "))
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM trunks WHERE name = ?`, name)
		return affectedOne(res, err, "trunk "+name)
	})
	if err != nil {
		return err
	}
	s.publish(Change{Kind: "trunk", Key: name, Deleted: true})
	return nil
}

// trunkUsers names every place that sends calls to trunk name, whatever
// the number: forwards, IVR options, ring-group failovers and the dial
// plan's lines.
func trunkUsers(ctx context.Context, q querier, name string) ([]string, error) {
	like := "trunk:" + escapeLike(name) + ":%"
	rows, err := q.QueryContext(ctx, `
		SELECT 'extension', number, 'forward always' FROM extensions WHERE fwd_always LIKE ?1 ESCAPE '\'
		UNION ALL SELECT 'extension', number, 'forward busy' FROM extensions WHERE fwd_busy LIKE ?1 ESCAPE '\'
		UNION ALL SELECT 'extension', number, 'forward no_answer' FROM extensions WHERE fwd_no_answer LIKE ?1 ESCAPE '\'
		UNION ALL SELECT 'extension', number, 'voicemail operator' FROM extensions WHERE vm_operator LIKE ?1 ESCAPE '\'
		UNION ALL SELECT 'ivr', ivr, 'option ' || key FROM ivr_options WHERE destination LIKE ?1 ESCAPE '\'
		UNION ALL SELECT 'ivr', number, 'on_timeout' FROM ivrs WHERE on_timeout LIKE ?1 ESCAPE '\'
		UNION ALL SELECT 'ivr', number, 'on_invalid' FROM ivrs WHERE on_invalid LIKE ?1 ESCAPE '\'
		UNION ALL SELECT 'ringgroup', number, 'on_no_answer' FROM ringgroups WHERE on_no_answer LIKE ?1 ESCAPE '\'
		ORDER BY 1, 2, 3`, like)
	if err != nil {
		return nil, fmt.Errorf("users of trunk %s: %w", name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u destinationUser
		if err := rows.Scan(&u.kind, &u.number, &u.what); err != nil {
			return nil, err
		}
		out = append(out, u.String())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var text string
	err = q.QueryRowContext(ctx, `SELECT text FROM dialplan_versions ORDER BY id DESC LIMIT 1`).Scan(&text)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read dial plan: %w", err)
	}
	for _, line := range planLines(text, dialplan.Destination{Kind: dialplan.KindTrunk, Trunk: name}) {
		u := fmt.Sprintf("dial plan line %d", line)
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// TrunkUsers names every place that sends calls to trunk name (see
// DeleteTrunk); nil if none.
func (s *Store) TrunkUsers(ctx context.Context, name string) ([]string, error) {
	return trunkUsers(ctx, s.r, name)
}

// trunkExists reports whether a trunk of that name is configured.
func trunkExists(ctx context.Context, q querier, name string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM trunks WHERE name = ?`, name).Scan(&n)
	return n > 0, err
}
