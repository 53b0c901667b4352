package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/backup"
	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/pbxtest"
)

func toneWAV(t *testing.T, freq float64) []byte {
	t.Helper()
	var b bytes.Buffer
	spec := media.ToneSpec{Freq1: freq, Level: -10, Duration: time.Second}
	pcm := make([]int16, 8000)
	if _, err := media.NewToneSource(spec).Read(pcm); err != nil {
		t.Fatal(err)
	}
	if err := media.WriteWAV(&b, pcm); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// A backup taken while a call is up and prompts are being uploaded
// restores into a new data directory that a PBX then serves: the
// extensions register and call each other, and the prompts are there,
// byte for byte.
func TestBackupRestoreRoundTrip(t *testing.T) {
	p := pbxtest.Start(t)
	a := p.Phone("101")
	b := p.Phone("102")
	ext101 := p.CreateExtension("103", nil)
	p.MustUploadPrompt("welcome", toneWAV(t, 1000))
	_, want := p.Do("GET", "/api/v1/prompts/welcome", nil)

	call, err := a.Dial(ctx(t), "102")
	if err != nil || call.Status() != sip.StatusOK {
		t.Fatalf("dial: %v %v", call, err)
	}
	if _, err := b.NextCall(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Uploads run while the backup is taken.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p.UploadPrompt(fmt.Sprintf("upload-%d", i%5), toneWAV(t, 500+float64(i%5)*100))
		}
	}()
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	for range 3 { // several backups while uploads go on
		if _, err := backup.Create(context.Background(), p.Config.DataDir, out, backup.CreateOptions{PBXVersion: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	_ = call.Hangup(ctx(t))

	dir := filepath.Join(t.TempDir(), "restored")
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := backup.Restore(context.Background(), f, dir, backup.RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	q := pbxtest.Start(t, pbxtest.WithConfig(func(c *app.Config) { c.DataDir = dir }))
	if code, got := q.Do("GET", "/api/v1/prompts/welcome", nil); code != 200 || !bytes.Equal(got, want) {
		t.Errorf("restored prompt: %d, %d bytes (want %d)", code, len(got), len(want))
	}
	for i := range 5 { // every uploaded prompt the backup names is whole
		name := fmt.Sprintf("upload-%d", i)
		if code, body := q.Do("GET", "/api/v1/prompts/"+name, nil); code == 200 {
			if _, err := media.ReadWAV(bytes.NewReader(body)); err != nil {
				t.Errorf("restored %s is not a whole WAV: %v", name, err)
			}
		}
	}
	c := q.NewUA("103", ext101.Secret)
	if res, err := c.Register(ctx(t), 300); err != nil || res.StatusCode != sip.StatusOK {
		t.Fatalf("103 registers on the restored PBX: %v %v", res, err)
	}
	q.MustDo(200, "GET", "/api/v1/extensions/102", nil)
}

func TestRestoreRefusesBadArchivesAndTargets(t *testing.T) {
	p := pbxtest.Start(t)
	p.CreateExtension("101", nil)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := backup.Create(context.Background(), p.Config.DataDir, out, backup.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	restore := func(archive []byte, dir string) error {
		_, err := backup.Restore(context.Background(), bytes.NewReader(archive), dir, backup.RestoreOptions{})
		return err
	}
	tampered := bytes.Clone(good)
	tampered[len(tampered)/2] ^= 0x55
	for name, archive := range map[string][]byte{
		"truncated": good[:len(good)/2],
		"tampered":  tampered,
		"empty":     nil,
		"not gzip":  []byte("hello, this is not an archive"),
	} {
		dir := filepath.Join(t.TempDir(), "d")
		if err := restore(archive, dir); !errors.Is(err, backup.ErrBadArchive) {
			t.Errorf("%s: %v, want ErrBadArchive", name, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s: refused restore left %s behind (%v)", name, dir, err)
		}
	}
	// A data directory that holds anything is refused and left as it was.
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := restore(good, full); !errors.Is(err, backup.ErrNotEmpty) {
		t.Errorf("non-empty target: %v, want ErrNotEmpty", err)
	}
	if ents, _ := os.ReadDir(full); len(ents) != 1 {
		t.Errorf("non-empty target changed: %v", ents)
	}
	// A directory a running server holds is refused.
	held := t.TempDir()
	unlock, err := backup.LockDataDir(held)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := restore(good, held); !errors.Is(err, backup.ErrDataDirInUse) {
		t.Errorf("held target: %v, want ErrDataDirInUse", err)
	}
	// The good archive restores.
	if err := restore(good, filepath.Join(t.TempDir(), "ok")); err != nil {
		t.Errorf("good archive: %v", err)
	}
}

func FuzzRestore(f *testing.F) {
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte("not an archive"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), "d")
		if _, err := backup.Restore(context.Background(), bytes.NewReader(data), dir, backup.RestoreOptions{}); err == nil {
			return // a valid archive from random bytes: nothing to check
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("a refused archive left %s behind", dir)
		}
	})
}
