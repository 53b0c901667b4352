package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// voicemailDirName is the directory of voicemail audio beside the database:
// voicemail/MAILBOX/ holds a box's messages and its greeting.
const voicemailDirName = "voicemail"

// File names in a mailbox directory: the greeting, messages being recorded
// (".tmp-*.wav"), and the audio of messages being deleted
// (".FILE-*.deleted", see RecoverVoicemail). Every other name is a
// message's file, named in its row.
const (
	greetingFileName = "greeting.wav"
	vmTempPattern    = ".tmp-*.wav"
	vmDeletedSuffix  = ".deleted"
)

// maxMailbox is the longest mailbox (an extension number).
const maxMailbox = 32

// VoicemailMessage is one message in a voicemail box. Its audio is an 8 kHz
// mono 16-bit PCM WAV file in the box's directory.
type VoicemailMessage struct {
	ID         int64
	Mailbox    string // the extension number
	Caller     string // the caller's number (user part), "" if unknown
	CallerName string // the caller's display name, "" if unknown
	ReceivedAt time.Time
	Duration   time.Duration // kept to the millisecond
	Read       bool
}

// VoicemailCounts are a box's message counts, as the message-waiting lamp
// shows them: New is unread, Old read.
type VoicemailCounts struct{ New, Old int }

// VoicemailRecovery says what RecoverVoicemail tidied after a crash.
type VoicemailRecovery struct {
	TempFiles    int // half-written recordings removed
	OrphanFiles  int // message files without a row removed
	OrphanRows   int // rows whose audio was missing deleted
	RestoredDels int // audio set aside by a delete that never committed, put back
}

// VoicemailDir is the directory that holds the voicemail audio:
// voicemail/ beside the database file, one directory per mailbox.
func (s *Store) VoicemailDir() string { return s.voicemailDir }

func (s *Store) mailboxDir(mailbox string) string { return filepath.Join(s.voicemailDir, mailbox) }

// mailboxProblem refuses a mailbox that is not an extension-like number:
// the mailbox becomes a directory name.
func mailboxProblem(mailbox string) error {
	if len(mailbox) == 0 || len(mailbox) > maxMailbox || strings.Trim(mailbox, "0123456789") != "" {
		return fmt.Errorf("mailbox %q: %w: must be 1 to %d digits", mailbox, ErrInvalidName, maxMailbox)
	}
	return nil
}

// CreateVoicemailFile creates the file a new message of mailbox is
// recorded into: a temporary file (".tmp-*.wav") in the box's directory,
// open for reading and writing (media.NewWAVWriter needs to seek). Pass it
// to CommitVoicemail when the recording is complete, or to
// DiscardVoicemailFile. Until committed, a crash leaves only a temporary
// file, which RecoverVoicemail removes.
func (s *Store) CreateVoicemailFile(mailbox string) (*os.File, error) {
	return s.createMailboxTemp(mailbox)
}

func (s *Store) createMailboxTemp(mailbox string) (*os.File, error) {
	if err := mailboxProblem(mailbox); err != nil {
		return nil, err
	}
	dir := s.mailboxDir(mailbox)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("voicemail directory: %w", err)
	}
	f, err := os.CreateTemp(dir, vmTempPattern)
	if err != nil {
		return nil, fmt.Errorf("voicemail %s: %w", mailbox, err)
	}
	return f, nil
}

