package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/officepbx/pbx/migrations"
)

// SnapshotInfo is what a database snapshot holds that lives outside it:
// the audio files its rows name, as slash-separated paths relative to the
// data directory, and its schema version.
type SnapshotInfo struct {
	SchemaVersion int
	// Files are the audio files the rows name: prompts/NAME.wav of every
	// uploaded prompt, voicemail/MAILBOX/FILE of every message.
	Files []string
}

// Snapshot copies the database at dbPath, which a running PBX may be
// writing, into the new file dst with VACUUM INTO: one read transaction,
// so dst is the database as it was at one instant, whatever commits
// meanwhile. dst is an ordinary (rollback-journal) database in one file.
// Snapshot never migrates or writes the source; it fails if dbPath does
// not exist.
func Snapshot(ctx context.Context, dbPath, dst string) (SnapshotInfo, error) {
	if _, err := os.Stat(dbPath); err != nil {
		return SnapshotInfo{}, fmt.Errorf("database: %w", err)
	}
	// mode=rw: never create a database that is not there. Not query_only:
	// SQLite counts VACUUM INTO as a write, though it writes only dst.
	db, err := sql.Open("sqlite", sqliteFileDSN(dbPath)+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot database %s: %w", dbPath, err)
	}
	return readSnapshot(ctx, dst)
}

// CheckSnapshot checks a database file restored from a backup before it is
// put in place: it opens, passes PRAGMA integrity_check, and was written by
// a binary no newer than this one (else ErrSchemaTooNew). It returns what
// the database references.
func CheckSnapshot(ctx context.Context, dbPath string) (SnapshotInfo, error) {
	db, err := sql.Open("sqlite", sqliteFileDSN(dbPath)+"?mode=rw")
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("database integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return SnapshotInfo{}, fmt.Errorf("database integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return SnapshotInfo{}, fmt.Errorf("database integrity check: %w", err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], "...")
		}
		return SnapshotInfo{}, fmt.Errorf("database integrity check failed: %s", strings.Join(problems, "; "))
	}
	db.Close()
	info, err := readSnapshot(ctx, dbPath)
	if err != nil {
		return info, err
	}
	latest, err := LatestSchemaVersion()
	if err != nil {
		return info, err
	}
	if info.SchemaVersion > latest {
		return info, fmt.Errorf("%w: the backup's database is at version %d, this binary knows up to %d; restore with a newer binary",
			ErrSchemaTooNew, info.SchemaVersion, latest)
	}
	return info, nil
}

// LatestSchemaVersion is the newest migration this binary carries.
func LatestSchemaVersion() (int, error) {
	ms, err := loadMigrations(migrations.Files)
	if err != nil || len(ms) == 0 {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	return ms[len(ms)-1].version, nil
}

// readSnapshot reads a snapshot's schema version and file references, and
// leaves it a single file (journal_mode DELETE).
func readSnapshot(ctx context.Context, dbPath string) (SnapshotInfo, error) {
	var info SnapshotInfo
	db, err := sql.Open("sqlite", sqliteFileDSN(dbPath)+"?mode=rw")
	if err != nil {
		return info, fmt.Errorf("open snapshot: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode=DELETE"); err != nil {
		return info, fmt.Errorf("snapshot %s: %w", dbPath, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&info.SchemaVersion); err != nil {
		return info, fmt.Errorf("snapshot %s: not a PBX database: %w", dbPath, err)
	}
	collect := func(query string, file func(a, b string) (string, bool)) error {
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", dbPath, err)
		}
		defer rows.Close()
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				return fmt.Errorf("snapshot %s: %w", dbPath, err)
			}
			if f, ok := file(a, b); ok {
				info.Files = append(info.Files, f)
			}
		}
		return rows.Err()
	}
	// Names are checked as the store checks them on the way in: a row
	// never points outside its directory.
	err = collect("SELECT name, '' FROM prompts ORDER BY name", func(name, _ string) (string, bool) {
		return path.Join(promptDirName, name+".wav"), PromptNameProblem(name) == ""
	})
	if err != nil && !isNoSuchTable(err) {
		return info, err
	}
	err = collect("SELECT mailbox, file FROM voicemail_messages ORDER BY id", func(box, file string) (string, bool) {
		ok := mailboxProblem(box) == nil && file != "" && !strings.ContainsAny(file, `/\`) && !strings.HasPrefix(file, ".")
		return path.Join(voicemailDirName, box, file), ok
	})
	if err != nil && !isNoSuchTable(err) {
		return info, err
	}
	return info, nil
}

// isNoSuchTable tells a database from before a table's migration.
func isNoSuchTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// sqliteFileDSN is the file: URI of path, without parameters.
func sqliteFileDSN(p string) string {
	return "file:" + (&url.URL{Path: p}).EscapedPath()
}

// Data directory layout, for a backup that must know what is what.
const (
	// PromptDirName is the directory of prompt audio in the data directory.
	PromptDirName = promptDirName
	// VoicemailDirName is the directory of voicemail audio in the data
	// directory, one directory per mailbox.
	VoicemailDirName = voicemailDirName
	// GreetingFileName is a mailbox's recorded greeting in its directory;
	// every other file there is a message, named by its row.
	GreetingFileName = greetingFileName
)
