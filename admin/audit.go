package admin

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// auditUserKey carries the username a login tried, for the audit log of
// a request that has no principal yet.
const auditUserKey = "admin.audit_user"

// auditJSON is one audit log entry.
type auditJSON struct {
	ID       string    `json:"id"`
	At       time.Time `json:"at"`
	Username string    `json:"username"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Entity   string    `json:"entity"`
	RemoteIP string    `json:"remote_ip"`
	Status   int       `json:"status"`
}

// unsafeMethod reports whether method may change something.
func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// audit writes an audit log entry for every API request that could change
// something (POST, PUT, PATCH, DELETE), after it is answered, with its
// status. Requests without a caller are left out (a 401 changed nothing,
// and logging them would let anyone fill the log), except logins, which are
// logged with the username tried, unless the login rate limit refused them.
func (s *Server) audit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if !unsafeMethod(r.Method) || !isAPIPath(r.URL.Path) {
			return next(c)
		}
		err := next(c)
		if err != nil {
			c.Error(err) // so the status is the one the client gets
		}
		status := c.Response().Status
		e := store.AuditEntry{At: time.Now().UTC(), Method: r.Method, Path: r.URL.Path,
			Entity: auditEntity(c), RemoteIP: c.RealIP(), Status: status}
		if p := principalOf(c); p != nil {
			e.Username = p.user.Username
		} else if u, ok := c.Get(auditUserKey).(string); ok && status != http.StatusTooManyRequests {
			e.Username = truncateUTF8(u, 64)
		} else {
			return err
		}
		if werr := s.store.AddAudit(r.Context(), &e); werr != nil {
			s.log.Error("writing the audit log", "err", werr, "method", e.Method, "path", e.Path, "username", e.Username)
		}
		return err
	}
}

// auditEntity names what a request touched from its route: the collection
// and the key in the path ("extensions/101"), the collection alone for a
// create ("extensions").
func auditEntity(c echo.Context) string {
	route := strings.TrimPrefix(c.Path(), "/api/v1/")
	if route == c.Path() {
		return ""
	}
	var parts []string
	for _, seg := range strings.Split(route, "/") {
		if name, ok := strings.CutPrefix(seg, ":"); ok {
			seg = pathParam(c, name)
		}
		parts = append(parts, seg)
	}
	return truncateUTF8(strings.Join(parts, "/"), 200)
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// listAudit pages the audit log, newest first: ?limit=&cursor=&username=.
func (s *Server) listAudit(c echo.Context) error {
	f := store.AuditFilter{Username: c.QueryParam("username")}
	fe := fieldErrors{}
	f.Limit, f.After = pageLimit(c, fe), rowCursor(c, fe)
	if len(f.Username) > maxQueryLen {
		fe.add("username", "must be at most 200 bytes")
	}
	if err := fe.err(); err != nil {
		return err
	}
	entries, next, err := s.store.ListAudit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	items := make([]auditJSON, 0, len(entries))
	for _, e := range entries {
		items = append(items, auditJSON{ID: strconv.FormatInt(e.ID, 10), At: e.At, Username: e.Username, Method: e.Method,
			Path: e.Path, Entity: e.Entity, RemoteIP: e.RemoteIP, Status: e.Status})
	}
	return c.JSON(http.StatusOK, page[auditJSON]{Items: items, NextCursor: next})
}