// DiscardVoicemailFile closes and removes a file from CreateVoicemailFile
// or CreateGreetingFile that is not to be kept (too short a message, a
// failed recording).
func (s *Store) DiscardVoicemailFile(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

func (s *Store) hook(step string) {
	if s.commitHook != nil {
		s.commitHook(step)
	}
}

// CommitVoicemail stores the message recorded into f (from
// CreateVoicemailFile for m.Mailbox; the WAV complete, its writer closed):
// the file is synced, closed and renamed to its final name, the directory
// synced, and only then m's row inserted; m.ID is set. If anything fails
// the file is removed. A kill at any moment therefore leaves a whole
// message (file and row) or, after RecoverVoicemail, none. A zero
// m.ReceivedAt is now. The insert does not heed ctx's cancellation (the
// call that recorded the message has usually ended by now): a recorded
// message is not dropped for a hang-up.
func (s *Store) CommitVoicemail(ctx context.Context, f *os.File, m *VoicemailMessage) error {
	ctx = context.WithoutCancel(ctx)
	dir := s.mailboxDir(m.Mailbox)
	if err := mailboxProblem(m.Mailbox); err != nil || filepath.Dir(f.Name()) != dir {
		s.DiscardVoicemailFile(f)
		if err != nil {
			return err
		}
		return fmt.Errorf("voicemail %s: %w: file %s is not in the box", m.Mailbox, ErrInvalid, f.Name())
	}
	if err := f.Sync(); err != nil {
		s.DiscardVoicemailFile(f)
		return fmt.Errorf("voicemail %s: %w", m.Mailbox, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("voicemail %s: %w", m.Mailbox, err)
	}
	s.hook("synced")
	received := m.ReceivedAt
	if received.IsZero() {
		received = time.Now()
	}
	name, err := messageFileName(received)
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(f.Name(), final); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("voicemail %s: %w", m.Mailbox, err)
	}
	syncDir(dir)
	s.hook("renamed")
	var id int64
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO voicemail_messages
			(mailbox, caller, caller_name, received_at, duration_ms, read, file) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			m.Mailbox, m.Caller, m.CallerName, unix(received), m.Duration.Milliseconds(), m.Read, name)
		if err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") {
				return fmt.Errorf("voicemail %s: no such extension: %w", m.Mailbox, ErrNotFound)
			}
			return fmt.Errorf("insert voicemail %s: %w", m.Mailbox, err)
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		os.Remove(final)
		syncDir(dir)
		return err
	}
	s.hook("inserted")
	m.ID = id
	m.ReceivedAt = fromUnix(unix(received))
	m.Duration = m.Duration.Truncate(time.Millisecond)
	s.publish(Change{Kind: "voicemail", Key: m.Mailbox})
	return nil
}

// messageFileName is a new message's file name: when it came and a random
// part, so names never collide and sort by time.
func messageFileName(t time.Time) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("voicemail file name: %w", err)
	}
	return "msg-" + t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:]) + ".wav", nil
}

const voicemailColumns = `id, mailbox, caller, caller_name, received_at, duration_ms, read`

func scanVoicemail(row interface{ Scan(...any) error }) (VoicemailMessage, error) {
	var m VoicemailMessage
	var received, ms int64
	if err := row.Scan(&m.ID, &m.Mailbox, &m.Caller, &m.CallerName, &received, &ms, &m.Read); err != nil {
		return m, err
	}
	m.ReceivedAt = fromUnix(received)
	m.Duration = time.Duration(ms) * time.Millisecond
	return m, nil
}

