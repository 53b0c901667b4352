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

// CallWatcher signals that calls started, changed state or ended. Signals
// are coalesced: on one, read LiveCalls again.
type CallWatcher interface {
	WatchCalls() (<-chan struct{}, func())
}

// Event stream pacing: a registration storm (an office rebooting its
// phones) or a burst of calls reaches a browser as a few events, and an
// idle stream still carries a byte now and then so proxies and browsers
// keep it open. Each kind of event is paced on its own, so a storm of one
// does not hold back the other.
const (
	eventMinInterval  = 250 * time.Millisecond
	eventKeepAlive    = 15 * time.Second
	eventRetryMillis  = 3000 // what EventSource waits before reconnecting
	eventRegistration = "registrations"
	eventCalls        = "calls"
	eventConferences  = "conferences"
)

// eventKind is one kind of event on a stream: where its changes are
// signalled, how its data is made, and its pacing state.
type eventKind struct {
	name    string
	changes <-chan struct{} // nil: never changes
	data    func() any
	last    time.Time // when it was last sent
	due     bool      // changed since last sent
}

// events is GET /api/v1/events: a Server-Sent Events stream of live state.
// It sends a "registrations" event with every binding the caller may see,
// a "calls" event with every call the caller may see and, to an
// administrator, a "conferences" event with every live room and its
// participants at once, then each
// again after it changes, and ends when the client goes away or the server
// shuts down.
func (s *Server) events(c echo.Context) error {
	p := principalOf(c)
	req := c.Request()
	ctx := req.Context()

	kinds := []*eventKind{
		{name: eventRegistration, data: func() any { return page[registrationJSON]{Items: s.visibleRegistrations(p)} }},
		{name: eventCalls, data: func() any { return page[callJSON]{Items: s.visibleCalls(p)} }},
	}
	if s.cfg.Events != nil {
		ch, stop := s.cfg.Events.WatchRegistrations()
		defer stop()
		kinds[0].changes = ch
	}
	if s.cfg.CallEvents != nil {
		ch, stop := s.cfg.CallEvents.WatchCalls()
		defer stop()
		kinds[1].changes = ch
	}
	// Conference rooms are an administrator's view.
	if p.isAdmin() {
		k := &eventKind{name: eventConferences, data: func() any { return page[liveConferenceJSON]{Items: s.liveConferences()} }}
		if s.cfg.Conferences != nil {
			ch, stop := s.cfg.Conferences.WatchConferences()
			defer stop()
			k.changes = ch
		}
		kinds = append(kinds, k)
	}

	res := c.Response()
	h := res.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("X-Accel-Buffering", "no") // tell a buffering reverse proxy to pass events on at once
	res.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "retry: %d\n\n", eventRetryMillis)
	// send writes the current state of k; false means the client went away.
	send := func(k *eventKind) bool {
		data, err := json.Marshal(k.data())
		if err != nil {
			return false // cannot happen: plain strings and times
		}
		fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", k.name, data)
		_, err = res.Write(buf.Bytes())
		buf.Reset()
		if err != nil {
			return false
		}
		res.Flush()
		k.last, k.due = time.Now(), false
		return true
	}
	for _, k := range kinds {
		if !send(k) {
			return nil
		}
	}
	var conferenceChanges <-chan struct{} // nil: never
	if len(kinds) > 2 {
		conferenceChanges = kinds[2].changes
	}
	keepAlive := time.NewTicker(eventKeepAlive)
	defer keepAlive.Stop()
	// pace fires when a due event's interval has passed. Since Go 1.23 a
	// Reset timer never delivers a stale tick.
	pace := time.NewTimer(eventMinInterval)
	pace.Stop()
	defer pace.Stop()
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
		case <-kinds[0].changes:
			kinds[0].due = true
		case <-kinds[1].changes:
			kinds[1].due = true
		case <-conferenceChanges:
			kinds[2].due = true
		case <-pace.C:
		}
		// Send what is due and whose interval has passed; wait out the rest.
		// Signals meanwhile coalesce into the one event sent when it ends.
		var wait time.Duration
		for _, k := range kinds {
			if !k.due {
				continue
			}
			if d := eventMinInterval - time.Since(k.last); d > 0 {
				if wait == 0 || d < wait {
					wait = d
				}
				continue
			}
			if !send(k) {
				return nil
			}
		}
		if wait > 0 {
			pace.Reset(wait)
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
