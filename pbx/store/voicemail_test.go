package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officepbx/pbx/media"
)

// tone is n samples of a recognisable pattern.
func tone(n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16((i%40)*800 - 16000)
	}
	return pcm
}

// mustRecord stores a message of n samples in mailbox the way the call
// application does: CreateVoicemailFile, a WAVWriter, CommitVoicemail.
func mustRecord(t *testing.T, s *Store, mailbox, caller string, n int, at time.Time) VoicemailMessage {
	t.Helper()
	f, err := s.CreateVoicemailFile(mailbox)
	if err != nil {
		t.Fatal(err)
	}
	w, err := media.NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteAudio(tone(n))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m := VoicemailMessage{Mailbox: mailbox, Caller: caller, CallerName: "Caller " + caller, ReceivedAt: at, Duration: w.Duration()}
	if err := s.CommitVoicemail(context.Background(), f, &m); err != nil {
		t.Fatalf("CommitVoicemail: %v", err)
	}
	return m
}

// mailboxFiles lists a box's directory, hidden files included.
func mailboxFiles(t *testing.T, s *Store, mailbox string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.VoicemailDir(), mailbox))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func readAudio(t *testing.T, s *Store, mailbox string, id int64) *media.Audio {
	t.Helper()
	f, _, err := s.OpenVoicemailAudio(context.Background(), mailbox, id)
	if err != nil {
		t.Fatalf("OpenVoicemailAudio(%s, %d): %v", mailbox, id, err)
	}
	defer f.Close()
	a, err := media.ReadWAV(f)
	if err != nil {
		t.Fatalf("ReadWAV(%s, %d): %v", mailbox, id, err)
	}
	return a
}

func TestVoicemailRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	if want := filepath.Join(filepath.Dir(path), "voicemail"); s.VoicemailDir() != want {
		t.Errorf("VoicemailDir %q, want %q", s.VoicemailDir(), want)
	}
	mustCreateExt(t, s, newExt("201"))
	var mu sync.Mutex
	var changes []Change
	s.Subscribe(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		if c.Kind == "voicemail" {
			changes = append(changes, c)
		}
	})
	at := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	m := mustRecord(t, s, "201", "202", 8000, at)
	if m.ID == 0 || !m.ReceivedAt.Equal(at) || m.Duration != time.Second {
		t.Errorf("committed %+v", m)
	}
	got, err := s.GetVoicemail(ctx, "201", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("GetVoicemail =\n%+v\nwant\n%+v", got, m)
	}
	if a := readAudio(t, s, "201", m.ID); len(a.Samples) != 8000 {
		t.Errorf("audio has %d samples, want 8000", len(a.Samples))
	}
	if files := mailboxFiles(t, s, "201"); len(files) != 1 || !strings.HasPrefix(files[0], "msg-") {
		t.Errorf("mailbox files %v, want one message", files)
	}
	if c, _ := s.VoicemailCounts(ctx, "201"); c != (VoicemailCounts{New: 1}) {
		t.Errorf("counts %+v, want 1 new", c)
	}
	if err := s.SetVoicemailRead(ctx, "201", m.ID, true); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.VoicemailCounts(ctx, "201"); c != (VoicemailCounts{Old: 1}) {
		t.Errorf("counts %+v, want 1 old", c)
	}
	if got, _ := s.GetVoicemail(ctx, "201", m.ID); !got.Read {
		t.Error("not read after SetVoicemailRead")
	}
	// Another box does not see it.
	mustCreateExt(t, s, newExt("202"))
	if _, err := s.GetVoicemail(ctx, "202", m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("other box: err %v, want ErrNotFound", err)
	}
	if err := s.SetVoicemailRead(ctx, "202", m.ID, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("other box read: err %v, want ErrNotFound", err)
	}
	if err := s.DeleteVoicemail(ctx, "202", m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("other box delete: err %v, want ErrNotFound", err)
	}
	if n, _ := s.CountVoicemail(ctx); n != 1 {
		t.Errorf("CountVoicemail %d, want 1", n)
	}
	// An open file keeps playing after the delete.
	f, _, err := s.OpenVoicemailAudio(ctx, "201", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := s.DeleteVoicemail(ctx, "201", m.ID); err != nil {
		t.Fatal(err)
	}
	if a, err := media.ReadWAV(f); err != nil || len(a.Samples) != 8000 {
		t.Errorf("open file after delete: %v", err)
	}
	if _, err := s.GetVoicemail(ctx, "201", m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: err %v, want ErrNotFound", err)
	}
	if _, _, err := s.OpenVoicemailAudio(ctx, "201", m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("audio after delete: err %v, want ErrNotFound", err)
	}
	if err := s.DeleteVoicemail(ctx, "201", m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: err %v, want ErrNotFound", err)
	}
	if files := mailboxFiles(t, s, "201"); len(files) != 0 {
		t.Errorf("files left after delete: %v", files)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []Change{{Kind: "voicemail", Key: "201"}, {Kind: "voicemail", Key: "201"}, {Kind: "voicemail", Key: "201"}}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %+v, want %+v (commit, read, delete)", changes, want)
	}
}