// ListVoicemail returns up to opt.Limit messages of mailbox, newest first,
// after the cursor opt.After (a message ID from a previous page), filtered
// by opt.Query (caller number or name substring). next is the cursor of the
// following page, empty on the last one. A malformed cursor is ErrInvalid.
func (s *Store) ListVoicemail(ctx context.Context, mailbox string, opt ListOptions) ([]VoicemailMessage, string, error) {
	limit := clampLimit(opt.Limit)
	q := `SELECT ` + voicemailColumns + ` FROM voicemail_messages WHERE mailbox = ?`
	args := []any{mailbox}
	if opt.After != "" {
		after, err := strconv.ParseInt(opt.After, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("voicemail cursor %q: %w", opt.After, ErrInvalid)
		}
		q += ` AND id < ?`
		args = append(args, after)
	}
	if opt.Query != "" {
		like := "%" + escapeLike(opt.Query) + "%"
		q += ` AND (caller LIKE ? ESCAPE '\' OR caller_name LIKE ? ESCAPE '\')`
		args = append(args, like, like)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	items, next, err := queryPage(ctx, s.r, q, args, limit, scanVoicemail,
		func(m VoicemailMessage) string { return strconv.FormatInt(m.ID, 10) })
	if err != nil {
		return nil, "", fmt.Errorf("list voicemail %s: %w", mailbox, err)
	}
	return items, next, nil
}

// GetVoicemail returns message id of mailbox, or ErrNotFound.
func (s *Store) GetVoicemail(ctx context.Context, mailbox string, id int64) (VoicemailMessage, error) {
	m, _, err := s.getVoicemail(ctx, mailbox, id)
	return m, err
}

func (s *Store) getVoicemail(ctx context.Context, mailbox string, id int64) (VoicemailMessage, string, error) {
	var file string
	var m VoicemailMessage
	var received, ms int64
	err := s.r.QueryRowContext(ctx, `SELECT `+voicemailColumns+`, file FROM voicemail_messages WHERE mailbox = ? AND id = ?`,
		mailbox, id).Scan(&m.ID, &m.Mailbox, &m.Caller, &m.CallerName, &received, &ms, &m.Read, &file)
	if errors.Is(err, sql.ErrNoRows) {
		return m, "", fmt.Errorf("voicemail %s/%d: %w", mailbox, id, ErrNotFound)
	}
	if err != nil {
		return m, "", fmt.Errorf("voicemail %s/%d: %w", mailbox, id, err)
	}
	m.ReceivedAt = fromUnix(received)
	m.Duration = time.Duration(ms) * time.Millisecond
	return m, file, nil
}

// OpenVoicemailAudio opens the WAV file of message id of mailbox for
// reading (the caller closes it), or fails with ErrNotFound. The open file
// stays readable even if the message is deleted meanwhile.
func (s *Store) OpenVoicemailAudio(ctx context.Context, mailbox string, id int64) (*os.File, VoicemailMessage, error) {
	m, file, err := s.getVoicemail(ctx, mailbox, id)
	if err != nil {
		return nil, m, err
	}
	f, err := os.Open(filepath.Join(s.mailboxDir(mailbox), file))
	if errors.Is(err, os.ErrNotExist) {
		return nil, m, fmt.Errorf("voicemail %s/%d: %w", mailbox, id, ErrNotFound) // deleted meanwhile
	}
	if err != nil {
		return nil, m, fmt.Errorf("voicemail %s/%d: %w", mailbox, id, err)
	}
	return f, m, nil
}

// SetVoicemailRead marks message id of mailbox read or unread, or fails
// with ErrNotFound.
func (s *Store) SetVoicemailRead(ctx context.Context, mailbox string, id int64, read bool) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE voicemail_messages SET read = ? WHERE mailbox = ? AND id = ?`, read, mailbox, id)
		return affectedOne(res, err, fmt.Sprintf("voicemail %s/%d", mailbox, id))
	})
	if err != nil {
		return err
	}
	s.publish(Change{Kind: "voicemail", Key: mailbox})
	return nil
}

// DeleteVoicemail removes message id of mailbox, its row and its audio, or
// fails with ErrNotFound. The file is moved aside inside the transaction
// and removed after the commit (moved back if the commit fails), so no
// error or crash leaves a row without its audio.
func (s *Store) DeleteVoicemail(ctx context.Context, mailbox string, id int64) error {
	dir := s.mailboxDir(mailbox)
	var file, trash string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT file FROM voicemail_messages WHERE mailbox = ? AND id = ?`, mailbox, id).Scan(&file)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("voicemail %s/%d: %w", mailbox, id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("voicemail %s/%d: %w", mailbox, id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM voicemail_messages WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete voicemail %s/%d: %w", mailbox, id, err)
		}
		t, err := os.CreateTemp(dir, "."+file+"-*"+vmDeletedSuffix)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // the directory (and the audio) was lost already; the row goes
			}
			return fmt.Errorf("delete voicemail %s/%d: %w", mailbox, id, err)
		}
		t.Close()
		if err := os.Rename(filepath.Join(dir, file), t.Name()); err != nil {
			os.Remove(t.Name())
			if errors.Is(err, os.ErrNotExist) {
				return nil // the audio was lost already; the row goes
			}
			return fmt.Errorf("delete voicemail %s/%d: %w", mailbox, id, err)
		}
		trash = t.Name()
		return nil
	})
	if err != nil {
		if trash != "" { // the commit failed: the message stays, with its audio
			os.Rename(trash, filepath.Join(dir, file))
		}
		return err
	}
	if trash != "" {
		os.Remove(trash)
	}
	s.publish(Change{Kind: "voicemail", Key: mailbox})
	return nil
}

// VoicemailCounts returns how many unread (New) and read (Old) messages
// mailbox holds.
func (s *Store) VoicemailCounts(ctx context.Context, mailbox string) (VoicemailCounts, error) {
	var c VoicemailCounts
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(read = 0), 0), COALESCE(SUM(read = 1), 0)
		FROM voicemail_messages WHERE mailbox = ?`, mailbox).Scan(&c.New, &c.Old)
	if err != nil {
		return c, fmt.Errorf("voicemail counts %s: %w", mailbox, err)
	}
	return c, nil
}

// CountVoicemail returns how many messages all boxes hold.
func (s *Store) CountVoicemail(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM voicemail_messages`).Scan(&n)
	return n, err
}

