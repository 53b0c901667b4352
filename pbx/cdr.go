package pbx

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

// cdrWriter writes call records behind, in batches, so that ending a call
// never waits on SQLite. Records wait in memory for at most one interval;
// Close (through run's end) writes what is left.
type cdrWriter struct {
	st       *store.Store
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	pending []store.CDR

	flushMu sync.Mutex // one batch at a time, in order
}

func newCDRWriter(st *store.Store, log *slog.Logger, interval time.Duration) *cdrWriter {
	return &cdrWriter{st: st, log: log, interval: interval}
}

// add queues a finished call's record.
func (w *cdrWriter) add(c store.CDR) {
	w.mu.Lock()
	w.pending = append(w.pending, c)
	w.mu.Unlock()
}

// flush writes the queued records in one transaction. On failure they go
// back to the front of the queue for the next attempt.
func (w *cdrWriter) flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	w.mu.Lock()
	batch := w.pending
	w.pending = nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := w.st.InsertCDRs(ctx, batch); err != nil {
		w.mu.Lock()
		w.pending = append(batch, w.pending...)
		w.mu.Unlock()
		return err
	}
	return nil
}

// run flushes every interval until ctx ends, then once more.
func (w *cdrWriter) run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := w.flush(context.WithoutCancel(ctx)); err != nil {
				w.log.Error("final CDR flush failed; records lost", "error", err)
			}
			return
		case <-t.C:
			if err := w.flush(ctx); err != nil {
				w.log.Error("CDR flush failed; will retry", "error", err)
			}
		}
	}
}

// FlushCDRs writes the records of finished calls now, instead of within
// the next flush interval (for tests and orderly shutdowns).
func (e *Engine) FlushCDRs(ctx context.Context) error { return e.cdrs.flush(ctx) }
