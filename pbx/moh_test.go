package pbx

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// toneWAV is seconds of a sine at freq as an 8 kHz WAV file.
func toneWAV(t testing.TB, freq, seconds float64) []byte {
	pcm := make([]int16, int(seconds*8000))
	for i := range pcm {
		pcm[i] = int16(10000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	var b bytes.Buffer
	if err := media.WriteWAV(&b, pcm); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func openMOHStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "pbx.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// play reads d of src and reports the share of its power at freq (0.5
// for a pure sine of freq) and its mean power.
func play(t *testing.T, src media.Source, d time.Duration, freq float64) (share, power float64) {
	t.Helper()
	pcm := make([]int16, int(d.Seconds()*8000))
	for i := 0; i < len(pcm); i += media.FrameSamples {
		if n, err := src.Read(pcm[i:min(i+media.FrameSamples, len(pcm))]); err != nil || n == 0 {
			t.Fatalf("read %d, %v at %d", n, err, i)
		}
	}
	for _, s := range pcm {
		power += float64(s) * float64(s)
	}
	power /= float64(len(pcm))
	return media.Goertzel(pcm, freq) / power, power
}

// The music on hold follows the prompt music-on-hold: the built-in music
// until one is uploaded, then the upload (looping, decoded once for every
// hold), the built-in again once it is deleted.
func TestPromptMOHFollowsUploads(t *testing.T) {
	ctx := context.Background()
	st := openMOHStore(t)
	moh := newPromptMOH(st, slog.New(slog.DiscardHandler))
	if share, power := play(t, moh.source(), time.Second, 1000); share > 0.05 || power < 1e5 {
		t.Errorf("before any upload: %.2f of the power at 1000 Hz, power %.0f; want the built-in music", share, power)
	}
	p := store.Prompt{Name: store.PromptMusicOnHold, Duration: 500 * time.Millisecond}
	if err := st.CreatePrompt(ctx, &p, bytes.NewReader(toneWAV(t, 1000, 0.5))); err != nil {
		t.Fatal(err)
	}
	// 3 s of a 0.5 s upload: it loops.
	if share, _ := play(t, moh.source(), 3*time.Second, 1000); share < 0.45 {
		t.Errorf("after the upload: %.2f of the power at 1000 Hz, want the uploaded tone", share)
	}
	first, second := moh.upload(), moh.upload()
	if len(first) != 4000 || &first[0] != &second[0] {
		t.Errorf("holds do not share one decoded upload (%d samples)", len(first))
	}
	if err := st.DeletePrompt(ctx, store.PromptMusicOnHold); err != nil {
		t.Fatal(err)
	}
	if share, power := play(t, moh.source(), time.Second, 1000); share > 0.05 || power < 1e5 {
		t.Errorf("after the delete: %.2f at 1000 Hz, power %.0f; want the built-in music", share, power)
	}
	// Another prompt changing does not touch the music on hold.
	other := store.Prompt{Name: "welcome"}
	if err := st.CreatePrompt(ctx, &other, bytes.NewReader(toneWAV(t, 440, 0.1))); err != nil {
		t.Fatal(err)
	}
	if moh.upload() != nil {
		t.Error("an upload of another prompt became the music on hold")
	}
}

// BenchmarkPromptMOHSource is the cost of one hold's source once the
// upload is decoded.
func BenchmarkPromptMOHSource(b *testing.B) {
	st := openMOHStore(b)
	p := store.Prompt{Name: store.PromptMusicOnHold}
	if err := st.CreatePrompt(context.Background(), &p, bytes.NewReader(toneWAV(b, 1000, 5))); err != nil {
		b.Fatal(err)
	}
	moh := newPromptMOH(st, slog.New(slog.DiscardHandler))
	moh.source()
	b.ReportAllocs()
	for b.Loop() {
		moh.source()
	}
}
