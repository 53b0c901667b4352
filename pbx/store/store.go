// Package store is the PBX's SQLite persistence: one package, typed methods,
// no SQL anywhere else. Writes go through a single connection (SQLite has one
// writer anyway); reads use a small pool. Every committed configuration change
// is announced to subscribers so the engines pick it up without a reload.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Change names one committed configuration change.
type Change struct {
	// Kind is the kind of object that changed: "extension", "user",
	// "dialplan", "prompt", "ivr", "ringgroup", "voicemail" (Key is the
	// mailbox: a message came, was read or deleted; counts may differ).
	Kind string
	// Key identifies the object (extension number, username); empty for singletons.
	Key string
	// Deleted is set when the object was removed.
	Deleted bool
}

// Store is the PBX database.
type Store struct {
	w *sql.DB // the one writer connection
	r *sql.DB // read pool

	promptDir    string // prompt audio files: prompts/ beside the database
	voicemailDir string // voicemail audio: voicemail/MAILBOX/ beside the database

	// commitHook, when set (by tests only), is called at each step of
	// CommitVoicemail and DeleteVoicemail so a test can stop the process
	// there.
	commitHook func(step string)

	mu          sync.RWMutex
	subscribers []func(Change)
}

// Open opens (creating if needed) the database at path and brings its schema
// up to date. A database written by a newer binary is refused with
// ErrSchemaTooNew.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s := &Store{w: w, promptDir: filepath.Join(filepath.Dir(path), promptDirName),
		voicemailDir: filepath.Join(filepath.Dir(path), voicemailDirName), commitHook: crashpoint}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	rerr := s.r.Close()
	if err := s.w.Close(); err != nil {
		return err
	}
	return rerr
}

// Subscribe registers fn to be called after every committed configuration
// change. fn runs on the writer's goroutine and must not block.
func (s *Store) Subscribe(fn func(Change)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribers = append(s.subscribers, fn)
}

func (s *Store) publish(c Change) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.subscribers {
		fn(c)
	}
}

// tx runs fn inside one write transaction.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// affectedOne checks an UPDATE or DELETE of one row: its error, or
// ErrNotFound (naming what) when no row matched.
func affectedOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func unix(t time.Time) int64 { return t.Unix() }

func fromUnix(v int64) time.Time { return time.Unix(v, 0).UTC() }
