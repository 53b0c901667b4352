package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PromptMusicOnHold is the name of the prompt the PBX plays to a held
// party. It is built in; an uploaded prompt of this name replaces the
// built-in music until it is deleted.
const PromptMusicOnHold = "music-on-hold"

// promptDirName is the directory of prompt audio beside the database.
const promptDirName = "prompts"

// maxPromptName is the longest prompt name.
const maxPromptName = 64

// Prompt is an uploaded audio prompt. Its audio is the file
// PromptDir()/NAME.wav, 8 kHz mono 16-bit PCM as the caller stored it; the
// database keeps that it exists, how long it is and when it came.
type Prompt struct {
	Name      string
	Duration  time.Duration // kept to the millisecond
	CreatedAt time.Time
}

// PromptNameProblem returns what is wrong with a prompt name ("" if
// nothing): 1 to 64 of a-z, 0-9, '_' and '-', starting with a letter or
// digit. The name becomes a file name, so nothing else is let through.
func PromptNameProblem(name string) string {
	if len(name) == 0 || len(name) > maxPromptName {
		return "must be 1 to 64 characters"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return "must be lower-case letters, digits, '_' and '-', starting with a letter or digit"
		}
	}
	return ""
}

// PromptDir is the directory that holds the prompts' audio files: prompts/
// beside the database file.
func (s *Store) PromptDir() string { return s.promptDir }

func (s *Store) promptPath(name string) string {
	return filepath.Join(s.promptDir, name+".wav")
}

// CreatePrompt stores a new prompt: the WAV file read from wav becomes
// PromptDir()/NAME.wav and p's row is added, or neither happens. It fails
// with ErrExists when an uploaded prompt has the name already (built-in
// names are free: an upload replaces the built-in prompt) and with
// ErrInvalidName for a name PromptNameProblem refuses. The file is written
// to a temporary name and renamed into place only once it is complete and
// the row is in, so a reader never sees half a file.
func (s *Store) CreatePrompt(ctx context.Context, p *Prompt, wav io.Reader) error {
	if msg := PromptNameProblem(p.Name); msg != "" {
		return fmt.Errorf("prompt %q: %w: %s", p.Name, ErrInvalidName, msg)
	}
	// Refuse a taken name before writing (and syncing) the file; the
	// transaction below checks again for an upload racing this one.
	if _, err := s.GetPrompt(ctx, p.Name); err == nil {
		return fmt.Errorf("prompt %s: %w", p.Name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := os.MkdirAll(s.promptDir, 0o750); err != nil {
		return fmt.Errorf("prompt directory: %w", err)
	}
	tmp, err := os.CreateTemp(s.promptDir, "."+p.Name+"-*"+tempSuffix)
	if err != nil {
		return fmt.Errorf("prompt %s: %w", p.Name, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, wav); err != nil {
		return fmt.Errorf("write prompt %s: %w", p.Name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write prompt %s: %w", p.Name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write prompt %s: %w", p.Name, err)
	}
	now := time.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM prompts WHERE name = ?`, p.Name).Scan(&one)
		switch {
		case err == nil:
			return fmt.Errorf("prompt %s: %w", p.Name, ErrExists)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("prompt %s: %w", p.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO prompts (name, duration_ms, created_at) VALUES (?, ?, ?)`,
			p.Name, p.Duration.Milliseconds(), unix(now)); err != nil {
			return fmt.Errorf("insert prompt %s: %w", p.Name, err)
		}
		// Renamed inside the transaction: if the rename fails, the row goes
		// too. (If the commit then failed, a file without a row is left,
		// which nothing serves and the next upload of the name replaces.)
		if err := os.Rename(tmp.Name(), s.promptPath(p.Name)); err != nil {
			return fmt.Errorf("prompt %s: %w", p.Name, err)
		}
		renamed = true
		return nil
	})
	if err != nil {
		return err
	}
	syncDir(s.promptDir)
	p.Duration = p.Duration.Truncate(time.Millisecond)
	p.CreatedAt = fromUnix(unix(now))
	s.publish(Change{Kind: "prompt", Key: p.Name})
	return nil
}

