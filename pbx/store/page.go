package store

import (
	"context"
	"database/sql"
)

// queryPage runs q (which must end in "LIMIT ?") asking for one row more
// than limit, scans the rows, and returns at most limit of them with the
// key of the last as the next page's cursor ("" on the last page).
func queryPage[T any](ctx context.Context, db *sql.DB, q string, args []any, limit int,
	scan func(interface{ Scan(...any) error }) (T, error), key func(T) string) ([]T, string, error) {
	rows, err := db.QueryContext(ctx, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []T
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, key(items[limit-1]), nil
}
