package voicemail_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/voicemail"
)

// BenchmarkLeave100Messages has 100 phones leave a message in one box at
// once, each talking for 5 s after the beep, and compares the frames each
// phone sent while the PBX was recording with the frames stored. It
// reports the frames lost (sent but not stored; 0 is the target) and the
// CPU the whole test process used per second of the 100 recordings (the
// PBX and the 100 phones together: an upper bound of the PBX's share).
//
//	go test -run '^$' -bench Leave100Messages -benchtime 1x ./pbx/voicemail/
func BenchmarkLeave100Messages(b *testing.B) {
	const callers, talk = 100, 5 * time.Second
	p := pbxtest.Start(b, pbxtest.WithConfig(func(c *app.Config) {
		c.TuneVoicemail = func(a *voicemail.App) { a.Silence = time.Minute }
	}))
	p.CreateExtension("199", map[string]any{"voicemail": map[string]any{"enabled": true, "pin": "1234", "max_messages": 1000}})
	uas := make([]*pbxtest.UA, callers)
	for i := range uas {
		uas[i] = p.Phone(fmt.Sprint(200+i), pbxtest.WithTone(440))
	}
	b.ResetTimer()
	for range b.N {
		var ru0 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		t0 := time.Now()
		sent := make([]int64, callers)
		var wg sync.WaitGroup
		for i, ua := range uas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := ctxFor(b, time.Minute)
				call, err := ua.Dial(ctx, "199")
				if err != nil || call.Status() != sip.StatusOK {
					b.Errorf("caller %d: dial: %v", i, err)
					return
				}
				if err := call.WaitTone(ctx, beepTone); err != nil {
					b.Errorf("caller %d: %v", i, err)
					return
				}
				// Count from when the beep (0.5 s) is surely over: the PBX
				// records from its end, so every frame sent from here on must
				// be stored.
				time.Sleep(500 * time.Millisecond)
				start := call.Sent()
				time.Sleep(talk)
				sent[i] = call.Sent() - start
				if err := call.Hangup(ctx); err != nil {
					b.Errorf("caller %d: hang up: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if err := p.WaitIdle(ctxFor(b, time.Minute)); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(t0)
		var ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
		b.StopTimer()
		msgs := messages(b, p, "199")
		if len(msgs) != callers {
			b.Fatalf("%d messages stored, want %d", len(msgs), callers)
		}
		var totalSent, stored, lost int64
		for _, n := range sent {
			totalSent += n
		}
		for _, m := range msgs {
			stored += int64(len(audio(b, p, "199", m.ID))) / 160
		}
		if stored < totalSent {
			lost = totalSent - stored
		}
		b.ReportMetric(float64(totalSent), "frames-sent")
		b.ReportMetric(float64(stored), "frames-stored")
		b.ReportMetric(float64(lost), "frames-lost")
		b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
		b.StartTimer()
	}
}
