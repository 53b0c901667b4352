package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/officepbx/pbx/dialplan"
)

// querier is what both the read pool and a write transaction offer, so a
// check can run before a write (to report every field at once) and again
// inside it (where it cannot race a delete).
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// InvalidError is returned by a write whose destinations or members do not
// exist (any more) when it commits. Fields maps the API's field names
// ("options.1", "members", ...) to what is wrong. It wraps ErrInvalid.
type InvalidError struct {
	Fields map[string]string
}

func (e *InvalidError) Error() string {
	keys := slices.Sorted(maps.Keys(e.Fields))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return "invalid " + strings.Join(parts, "; ")
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// problems collects field problems for an InvalidError.
type problems map[string]string

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &InvalidError{Fields: p}
}

// DestinationProblem checks a configured destination (an IVR option or
// timeout, a ring group's failover): it must parse and point at something
// that exists. self is the destination of the thing being configured
// ("ivr:500"), which counts as existing even before it is created, so a
// menu can repeat itself. hangup and number: (routed through the dial plan)
// are always accepted; trunk:NAME:NUMBER needs the trunk NAME.
// It returns what is wrong ("" if nothing); the error is only for a failing
// store.
func (s *Store) DestinationProblem(ctx context.Context, dest, self string) (string, error) {
	d, err := dialplan.ParseDestination(dest)
	if err != nil {
		return err.Error(), nil
	}
	return destinationProblem(ctx, s.r, d, self)
}

func destinationProblem(ctx context.Context, q querier, d dialplan.Destination, self string) (string, error) {
	switch d.Kind {
	case dialplan.KindHangup, dialplan.KindNumber:
		return "", nil
	case dialplan.KindTrunk:
		ok, err := trunkExists(ctx, q, d.Trunk)
		if err != nil || ok {
			return "", err
		}
		return "no trunk " + d.Trunk, nil
	}
	if self != "" && d.String() == self {
		return "", nil
	}
	want := d.Kind
	if want == dialplan.KindVoicemail {
		want = dialplan.KindExtension // a voicemail box is an extension's
	}
	return numberProblem(ctx, q, d.Number, want)
}

// checkDestination adds the problem of dest, if any, to p under field.
func checkDestination(ctx context.Context, q querier, p problems, field, dest string) error {
	d, err := dialplan.ParseDestination(dest)
	if err != nil {
		p[field] = err.Error()
		return nil
	}
	msg, err := destinationProblem(ctx, q, d, "")
	if msg != "" {
		p[field] = msg
	}
	return err
}

// NumberProblem returns "no KIND NUMBER" unless number is a number of
// kind want; the error is only for a failing store.
func (s *Store) NumberProblem(ctx context.Context, number, want string) (string, error) {
	return numberProblem(ctx, s.r, number, want)
}

func numberProblem(ctx context.Context, q querier, number, want string) (string, error) {
	var kind string
	err := q.QueryRowContext(ctx, `SELECT kind FROM numbers WHERE number = ?`, number).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && kind != want) {
		return "no " + want + " " + number, nil
	}
	return "", err
}

// destinationUser is one place that names a destination: "ivr 500 option 1"
// is {kind "ivr", number "500", what "option 1"}.
type destinationUser struct {
	kind, number, what string
}

func (u destinationUser) String() string {
	if u.number == "" {
		return u.kind + " " + u.what
	}
	return u.kind + " " + u.number + " " + u.what
}

// DestinationUsers names every place configured to send calls to dest, as
// "extension 102 forward busy", "ivr 500 option 1", "ivr 500 on_timeout",
// "ringgroup 600 on_no_answer", "ringgroup 600 member" (dest
// extension:NUMBER only) and the dial plan's references. Sorted; nil if
// none.
func (s *Store) DestinationUsers(ctx context.Context, dest string) ([]string, error) {
	users, err := destinationUsers(ctx, s.r, dest)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(users))
	for _, u := range users {
		out = append(out, u.String())
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func destinationUsers(ctx context.Context, q querier, dest string) ([]destinationUser, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT 'extension', number, 'forward always' FROM extensions WHERE fwd_always = ?1
		UNION ALL SELECT 'extension', number, 'forward busy' FROM extensions WHERE fwd_busy = ?1
		UNION ALL SELECT 'extension', number, 'forward no_answer' FROM extensions WHERE fwd_no_answer = ?1
		UNION ALL SELECT 'extension', number, 'voicemail operator' FROM extensions WHERE vm_operator = ?1
		UNION ALL SELECT 'ivr', ivr, 'option ' || key FROM ivr_options WHERE destination = ?1
		UNION ALL SELECT 'ivr', number, 'on_timeout' FROM ivrs WHERE on_timeout = ?1
		UNION ALL SELECT 'ivr', number, 'on_invalid' FROM ivrs WHERE on_invalid = ?1
		UNION ALL SELECT 'ringgroup', ringgroup, 'member' FROM ringgroup_members WHERE 'extension:' || extension = ?1
		UNION ALL SELECT 'ringgroup', number, 'on_no_answer' FROM ringgroups WHERE on_no_answer = ?1
		ORDER BY 1, 2, 3`, dest)
	if err != nil {
		return nil, fmt.Errorf("users of %s: %w", dest, err)
	}
	defer rows.Close()
	var out []destinationUser
	for rows.Next() {
		var u destinationUser
		if err := rows.Scan(&u.kind, &u.number, &u.what); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	plan, err := planUsers(ctx, q, dest)
	if err != nil {
		return nil, err
	}
	return append(out, plan...), nil
}

// planUsers reads the dial plan in force and names the places in it that
// send calls to dest, so a delete is refused while the plan still routes
// there.
func planUsers(ctx context.Context, q querier, dest string) ([]destinationUser, error) {
	var text string
	err := q.QueryRowContext(ctx, `SELECT text FROM dialplan_versions ORDER BY id DESC LIMIT 1`).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read dial plan: %w", err)
	}
	d, err := dialplan.ParseDestination(dest)
	if err != nil {
		return nil, nil // nothing a plan could name
	}
	var out []destinationUser
	for _, line := range planLines(text, d) {
		out = append(out, destinationUser{kind: "dial plan", what: "line " + strconv.Itoa(line)})
	}
	return out, nil
}

// usersExcept drops the users that are the object itself (an IVR's own
// "repeat menu" option, an extension forwarding to its own voicemail).
func usersExcept(users []destinationUser, kind, number string) []destinationUser {
	return slices.DeleteFunc(users, func(u destinationUser) bool { return u.kind == kind && u.number == number })
}

// inUse fails with ErrInUse naming the users of the destinations of
// kind:number, apart from the object itself.
func inUse(ctx context.Context, q querier, kind, number string, dests ...string) error {
	var all []string
	for _, dest := range dests {
		users, err := destinationUsers(ctx, q, dest)
		if err != nil {
			return err
		}
		for _, u := range usersExcept(users, kind, number) {
			if !slices.Contains(all, u.String()) {
				all = append(all, u.String())
			}
		}
	}
	if len(all) > 0 {
		return fmt.Errorf("%w: used by %s", ErrInUse, strings.Join(all, ", "))
	}
	return nil
}
