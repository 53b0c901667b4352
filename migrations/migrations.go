// Package migrations holds the numbered SQL files that build the database
// schema. Files are named NNNN_what.sql and are applied in order by the store.
package migrations

import "embed"

// Files is the embedded set of migration files, NNNN_what.sql.
//
//go:embed *.sql
var Files embed.FS
