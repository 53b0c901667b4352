package admin

import (
	"cmp"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// registrationJSON is one live contact binding.
type registrationJSON struct {
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source"` // ip:port/transport
	UserAgent string    `json:"user_agent"`
	ExpiresAt time.Time `json:"expires_at"`
}

// listRegistrations pages the registrar's live bindings, sorted by
// extension then contact. ?extension= filters; a user-role caller sees only
// their own extension's.
func (s *Server) listRegistrations(c echo.Context) error {
	ext := c.QueryParam("extension")
	if p := principalOf(c); !p.isAdmin() {
		if ext != "" && !p.ownsExtension(ext) {
			return forbidden("forbidden: you may only see your own extension's registrations")
		}
		if p.user.Extension == "" {
			return c.JSON(http.StatusOK, page[registrationJSON]{Items: []registrationJSON{}})
		}
		ext = p.user.Extension
	}
	fe := fieldErrors{}
	limit := pageLimit(c, fe)
	if limit == 0 {
		limit = 50
	}
	afterExt, afterContact, ok := decodeRegistrationCursor(c.QueryParam("cursor"))
	if !ok {
		fe.add("cursor", "is not a cursor this server gave out")
	}
	if err := fe.err(); err != nil {
		return err
	}
	var regs []store.Registration
	if s.cfg.Registrations != nil {
		regs = slices.Clone(s.cfg.Registrations.Registrations()) // the registrar's slice is not ours to sort
	}
	slices.SortFunc(regs, func(a, b store.Registration) int {
		return cmp.Or(cmp.Compare(a.Extension, b.Extension), cmp.Compare(a.Contact, b.Contact))
	})
	q := c.QueryParam("q")
	items := []registrationJSON{}
	next := ""
	for _, r := range regs {
		if ext != "" && r.Extension != ext {
			continue
		}
		if afterExt != "" || afterContact != "" {
			if cmp.Or(cmp.Compare(r.Extension, afterExt), cmp.Compare(r.Contact, afterContact)) <= 0 {
				continue
			}
		}
		if q != "" && !strings.Contains(r.Extension, q) && !strings.Contains(r.Contact, q) && !strings.Contains(r.UserAgent, q) {
			continue
		}
		if len(items) == limit {
			last := items[len(items)-1]
			next = encodeRegistrationCursor(last.Extension, last.Contact)
			break
		}
		items = append(items, toRegistrationJSON(r))
	}
	return c.JSON(http.StatusOK, page[registrationJSON]{Items: items, NextCursor: next})
}

// A registration cursor holds the last (extension, contact) of a page;
// contacts are arbitrary URIs, so it is encoded rather than joined as text.
func encodeRegistrationCursor(ext, contact string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(ext + "\x00" + contact))
}

func decodeRegistrationCursor(cursor string) (ext, contact string, ok bool) {
	if cursor == "" {
		return "", "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", "", false
	}
	ext, contact, ok = strings.Cut(string(b), "\x00")
	return ext, contact, ok
}