// ExpireVoicemail deletes the messages older than their box's
// DeleteAfterDays at now (boxes with 0 keep theirs) and returns how many.
func (s *Store) ExpireVoicemail(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.mailbox, m.id FROM voicemail_messages m
		JOIN extensions e ON e.number = m.mailbox
		WHERE e.vm_delete_after_days > 0 AND m.received_at < ? - e.vm_delete_after_days * 86400`, unix(now))
	if err != nil {
		return 0, fmt.Errorf("expire voicemail: %w", err)
	}
	type key struct {
		mailbox string
		id      int64
	}
	var old []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.mailbox, &k.id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("expire voicemail: %w", err)
		}
		old = append(old, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("expire voicemail: %w", err)
	}
	n := 0
	for _, k := range old {
		switch err := s.DeleteVoicemail(ctx, k.mailbox, k.id); {
		case err == nil:
			n++
		case !errors.Is(err, ErrNotFound): // deleted meanwhile is fine
			return n, err
		}
	}
	return n, nil
}

// RecoverVoicemail tidies the voicemail directory after a crash; see
// RecoverVoicemailReport, which also says what it did.
func (s *Store) RecoverVoicemail(ctx context.Context) error {
	_, err := s.RecoverVoicemailReport(ctx)
	return err
}

// RecoverVoicemailReport makes files and rows agree after a crash: it
// removes half-written recordings, puts back audio set aside by a delete
// that never committed (and removes that of deletes that did), removes
// message files without a row and the directories of boxes whose extension
// is gone, and deletes rows whose audio is missing. Only the process that
// serves the data directory may call it, before it records messages: in
// another process it would take recordings in flight for leftovers.
func (s *Store) RecoverVoicemailReport(ctx context.Context) (VoicemailRecovery, error) {
	var rep VoicemailRecovery
	files := map[string]map[string]bool{} // mailbox -> file -> row exists
	rows, err := s.r.QueryContext(ctx, `SELECT mailbox, file FROM voicemail_messages`)
	if err != nil {
		return rep, fmt.Errorf("recover voicemail: %w", err)
	}
	for rows.Next() {
		var mailbox, file string
		if err := rows.Scan(&mailbox, &file); err != nil {
			rows.Close()
			return rep, fmt.Errorf("recover voicemail: %w", err)
		}
		if files[mailbox] == nil {
			files[mailbox] = map[string]bool{}
		}
		files[mailbox][file] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("recover voicemail: %w", err)
	}

	boxes, err := os.ReadDir(s.voicemailDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return rep, fmt.Errorf("recover voicemail: %w", err)
	}
	for _, box := range boxes {
		path := filepath.Join(s.voicemailDir, box.Name())
		if !box.IsDir() || strings.HasPrefix(box.Name(), ".") || mailboxProblem(box.Name()) != nil {
			// A box set aside by an extension's delete (or a stray).
			os.RemoveAll(path)
			continue
		}
		if _, err := s.GetExtension(ctx, box.Name()); errors.Is(err, ErrNotFound) {
			os.RemoveAll(path)
			continue
		} else if err != nil {
			return rep, err
		}
		if err := s.recoverMailbox(box.Name(), files[box.Name()], &rep); err != nil {
			return rep, err
		}
	}

	// Rows whose audio is missing (removed by hand, or lost with a disk).
	for mailbox, fs := range files {
		for file := range fs {
			if _, err := os.Stat(filepath.Join(s.mailboxDir(mailbox), file)); !errors.Is(err, os.ErrNotExist) {
				continue
			}
			if _, err := s.w.ExecContext(ctx, `DELETE FROM voicemail_messages WHERE mailbox = ? AND file = ?`, mailbox, file); err != nil {
				return rep, fmt.Errorf("recover voicemail: %w", err)
			}
			rep.OrphanRows++
			s.publish(Change{Kind: "voicemail", Key: mailbox})
		}
	}
	return rep, nil
}

// recoverMailbox tidies one box's directory; rows names its messages'
// files.
func (s *Store) recoverMailbox(mailbox string, rows map[string]bool, rep *VoicemailRecovery) error {
	dir := s.mailboxDir(mailbox)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("recover voicemail %s: %w", mailbox, err)
	}
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case e.IsDir():
			os.RemoveAll(path)
		case strings.HasPrefix(name, ".tmp-"):
			os.Remove(path)
			rep.TempFiles++
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, vmDeletedSuffix):
			file := name[1:max(1, strings.LastIndexByte(name, '-'))]
			final := filepath.Join(dir, file)
			if _, err := os.Stat(final); rows[file] && errors.Is(err, os.ErrNotExist) {
				if err := os.Rename(path, final); err != nil {
					return fmt.Errorf("restore voicemail %s/%s: %w", mailbox, file, err)
				}
				rep.RestoredDels++
				continue
			}
			os.Remove(path)
		case name == greetingFileName:
		case !rows[name]:
			os.Remove(path)
			rep.OrphanFiles++
		}
	}
	syncDir(dir)
	return nil
}

// CreateGreetingFile creates the file a new greeting of mailbox is recorded
// (or converted) into, as CreateVoicemailFile does for a message. Pass it to
// CommitGreeting or DiscardVoicemailFile.
func (s *Store) CreateGreetingFile(mailbox string) (*os.File, error) {
	return s.createMailboxTemp(mailbox)
}

// CommitGreeting makes the WAV written into f (from CreateGreetingFile) the
// greeting of mailbox, replacing any earlier one: synced, closed, renamed
// into place. It fails with ErrNotFound, removing f, when mailbox is no
// extension.
func (s *Store) CommitGreeting(ctx context.Context, f *os.File, mailbox string) error {
	dir := s.mailboxDir(mailbox)
	if err := mailboxProblem(mailbox); err != nil || filepath.Dir(f.Name()) != dir {
		s.DiscardVoicemailFile(f)
		if err != nil {
			return err
		}
		return fmt.Errorf("greeting %s: %w: file %s is not in the box", mailbox, ErrInvalid, f.Name())
	}
	if _, err := s.GetExtension(context.WithoutCancel(ctx), mailbox); err != nil {
		s.DiscardVoicemailFile(f)
		return err
	}
	if err := f.Sync(); err != nil {
		s.DiscardVoicemailFile(f)
		return fmt.Errorf("greeting %s: %w", mailbox, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("greeting %s: %w", mailbox, err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, greetingFileName)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("greeting %s: %w", mailbox, err)
	}
	syncDir(dir)
	return nil
}

// OpenGreeting opens the greeting of mailbox for reading (the caller closes
// it), or fails with ErrNotFound when the box has none (the caller then
// builds one from prompts).
func (s *Store) OpenGreeting(ctx context.Context, mailbox string) (*os.File, error) {
	if err := mailboxProblem(mailbox); err != nil {
		return nil, fmt.Errorf("greeting %s: %w", mailbox, ErrNotFound)
	}
	f, err := os.Open(filepath.Join(s.mailboxDir(mailbox), greetingFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("greeting %s: %w", mailbox, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("greeting %s: %w", mailbox, err)
	}
	return f, nil
}

// DeleteGreeting removes the greeting of mailbox, or fails with
// ErrNotFound when it has none.
func (s *Store) DeleteGreeting(ctx context.Context, mailbox string) error {
	if err := mailboxProblem(mailbox); err != nil {
		return fmt.Errorf("greeting %s: %w", mailbox, ErrNotFound)
	}
	dir := s.mailboxDir(mailbox)
	err := os.Remove(filepath.Join(dir, greetingFileName))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("greeting %s: %w", mailbox, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("greeting %s: %w", mailbox, err)
	}
	syncDir(dir)
	return nil
}

// setMailboxAside moves the directory of mailbox into a new hidden
// directory of the voicemail directory (inside DeleteExtension's
// transaction) and returns that directory, "" if the box had none;
// restoreMailbox undoes it. RecoverVoicemail removes such directories a
// crash left.
func (s *Store) setMailboxAside(mailbox string) (string, error) {
	dir := s.mailboxDir(mailbox)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	trash, err := os.MkdirTemp(s.voicemailDir, "."+mailbox+"-*"+vmDeletedSuffix)
	if err != nil {
		return "", fmt.Errorf("voicemail %s: %w", mailbox, err)
	}
	if err := os.Rename(dir, filepath.Join(trash, mailbox)); err != nil {
		os.Remove(trash)
		return "", fmt.Errorf("voicemail %s: %w", mailbox, err)
	}
	return trash, nil
}

// restoreMailbox moves back a box setMailboxAside moved to trash.
func (s *Store) restoreMailbox(mailbox, trash string) {
	if os.Rename(filepath.Join(trash, mailbox), s.mailboxDir(mailbox)) == nil {
		os.Remove(trash)
	}
}
