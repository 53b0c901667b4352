package pbx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/officepbx/pbx/media"
	"github.com/officepbx/pbx/pbx/store"
)

// builtinMOH is the project's own music on hold, rendered on the first
// hold (about 50 ms and 1.6 MB) and shared by every held call after.
type builtinMOH struct {
	once  sync.Once
	music *media.MusicOnHold
}

func (b *builtinMOH) source() media.Source {
	b.once.Do(func() { b.music = media.NewMusicOnHold() })
	return b.music.NewSource()
}

// promptMOH is the default music on hold: the uploaded prompt
// store.PromptMusicOnHold when there is one, else the built-in music. The
// upload is read and decoded on the first hold after it changed (the store
// announces every change of it) and its samples are shared, looping, by
// every hold until the next change: a hold costs a lookup, not a decode,
// and an upload or delete counts from the next hold on, without a restart.
type promptMOH struct {
	st      *store.Store
	log     *slog.Logger
	builtin builtinMOH

	gen atomic.Uint64 // bumped by every change of the prompt

	mu     sync.Mutex
	loaded uint64  // the gen pcm was read at; 0 before the first read
	pcm    []int16 // the decoded upload, nil for the built-in music
}

func newPromptMOH(st *store.Store, log *slog.Logger) *promptMOH {
	m := &promptMOH{st: st, log: log}
	m.gen.Store(1)
	st.Subscribe(func(ch store.Change) {
		if ch.Kind == "prompt" && ch.Key == store.PromptMusicOnHold {
			m.gen.Add(1) // the writer's goroutine: never block here
		}
	})
	return m
}

func (m *promptMOH) source() media.Source {
	if pcm := m.upload(); pcm != nil {
		return media.Loop(media.NewPCMSource(pcm))
	}
	return m.builtin.source()
}

// upload returns the decoded uploaded music, or nil to play the built-in.
// A file that cannot be read is logged and retried at the next hold.
func (m *promptMOH) upload() []int16 {
	m.mu.Lock()
	defer m.mu.Unlock()
	gen := m.gen.Load()
	if m.loaded == gen {
		return m.pcm
	}
	pcm, err := m.read()
	if err != nil {
		m.log.Error("uploaded music on hold unreadable; playing the built-in music", "error", err)
		return nil
	}
	// A change during the read bumped gen past the one kept here: the next
	// hold reads again.
	m.pcm, m.loaded = pcm, gen
	return pcm
}

func (m *promptMOH) read() ([]int16, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f, _, err := m.st.OpenPrompt(ctx, store.PromptMusicOnHold)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := media.ReadWAV(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("prompt %s: %w", store.PromptMusicOnHold, err)
	}
	if len(a.Samples) == 0 {
		return nil, nil // nothing to loop
	}
	return a.Samples, nil
}

// musicOnHold is a new source of the configured music on hold.
func (e *Engine) musicOnHold() media.Source { return e.cfg.MusicOnHold() }
