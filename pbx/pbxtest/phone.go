package pbxtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Phone creates extension number through the API and registers a UA for
// it: a desk phone ready to call and be called.
func (p *PBX) Phone(number string, opts ...UAOption) *UA {
	p.t.Helper()
	ext := p.CreateExtension(number, nil)
	ua := p.NewUA(ext.Number, ext.Secret, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := ua.Register(ctx, 300)
	if err != nil || res.StatusCode != sip.StatusOK {
		p.t.Fatalf("register %s: %v %v", number, res, err)
	}
	return ua
}

// MustDo sends an API request as admin and fails the test unless the
// answer has status want; it returns the body.
func (p *PBX) MustDo(want int, method, path string, body any) []byte {
	p.t.Helper()
	code, out := p.Do(method, path, body)
	if code != want {
		p.t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
	}
	return out
}

// MustUploadPrompt uploads a prompt and fails the test unless it is created.
func (p *PBX) MustUploadPrompt(name string, wav []byte) {
	p.t.Helper()
	if code, out := p.UploadPrompt(name, wav); code != http.StatusCreated {
		p.t.Fatalf("upload prompt %s: %d %s", name, code, out)
	}
}

// WaitHeard waits until the call hears freq (energy above min in the
// latest half second of audio).
func (c *Call) WaitHeard(ctx context.Context, freq, min float64) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for c.Heard(freq) < min {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting to hear %v Hz (%.0f now): %w", freq, c.Heard(freq), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// PutDialplan saves a dial plan through the API (PUT /api/v1/dialplan,
// text/plain) and returns the status and body.
func (p *PBX) PutDialplan(text string) (int, []byte) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPut, p.URL+"/api/v1/dialplan", strings.NewReader(text))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+p.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("PUT dial plan: %v", err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatalf("PUT dial plan: read: %v", err)
	}
	return res.StatusCode, out
}

// WaitTone waits until the call hears a pure tone at freq: loud, and far
// above its neighbourhood (speech has energy at freq too, a beep nowhere
// else).
func (c *Call) WaitTone(ctx context.Context, freq float64) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		at, below, above := c.Heard(freq), c.Heard(freq*0.7), c.Heard(freq*1.3)
		if at >= 1e6 && at >= 50*below && at >= 50*above {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a %v Hz tone (%.0f, around it %.0f and %.0f): %w", freq, at, below, above, ctx.Err())
		case <-tick.C:
		}
	}
}

// TonePower is the Goertzel power of freq in 8 kHz pcm, per sample: how
// much of a tone a recording holds.
func TonePower(pcm []int16, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/sampleRate)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(pcm))
	return (s1*s1 + s2*s2 - coeff*s1*s2) / n / n
}

// WaitFor polls cond until it holds, failing the test after 15 s: for a
// state visible only by asking (an API listing), not for events a test
// can await.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	WaitWithin(t, what, 15*time.Second, cond)
}

// WaitWithin is WaitFor with a deadline of its own, for a test whose
// point is that the state comes sooner than some other timer would bring
// it.
func WaitWithin(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
