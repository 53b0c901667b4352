package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Ring group strategies.
const (
	StrategyRingAll = "ringall" // every member at once
	StrategyHunt    = "hunt"    // one member after another, in order
)

// RingGroup is a number that rings a list of extensions.
type RingGroup struct {
	Number   string
	Name     string
	Strategy string   // StrategyRingAll or StrategyHunt
	Members  []string // extension numbers, in ring order
	// RingSeconds bounds the whole attempt, MemberSeconds each member's
	// turn in a hunt.
	RingSeconds   int
	MemberSeconds int
	OnNoAnswer    string // destination; "" hangs up
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const ringGroupColumns = `number, name, strategy, ring_seconds, member_seconds, on_no_answer, created_at, updated_at`

func scanRingGroup(row interface{ Scan(...any) error }) (RingGroup, error) {
	var g RingGroup
	var created, updated int64
	err := row.Scan(&g.Number, &g.Name, &g.Strategy, &g.RingSeconds, &g.MemberSeconds, &g.OnNoAnswer, &created, &updated)
	if err != nil {
		return g, err
	}
	g.Members = []string{}
	g.CreatedAt, g.UpdatedAt = fromUnix(created), fromUnix(updated)
	return g, nil
}

// CreateRingGroup stores a new ring group; its number must be free across
// all kinds (ErrNumberTaken), its members existing extensions and its
// failover an existing destination other than itself (an InvalidError).
func (s *Store) CreateRingGroup(ctx context.Context, g *RingGroup) error {
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := claimNumber(ctx, tx, g.Number, "ringgroup"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ringgroups (`+ringGroupColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			g.Number, g.Name, g.Strategy, g.RingSeconds, g.MemberSeconds, g.OnNoAnswer, unix(now), unix(now))
		if err != nil {
			return fmt.Errorf("insert ringgroup: %w", err)
		}
		return writeRingGroupMembers(ctx, tx, g)
	})
	if err != nil {
		return err
	}
	g.CreatedAt, g.UpdatedAt = fromUnix(unix(now)), fromUnix(unix(now))
	s.publish(Change{Kind: "ringgroup", Key: g.Number})
	return nil
}

// UpdateRingGroup replaces the stored ring group g.Number, members included.
func (s *Store) UpdateRingGroup(ctx context.Context, g *RingGroup) error {
	now := time.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ringgroups SET name = ?, strategy = ?, ring_seconds = ?,
			member_seconds = ?, on_no_answer = ?, updated_at = ? WHERE number = ?`,
			g.Name, g.Strategy, g.RingSeconds, g.MemberSeconds, g.OnNoAnswer, unix(now), g.Number)
		if err := affectedOne(res, err, "ringgroup "+g.Number); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ringgroup_members WHERE ringgroup = ?`, g.Number); err != nil {
			return fmt.Errorf("ringgroup %s members: %w", g.Number, err)
		}
		return writeRingGroupMembers(ctx, tx, g)
	})
	if err != nil {
		return err
	}
	g.UpdatedAt = fromUnix(unix(now))
	s.publish(Change{Kind: "ringgroup", Key: g.Number})
	return nil
}

// writeRingGroupMembers checks and inserts g's members in order, and
// checks its failover, inside the transaction.
func writeRingGroupMembers(ctx context.Context, tx *sql.Tx, g *RingGroup) error {
	p := problems{}
	seen := map[string]bool{}
	for i, m := range g.Members {
		if seen[m] {
			p["members"] = "lists " + m + " twice"
			break
		}
		seen[m] = true
		msg, err := numberProblem(ctx, tx, m, "extension")
		if err != nil {
			return err
		}
		if msg != "" {
			p["members"] = msg
			break
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ringgroup_members(ringgroup, position, extension) VALUES (?, ?, ?)`,
			g.Number, i, m); err != nil {
			return fmt.Errorf("ringgroup %s member %s: %w", g.Number, m, err)
		}
	}
	if len(g.Members) == 0 {
		p["members"] = "must list at least one extension"
	}
	switch g.OnNoAnswer {
	case "":
	case "ringgroup:" + g.Number:
		p["on_no_answer"] = "cannot send a ring group to itself"
	default:
		if err := checkDestination(ctx, tx, p, "on_no_answer", g.OnNoAnswer); err != nil {
			return err
		}
	}
	return p.err()
}

// GetRingGroup returns the ring group with the given number.
func (s *Store) GetRingGroup(ctx context.Context, number string) (RingGroup, error) {
	g, err := scanRingGroup(s.r.QueryRowContext(ctx, `SELECT `+ringGroupColumns+` FROM ringgroups WHERE number = ?`, number))
	if errors.Is(err, sql.ErrNoRows) {
		return g, fmt.Errorf("ringgroup %s: %w", number, ErrNotFound)
	}
	if err != nil {
		return g, err
	}
	list := []RingGroup{g}
	if err := s.loadRingGroupMembers(ctx, list); err != nil {
		return g, err
	}
	return list[0], nil
}

// DeleteRingGroup removes a ring group. It fails with ErrInUse, naming the
// users, while anything else sends calls to it.
func (s *Store) DeleteRingGroup(ctx context.Context, number string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := inUse(ctx, tx, "ringgroup", number, "ringgroup:"+number); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM ringgroups WHERE number = ?`, number)
		if err := affectedOne(res, err, "ringgroup "+number); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM numbers WHERE number = ?`, number)
		return err
	})
	if err != nil {
		return err
	}
	s.publish(Change{Kind: "ringgroup", Key: number, Deleted: true})
	return nil
}

// ListRingGroups returns up to opt.Limit ring groups ordered by number
// after opt.After, filtered by opt.Query (number prefix or name
// substring); next is the cursor of the following page, empty on the last.
func (s *Store) ListRingGroups(ctx context.Context, opt ListOptions) ([]RingGroup, string, error) {
	q := `SELECT ` + ringGroupColumns + ` FROM ringgroups WHERE number > ?`
	args := []any{opt.After}
	if opt.Query != "" {
		q += ` AND (number LIKE ? ESCAPE '\' OR name LIKE ? ESCAPE '\')`
		args = append(args, escapeLike(opt.Query)+"%", "%"+escapeLike(opt.Query)+"%")
	}
	q += ` ORDER BY number LIMIT ?`
	items, next, err := queryPage(ctx, s.r, q, args, clampLimit(opt.Limit), scanRingGroup,
		func(g RingGroup) string { return g.Number })
	if err != nil {
		return nil, "", err
	}
	if err := s.loadRingGroupMembers(ctx, items); err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// loadRingGroupMembers fills the members of groups (sorted by number) in
// one query.
func (s *Store) loadRingGroupMembers(ctx context.Context, groups []RingGroup) error {
	if len(groups) == 0 {
		return nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT ringgroup, extension FROM ringgroup_members
		WHERE ringgroup BETWEEN ? AND ? ORDER BY ringgroup, position`, groups[0].Number, groups[len(groups)-1].Number)
	if err != nil {
		return fmt.Errorf("ringgroup members: %w", err)
	}
	defer rows.Close()
	index := make(map[string]int, len(groups))
	for i, g := range groups {
		index[g.Number] = i
	}
	for rows.Next() {
		var number, ext string
		if err := rows.Scan(&number, &ext); err != nil {
			return err
		}
		if i, ok := index[number]; ok { // a filtered list skips some in the range
			groups[i].Members = append(groups[i].Members, ext)
		}
	}
	return rows.Err()
}