func TestVoicemailDiscardAndFailedCommit(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("201"))
	f, err := s.CreateVoicemailFile("201")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(f.Name()), ".tmp-") || !strings.HasSuffix(f.Name(), ".wav") {
		t.Errorf("temp file %s, want .tmp-*.wav", f.Name())
	}
	s.DiscardVoicemailFile(f)
	if files := mailboxFiles(t, s, "201"); len(files) != 0 {
		t.Errorf("files after discard: %v", files)
	}
	// A box without an extension: the file is written, the insert fails,
	// and the file goes.
	f, err = s.CreateVoicemailFile("299")
	if err != nil {
		t.Fatal(err)
	}
	media.WriteWAV(f, tone(100))
	err = s.CommitVoicemail(ctx, f, &VoicemailMessage{Mailbox: "299"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("commit to missing box: err %v, want ErrNotFound", err)
	}
	if files := mailboxFiles(t, s, "299"); len(files) != 0 {
		t.Errorf("files after failed commit: %v", files)
	}
	// A file of another box is refused and removed.
	f, _ = s.CreateVoicemailFile("201")
	if err := s.CommitVoicemail(ctx, f, &VoicemailMessage{Mailbox: "202"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("file of another box: err %v, want ErrInvalid", err)
	}
	if files := mailboxFiles(t, s, "201"); len(files) != 0 {
		t.Errorf("files after refused commit: %v", files)
	}
	// A cancelled context (the caller hung up) still commits.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	f, _ = s.CreateVoicemailFile("201")
	media.WriteWAV(f, tone(100))
	m := VoicemailMessage{Mailbox: "201"}
	if err := s.CommitVoicemail(cctx, f, &m); err != nil || m.ID == 0 || m.ReceivedAt.IsZero() {
		t.Errorf("commit with a cancelled context: %v, %+v", err, m)
	}
	for _, bad := range []string{"", "../x", "20a", strings.Repeat("1", 33)} {
		if _, err := s.CreateVoicemailFile(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("CreateVoicemailFile(%q): err %v, want ErrInvalidName", bad, err)
		}
	}
}

func TestListVoicemailPaging(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("201"))
	mustCreateExt(t, s, newExt("202"))
	at := time.Now().Add(-time.Hour)
	var ids []int64
	for i := range 5 {
		ids = append(ids, mustRecord(t, s, "201", "30"+strconv.Itoa(i), 80, at.Add(time.Duration(i)*time.Minute)).ID)
	}
	mustRecord(t, s, "202", "300", 80, at)
	slices.Reverse(ids) // newest first
	var got []int64
	after := ""
	for pages := 0; ; pages++ {
		page, next, err := s.ListVoicemail(ctx, "201", ListOptions{Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			got = append(got, m.ID)
		}
		if next == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		after = next
	}
	if !reflect.DeepEqual(got, ids) {
		t.Errorf("paged ids %v, want %v", got, ids)
	}
	page, _, err := s.ListVoicemail(ctx, "201", ListOptions{Query: "303"})
	if err != nil || len(page) != 1 || page[0].Caller != "303" {
		t.Errorf("query 303: %+v, %v", page, err)
	}
	if _, _, err := s.ListVoicemail(ctx, "201", ListOptions{After: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad cursor: err %v, want ErrInvalid", err)
	}
	if page, _, _ := s.ListVoicemail(ctx, "203", ListOptions{}); len(page) != 0 {
		t.Errorf("empty box lists %v", page)
	}
}

func TestExpireVoicemail(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	keep := newExt("201")
	mustCreateExt(t, s, keep)
	e := newExt("202")
	e.Voicemail.DeleteAfterDays = 7
	mustCreateExt(t, s, e)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	old := now.Add(-8 * 24 * time.Hour)
	mustRecord(t, s, "201", "1", 80, old)
	gone := mustRecord(t, s, "202", "1", 80, old)
	fresh := mustRecord(t, s, "202", "1", 80, now.Add(-6*24*time.Hour))
	n, err := s.ExpireVoicemail(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("ExpireVoicemail = %d, %v; want 1", n, err)
	}
	if _, err := s.GetVoicemail(ctx, "202", gone.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired message still there: %v", err)
	}
	if _, err := s.GetVoicemail(ctx, "202", fresh.ID); err != nil {
		t.Errorf("fresh message: %v", err)
	}
	if c, _ := s.VoicemailCounts(ctx, "201"); c.New != 1 {
		t.Errorf("box that keeps messages lost one: %+v", c)
	}
	if files := mailboxFiles(t, s, "202"); len(files) != 1 {
		t.Errorf("files of 202 after expiry: %v", files)
	}
}

func TestVoicemailSettingsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	e := newExt("201")
	mustCreateExt(t, s, e)
	got, _ := s.GetExtension(ctx, "201")
	if got.Voicemail.MaxSeconds != 120 || got.Voicemail.MaxMessages != 100 || got.Voicemail.DeleteAfterDays != 0 {
		t.Errorf("defaults %+v", got.Voicemail)
	}
	e.Voicemail = Voicemail{Enabled: true, PIN: "9876", MaxSeconds: 600, MaxMessages: 1, DeleteAfterDays: 3650,
		SkipPINOwn: true, Operator: "extension:201", Email: true}
	if err := s.UpdateExtension(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetExtension(ctx, "201"); !reflect.DeepEqual(got.Voicemail, e.Voicemail) {
		t.Errorf("voicemail %+v, want %+v", got.Voicemail, e.Voicemail)
	}
	e.Voicemail.MaxSeconds = 5
	if err := s.UpdateExtension(ctx, e); err == nil {
		t.Error("max_seconds 5 stored")
	}
	mustCreateExt(t, s, newExt("202"))
	e.Voicemail.MaxSeconds = 60
	e.Voicemail.Operator = "extension:202"
	if err := s.UpdateExtension(ctx, e); err != nil {
		t.Fatal(err)
	}
	if users, _ := s.DestinationUsers(ctx, "extension:202"); !reflect.DeepEqual(users, []string{"extension 201 voicemail operator"}) {
		t.Errorf("users of extension:202 %v", users)
	}
	if err := s.DeleteExtension(ctx, "202"); !errors.Is(err, ErrInUse) {
		t.Errorf("delete the operator: err %v, want ErrInUse", err)
	}
}

func TestDeleteExtensionRemovesVoicemail(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("201"))
	m := mustRecord(t, s, "201", "1", 80, time.Now())
	writeGreeting(t, s, "201", 160)
	if err := s.DeleteExtension(ctx, "201"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetVoicemail(ctx, "201", m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("message after extension delete: %v", err)
	}
	ents, _ := os.ReadDir(s.VoicemailDir())
	if len(ents) != 0 {
		t.Errorf("voicemail dir after extension delete: %v", ents)
	}
	// The number again is a new, empty box.
	mustCreateExt(t, s, newExt("201"))
	if c, _ := s.VoicemailCounts(ctx, "201"); c != (VoicemailCounts{}) {
		t.Errorf("new box counts %+v", c)
	}
	if _, err := s.OpenGreeting(ctx, "201"); !errors.Is(err, ErrNotFound) {
		t.Errorf("greeting of new box: %v", err)
	}
}

func writeGreeting(t *testing.T, s *Store, mailbox string, n int) {
	t.Helper()
	f, err := s.CreateGreetingFile(mailbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := media.WriteWAV(f, tone(n)); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitGreeting(context.Background(), f, mailbox); err != nil {
		t.Fatalf("CommitGreeting: %v", err)
	}
}

func TestGreeting(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("201"))
	if _, err := s.OpenGreeting(ctx, "201"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no greeting: err %v, want ErrNotFound", err)
	}
	if err := s.DeleteGreeting(ctx, "201"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete no greeting: err %v, want ErrNotFound", err)
	}
	writeGreeting(t, s, "201", 160)
	writeGreeting(t, s, "201", 320) // replaces
	f, err := s.OpenGreeting(ctx, "201")
	if err != nil {
		t.Fatal(err)
	}
	a, err := media.ReadWAV(f)
	f.Close()
	if err != nil || len(a.Samples) != 320 {
		t.Errorf("greeting: %v, want the second one", err)
	}
	// The greeting is no message and survives recovery.
	if err := s.RecoverVoicemail(ctx); err != nil {
		t.Fatal(err)
	}
	if files := mailboxFiles(t, s, "201"); !reflect.DeepEqual(files, []string{"greeting.wav"}) {
		t.Errorf("files %v, want the greeting only", files)
	}
	if err := s.DeleteGreeting(ctx, "201"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenGreeting(ctx, "201"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted greeting: err %v, want ErrNotFound", err)
	}
	f, _ = s.CreateGreetingFile("299")
	if err := s.CommitGreeting(ctx, f, "299"); !errors.Is(err, ErrNotFound) {
		t.Errorf("greeting of no extension: err %v, want ErrNotFound", err)
	}
	if files := mailboxFiles(t, s, "299"); len(files) != 0 {
		t.Errorf("files after refused greeting: %v", files)
	}
}

// TestRecoverVoicemail builds by hand what a crash at each step leaves and
// checks that recovery makes files and rows agree.
func TestRecoverVoicemail(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreateExt(t, s, newExt("201"))
	kept := mustRecord(t, s, "201", "1", 800, time.Now())
	lostAudio := mustRecord(t, s, "201", "2", 800, time.Now())
	pending := mustRecord(t, s, "201", "3", 800, time.Now())
	dir := filepath.Join(s.VoicemailDir(), "201")
	fileOf := func(id int64) string {
		_, file, err := s.getVoicemail(ctx, "201", id)
		if err != nil {
			t.Fatal(err)
		}
		return file
	}
	// A recording in progress.
	half, _ := s.CreateVoicemailFile("201")
	half.Write([]byte("RIFF half"))
	half.Close()
	// Renamed but never inserted.
	os.WriteFile(filepath.Join(dir, "msg-20261201-000000-abcdef012345.wav"), []byte("RIFF"), 0o640)
	// A row whose file went missing.
	os.Remove(filepath.Join(dir, fileOf(lostAudio.ID)))
	// A delete that moved the file aside but never committed.
	pf := fileOf(pending.ID)
	os.Rename(filepath.Join(dir, pf), filepath.Join(dir, "."+pf+"-123"+vmDeletedSuffix))
	// A delete that committed but whose file was not yet removed.
	os.WriteFile(filepath.Join(dir, ".msg-20261201-000000-000000000000.wav-456"+vmDeletedSuffix), nil, 0o640)
	// A box set aside by an extension delete, and a box of no extension.
	os.MkdirAll(filepath.Join(s.VoicemailDir(), ".202-789"+vmDeletedSuffix), 0o750)
	os.MkdirAll(filepath.Join(s.VoicemailDir(), "203"), 0o750)
	os.WriteFile(filepath.Join(s.VoicemailDir(), "203", "greeting.wav"), nil, 0o640)

	rep, err := s.RecoverVoicemailReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := VoicemailRecovery{TempFiles: 1, OrphanFiles: 1, OrphanRows: 1, RestoredDels: 1}
	if rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	checkVoicemailConsistent(t, s)
	for _, id := range []int64{kept.ID, pending.ID} {
		if a := readAudio(t, s, "201", id); len(a.Samples) != 800 {
			t.Errorf("message %d: %d samples", id, len(a.Samples))
		}
	}
	if _, err := s.GetVoicemail(ctx, "201", lostAudio.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("row without audio kept: %v", err)
	}
	ents, _ := os.ReadDir(s.VoicemailDir())
	if len(ents) != 1 || ents[0].Name() != "201" {
		t.Errorf("voicemail dir holds %v, want 201 only", ents)
	}
	// Recovery again finds nothing to do.
	if rep, err := s.RecoverVoicemailReport(ctx); err != nil || rep != (VoicemailRecovery{}) {
		t.Errorf("second recovery %+v, %v", rep, err)
	}
}

// checkVoicemailConsistent checks every row has a whole WAV file and every
// file in a box is a row's (or the greeting), with no temporary files.
func checkVoicemailConsistent(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	rows, err := s.r.QueryContext(ctx, `SELECT mailbox, id, file FROM voicemail_messages`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	type msg struct {
		mailbox string
		id      int64
	}
	var msgs []msg
	for rows.Next() {
		var m msg
		var file string
		if err := rows.Scan(&m.mailbox, &m.id, &file); err != nil {
			t.Fatal(err)
		}
		want[filepath.Join(m.mailbox, file)] = true
		msgs = append(msgs, m)
	}
	rows.Close()
	for _, m := range msgs {
		f, _, err := s.OpenVoicemailAudio(ctx, m.mailbox, m.id)
		if err != nil {
			t.Errorf("message %s/%d: %v", m.mailbox, m.id, err)
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if _, err := media.ReadWAV(bytes.NewReader(b)); err != nil {
			t.Errorf("message %s/%d is no whole WAV: %v", m.mailbox, m.id, err)
		}
	}
	filepath.WalkDir(s.VoicemailDir(), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(s.VoicemailDir(), path)
		if !want[rel] && d.Name() != greetingFileName {
			t.Errorf("file without a row: %s", rel)
		}
		return nil
	})
}