// GetPrompt returns the uploaded prompt name, or ErrNotFound.
func (s *Store) GetPrompt(ctx context.Context, name string) (Prompt, error) {
	p, err := scanPrompt(s.r.QueryRowContext(ctx, `SELECT name, duration_ms, created_at FROM prompts WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("prompt %s: %w", name, ErrNotFound)
	}
	return p, err
}

// ListPrompts returns every uploaded prompt ordered by name.
func (s *Store) ListPrompts(ctx context.Context) ([]Prompt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, duration_ms, created_at FROM prompts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list prompts: %w", err)
	}
	defer rows.Close()
	var out []Prompt
	for rows.Next() {
		p, err := scanPrompt(rows)
		if err != nil {
			return nil, fmt.Errorf("list prompts: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// OpenPrompt opens the audio file of the uploaded prompt name for reading
// (the caller closes it), or fails with ErrNotFound. The open file stays
// readable even if the prompt is deleted meanwhile.
func (s *Store) OpenPrompt(ctx context.Context, name string) (*os.File, Prompt, error) {
	p, err := s.GetPrompt(ctx, name)
	if err != nil {
		return nil, p, err
	}
	f, err := os.Open(s.promptPath(name))
	if errors.Is(err, os.ErrNotExist) {
		// Deleted between the query and the open.
		return nil, p, fmt.Errorf("prompt %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, p, fmt.Errorf("prompt %s: %w", name, err)
	}
	return f, p, nil
}

// DeletePrompt removes the uploaded prompt name, its row and its file, or
// fails with ErrNotFound. The file is moved aside inside the transaction
// and removed after the commit (moved back if the commit fails), so an
// upload of the same name racing the delete keeps its file, and no error
// leaves a row without its audio.
func (s *Store) DeletePrompt(ctx context.Context, name string) error {
	var trash string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM prompts WHERE name = ?`, name)
		if err := affectedOne(res, err, "prompt "+name); err != nil {
			return err
		}
		t, err := os.CreateTemp(s.promptDir, "."+name+"-*"+deletedSuffix)
		if err != nil {
			return fmt.Errorf("delete prompt %s: %w", name, err)
		}
		t.Close()
		if err := os.Rename(s.promptPath(name), t.Name()); err != nil {
			os.Remove(t.Name())
			if errors.Is(err, os.ErrNotExist) {
				return nil // the file was lost already; the row goes
			}
			return fmt.Errorf("delete prompt %s: %w", name, err)
		}
		trash = t.Name()
		return nil
	})
	if err != nil {
		if trash != "" { // the commit failed: the prompt stays, with its audio
			os.Rename(trash, s.promptPath(name))
		}
		return err
	}
	if trash != "" {
		os.Remove(trash)
	}
	s.publish(Change{Kind: "prompt", Key: name, Deleted: true})
	return nil
}

func scanPrompt(row interface{ Scan(...any) error }) (Prompt, error) {
	var p Prompt
	var ms, created int64
	if err := row.Scan(&p.Name, &ms, &created); err != nil {
		return p, err
	}
	p.Duration = time.Duration(ms) * time.Millisecond
	p.CreatedAt = fromUnix(created)
	return p, nil
}

// File name endings in the prompt directory: tempSuffix for an upload
// being written, deletedSuffix for the audio of a prompt being deleted
// (see RecoverPromptFiles).
const (
	tempSuffix    = ".tmp"
	deletedSuffix = ".deleted"
)

// RecoverPromptFiles tidies the prompt directory after a crash: it removes
// half-written uploads, and of the files set aside by a delete, puts back
// those whose prompt is still in the database (the delete never
// committed) and removes the rest. Only the process that serves the data
// directory may call it, before it takes uploads: in another process (a
// command run beside the server) it would take the server's uploads and
// deletes in flight for a crash's leftovers.
func (s *Store) RecoverPromptFiles(ctx context.Context) error {
	temps, _ := filepath.Glob(filepath.Join(s.promptDir, ".*"+tempSuffix))
	for _, n := range temps {
		os.Remove(n)
	}
	trash, _ := filepath.Glob(filepath.Join(s.promptDir, ".*"+deletedSuffix))
	for _, n := range trash {
		base := filepath.Base(n)
		name := base[1:max(1, strings.LastIndexByte(base, '-'))]
		_, err := s.GetPrompt(ctx, name)
		switch {
		case err == nil:
			if _, serr := os.Stat(s.promptPath(name)); errors.Is(serr, os.ErrNotExist) {
				if err := os.Rename(n, s.promptPath(name)); err != nil {
					return fmt.Errorf("restore prompt %s: %w", name, err)
				}
				continue
			}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		os.Remove(n)
	}
	return nil
}

// syncDir makes a rename in dir durable; failing that, the rename still
// happened, so errors are ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
