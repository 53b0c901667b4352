package pbx_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// toneShare is the share of the latest audio c heard that is at freq: 0.5
// for a pure sine of freq (Goertzel's power of a sine is half the mean
// power), near 0 for music spread over many notes.
func toneShare(c *pbxtest.Call, freq float64) float64 {
	if e := c.Energy(); e > 0 {
		return c.Heard(freq) / e
	}
	return 0
}

// holdAndListen has holder put the call on hold, waits for the held
// party's fresh audio and returns how much of it is a 1000 Hz tone; then
// it resumes the call.
func holdAndListen(t *testing.T, holder, held *pbxtest.Call, holds int) (share, energy float64) {
	t.Helper()
	res, err := holder.Hold(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	if d, err := held.WaitOffered(ctx(t), 2*holds-1); err != nil || d != pbxtest.SendOnly {
		t.Fatalf("hold %d: held phone offered %q (%v)", holds, d, err)
	}
	listen(t, held)
	share, energy = toneShare(held, 1000), held.Energy()
	res, err = holder.Resume(ctx(t))
	mustCode(t, res, err, sip.StatusOK)
	if _, err := held.WaitOffered(ctx(t), 2*holds); err != nil {
		t.Fatal(err)
	}
	return share, energy
}

// An uploaded prompt music-on-hold (a 1000 Hz tone) is what the held
// party hears from the next hold on, without a restart; deleting it brings
// the built-in music back.
func TestUploadedMusicOnHold(t *testing.T) {
	p := pbxtest.Start(t)
	a := phone(t, p, p.CreateExtension("101", nil), pbxtest.WithTone(440))
	b := phone(t, p, p.CreateExtension("102", nil), pbxtest.WithTone(700))
	caller, callee := connect(t, a, b, "102")

	share, energy := holdAndListen(t, caller, callee, 1)
	t.Logf("built-in music: %.3f of power %.0f at 1000 Hz", share, energy)
	if energy < 1e4 || share > 0.05 {
		t.Errorf("first hold: power %.0f, %.3f of it at 1000 Hz; want the built-in music", energy, share)
	}

	if code, body := p.UploadPrompt(store.PromptMusicOnHold, pbxtest.ToneWAV(1000, 2)); code != http.StatusCreated {
		t.Fatalf("upload music on hold: %d %s", code, body)
	}
	share, energy = holdAndListen(t, caller, callee, 2)
	t.Logf("uploaded tone: %.3f of power %.0f at 1000 Hz", share, energy)
	if energy < 1e4 || share < 0.4 {
		t.Errorf("hold after the upload: power %.0f, %.3f of it at 1000 Hz; want the uploaded tone", energy, share)
	}
	if own := toneShare(callee, 440); own > 0.01 {
		t.Errorf("the held party hears the holder's tone (%.3f)", own)
	}

	if code, body := p.Do(http.MethodDelete, "/api/v1/prompts/"+store.PromptMusicOnHold, nil); code != http.StatusNoContent {
		t.Fatalf("delete music on hold: %d %s", code, body)
	}
	share, energy = holdAndListen(t, caller, callee, 3)
	if energy < 1e4 || share > 0.05 {
		t.Errorf("hold after the delete: power %.0f, %.3f of it at 1000 Hz; want the built-in music again", energy, share)
	}

	listen(t, caller, callee)
	hearEachOther(t, caller, callee, 440, 700)
	if err := caller.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := callee.WaitEnded(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantCDR(t, p, store.DispositionAnswered, "caller hung up")
}

// Prompts survive a restart, and the restart tidies what a crash left in
// the prompt directory (here a half-written upload).
func TestPromptsSurviveRestart(t *testing.T) {
	p := pbxtest.Start(t)
	if code, body := p.UploadPrompt("welcome", pbxtest.ToneWAV(440, 1)); code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, body)
	}
	dir := filepath.Join(p.Config.DataDir, "prompts")
	leftover := filepath.Join(dir, ".crashed-123.tmp")
	if err := os.WriteFile(leftover, []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}
	p.Restart()
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the half-written upload is still there after the restart (%v)", err)
	}
	code, body := p.Do(http.MethodGet, "/api/v1/prompts/welcome", nil)
	if code != http.StatusOK || len(body) != 44+2*8000 {
		t.Errorf("audio after the restart: %d, %d bytes", code, len(body))
	}
}
