package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func mustCreatePrompt(t *testing.T, s *Store, name string, audio []byte) Prompt {
	t.Helper()
	p := Prompt{Name: name, Duration: 1500 * time.Millisecond}
	if err := s.CreatePrompt(context.Background(), &p, bytes.NewReader(audio)); err != nil {
		t.Fatalf("CreatePrompt(%s): %v", name, err)
	}
	return p
}

// promptFiles lists the prompt directory, hidden files included.
func promptFiles(t *testing.T, s *Store) []string {
	t.Helper()
	ents, err := os.ReadDir(s.PromptDir())
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

func TestPromptRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	if want := filepath.Join(filepath.Dir(path), "prompts"); s.PromptDir() != want {
		t.Errorf("PromptDir %q, want %q", s.PromptDir(), want)
	}
	var changes []Change
	var mu sync.Mutex
	s.Subscribe(func(c Change) {
		mu.Lock()
		defer mu.Unlock()
		changes = append(changes, c)
	})
	start := time.Now().Truncate(time.Second)
	p := mustCreatePrompt(t, s, "welcome", []byte("RIFF-welcome"))
	mustCreatePrompt(t, s, "closed_1", []byte("RIFF-closed"))
	if p.CreatedAt.Before(start) || p.Duration != 1500*time.Millisecond {
		t.Errorf("created %+v", p)
	}
	got, err := s.GetPrompt(ctx, "welcome")
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("GetPrompt = %+v, %v; want %+v", got, err, p)
	}
	list, err := s.ListPrompts(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "closed_1" || list[1].Name != "welcome" {
		t.Errorf("ListPrompts = %+v, %v", list, err)
	}
	f, _, err := s.OpenPrompt(ctx, "welcome")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "RIFF-welcome" {
		t.Errorf("audio %q", b)
	}
	if files := promptFiles(t, s); !reflect.DeepEqual(files, []string{"closed_1.wav", "welcome.wav"}) {
		t.Errorf("prompt directory holds %q", files)
	}

	if err := s.DeletePrompt(ctx, "welcome"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPrompt(ctx, "welcome"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetPrompt after delete: %v", err)
	}
	if _, _, err := s.OpenPrompt(ctx, "welcome"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenPrompt after delete: %v", err)
	}
	if err := s.DeletePrompt(ctx, "welcome"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if files := promptFiles(t, s); !reflect.DeepEqual(files, []string{"closed_1.wav"}) {
		t.Errorf("after delete the prompt directory holds %q", files)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []Change{{Kind: "prompt", Key: "welcome"}, {Kind: "prompt", Key: "closed_1"},
		{Kind: "prompt", Key: "welcome", Deleted: true}}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %+v, want %+v", changes, want)
	}
}

func TestCreatePromptRefuses(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	mustCreatePrompt(t, s, "welcome", []byte("first"))
	for _, tt := range []struct {
		name    string
		audio   io.Reader
		wantErr error // nil: any
	}{
		{"welcome", strings.NewReader("second"), ErrExists},
		{"", strings.NewReader("x"), ErrInvalidName},
		{"../etc/passwd", strings.NewReader("x"), ErrInvalidName},
		{"Welcome", strings.NewReader("x"), ErrInvalidName},
		{"-x", strings.NewReader("x"), ErrInvalidName},
		{strings.Repeat("a", 65), strings.NewReader("x"), ErrInvalidName},
		{"broken", iotest.ErrReader(errors.New("disk on fire")), nil},
	} {
		err := s.CreatePrompt(ctx, &Prompt{Name: tt.name}, tt.audio)
		if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
			t.Errorf("CreatePrompt(%q) = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	// Nothing of the refused ones stays: no row, no file, no temporary file;
	// the first upload keeps its audio.
	if list, _ := s.ListPrompts(ctx); len(list) != 1 {
		t.Errorf("prompts %+v", list)
	}
	if files := promptFiles(t, s); !reflect.DeepEqual(files, []string{"welcome.wav"}) {
		t.Errorf("prompt directory holds %q", files)
	}
	f, _, err := s.OpenPrompt(ctx, "welcome")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != "first" {
		t.Errorf("audio %q after a refused upload of the same name", b)
	}
}

func TestPromptNameProblem(t *testing.T) {
	for name, ok := range map[string]bool{
		"a": true, "music-on-hold": true, "ivr_main-2": true, "0": true, strings.Repeat("z", 64): true,
		"": false, "_a": false, "-a": false, "A": false, "a b": false, "a.wav": false, "a/b": false,
		"é": false, strings.Repeat("z", 65): false,
	} {
		if got := PromptNameProblem(name) == ""; got != ok {
			t.Errorf("PromptNameProblem(%q) = %q", name, PromptNameProblem(name))
		}
	}
}

// A crash leaves half-written uploads and files set aside by deletes;
// RecoverPromptFiles tidies them: the upload goes, a delete that committed
// loses its file, one that did not gets it back. Opening the store alone
// touches nothing (a command beside the server must not).
func TestOpenRecoversPromptFiles(t *testing.T) {
	ctx := context.Background()
	s, path := openStore(t)
	mustCreatePrompt(t, s, "kept", []byte("kept audio"))
	mustCreatePrompt(t, s, "gone", []byte("gone audio"))
	if err := s.DeletePrompt(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	dir := s.PromptDir()
	// The delete of "kept" crashed after moving its file aside; "gone"'s
	// delete committed but crashed before removing its file; an upload
	// crashed half way.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Rename(filepath.Join(dir, "kept.wav"), filepath.Join(dir, ".kept-123"+deletedSuffix)))
	must(os.WriteFile(filepath.Join(dir, ".gone-456"+deletedSuffix), []byte("gone audio"), 0o640))
	must(os.WriteFile(filepath.Join(dir, ".new-789"+tempSuffix), []byte("half"), 0o640))

	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if files := promptFiles(t, s2); len(files) != 3 {
		t.Fatalf("Open changed the prompt directory: %q", files)
	}
	if err := s2.RecoverPromptFiles(ctx); err != nil {
		t.Fatal(err)
	}
	if files := promptFiles(t, s2); !reflect.DeepEqual(files, []string{"kept.wav"}) {
		t.Errorf("after recovery the prompt directory holds %q", files)
	}
	f, _, err := s2.OpenPrompt(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != "kept audio" {
		t.Errorf("recovered audio %q", b)
	}
}
