package admin

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// RegistrationWatcher signals that registrations changed. Signals are
// coalesced: on one, read LiveRegistrations again.
type RegistrationWatcher interface {
	WatchRegistrations() (<-chan struct{}, func())
}

// Event stream pacing: a registration storm (an office rebooting its
// phones) reaches a browser as a few events, and an idle stream still
// carries a byte now and then so proxies and browsers keep it open.
const (
	eventMinInterval  = 250 * time.Millisecond
	eventKeepAlive    = 15 * time.Second
	eventRetryMillis  = 3000 // what EventSource waits before reconnecting
	eventRegistration = "registrations"
)

// events is GET /api/v1/events: a Server-Sent Events stream of live state.
// It sends a "registrations" event with every binding the caller may see at
// once, then again after each change, and ends when the client goes away
// or the server shuts down.
func (s *Server) events(c echo.Context) error {
	p := principalOf(c)
	req := c.Request()
	ctx := req.Context()

	var changes <-chan struct{}
	if s.cfg.Events != nil {
		ch, stop := s.cfg.Events.WatchRegistrations()
		defer stop()
		changes = ch
	}

	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("X-Accel-Buffering", "no") // tell a buffering reverse proxy to pass events on at once
	res.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "retry: %d\n\n", eventRetryMillis)
	// send writes the current state; false means the client went away.
	send := func() bool {
		data, err := json.Marshal(page[registrationJSON]{Items: s.visibleRegistrations(p)})
		if err != nil {
			return false // cannot happen: plain strings and times
		}
		fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", eventRegistration, data)
		_, err = res.Write(buf.Bytes())
		buf.Reset()
		if err != nil {
			return false
		}
		res.Flush()
		return true
	}
	if !send() {
		return nil
	}
	keepAlive := time.NewTicker(eventKeepAlive)
	defer keepAlive.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-keepAlive.C:
			if _, err := res.Write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
			res.Flush()
		case <-changes:
			// Wait out the rest of the interval; signals meanwhile coalesce
			// in the watcher's channel and are read on the next turn.
			if wait := eventMinInterval - time.Since(last); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-s.closing:
					t.Stop()
					return nil
				case <-t.C:
				}
			}
			last = time.Now()
			if !send() {
				return nil
			}
		}
	}
}

// visibleRegistrations lists the live bindings p may see, sorted by
// extension then contact: all of them for an admin, their own extension's
// for a user.
func (s *Server) visibleRegistrations(p *principal) []registrationJSON {
	items := []registrationJSON{}
	if s.cfg.Registrations == nil || (!p.isAdmin() && p.user.Extension == "") {
		return items
	}
	for _, r := range s.cfg.Registrations.Registrations() {
		if !p.isAdmin() && r.Extension != p.user.Extension {
			continue
		}
		items = append(items, toRegistrationJSON(r))
	}
	slices.SortFunc(items, func(a, b registrationJSON) int {
		return cmp.Or(cmp.Compare(a.Extension, b.Extension), cmp.Compare(a.Contact, b.Contact))
	})
	return items
}

func toRegistrationJSON(r store.Registration) registrationJSON {
	return registrationJSON{
		Extension: r.Extension,
		Contact:   r.Contact,
		Source:    r.Source + "/" + r.Transport,
		UserAgent: r.UserAgent,
		ExpiresAt: r.ExpiresAt.UTC().Truncate(time.Second),
	}
}

// Close ends every open event stream; the server keeps answering other
// requests. Register it with http.Server.RegisterOnShutdown: Shutdown waits
// for active requests, and an event stream is never idle.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
}
