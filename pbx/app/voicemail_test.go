package app_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// TestVoicemailAtStart: a start recovers what a crash left of voicemail
// and deletes messages past their box's age before taking calls.
func TestVoicemailAtStart(t *testing.T) {
	t.Setenv("PBXTEST_QUIET", "1")
	p := pbxtest.Start(t)
	p.CreateExtension("201", map[string]any{"voicemail": map[string]any{"delete_after_days": 1}})
	ctx := context.Background()
	leave := func(at time.Time) store.VoicemailMessage {
		f, err := p.App.Store.CreateVoicemailFile("201")
		if err != nil {
			t.Fatal(err)
		}
		if err := media.WriteWAV(f, make([]int16, 800)); err != nil {
			t.Fatal(err)
		}
		m := store.VoicemailMessage{Mailbox: "201", Caller: "202", ReceivedAt: at}
		if err := p.App.Store.CommitVoicemail(ctx, f, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	old := leave(time.Now().Add(-49 * time.Hour))
	fresh := leave(time.Now().Add(-time.Hour))
	// What a kill leaves: a recording in progress, a file whose row never came.
	dir := filepath.Join(p.Config.DataDir, "voicemail", "201")
	half, err := p.App.Store.CreateVoicemailFile("201")
	if err != nil {
		t.Fatal(err)
	}
	half.Close()
	orphan := filepath.Join(dir, "msg-20261201-000000-000000000000.wav")
	if err := os.WriteFile(orphan, []byte("RIFF"), 0o640); err != nil {
		t.Fatal(err)
	}

	p.Restart()
	if _, err := p.App.Store.GetVoicemail(ctx, "201", old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a message past delete_after_days after the start: %v", err)
	}
	if _, err := p.App.Store.GetVoicemail(ctx, "201", fresh.ID); err != nil {
		t.Errorf("the fresh message: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("box 201 holds %v after the start, want the fresh message only", names)
	}
	if code, _ := p.Do(http.MethodGet, "/api/v1/voicemail/201/messages/"+itoa(fresh.ID)+"/audio", nil); code != http.StatusOK {
		t.Errorf("the fresh message's audio: %d", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
