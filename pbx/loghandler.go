package pbx

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rateLimitedHandler passes at most perSecond records a second to next and
// drops the rest, so a flood of malformed packets (which the SIP stack logs
// one by one) cannot flood the log.
type rateLimitedHandler struct {
	next  slog.Handler
	state *rateState
}

type rateState struct {
	perSecond int
	mu        sync.Mutex
	second    int64
	count     int
	dropped   int
}

func newRateLimitedHandler(next slog.Handler, perSecond int) *rateLimitedHandler {
	return &rateLimitedHandler{next: next, state: &rateState{perSecond: perSecond}}
}

func (h *rateLimitedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *rateLimitedHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.state
	s.mu.Lock()
	sec := time.Now().Unix()
	dropped := 0
	if sec != s.second {
		s.second, s.count, dropped, s.dropped = sec, 0, s.dropped, 0
	}
	s.count++
	allow := s.count <= s.perSecond
	if !allow {
		s.dropped++
	}
	s.mu.Unlock()
	if dropped > 0 {
		note := slog.NewRecord(time.Now(), slog.LevelWarn, "log records dropped by rate limit", 0)
		note.AddAttrs(slog.Int("dropped", dropped))
		h.next.Handle(ctx, note)
	}
	if !allow {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *rateLimitedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &rateLimitedHandler{next: h.next.WithAttrs(attrs), state: h.state}
}

func (h *rateLimitedHandler) WithGroup(name string) slog.Handler {
	return &rateLimitedHandler{next: h.next.WithGroup(name), state: h.state}
}
