package admin

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// dialplanVersionHeader carries the version of the plan in a GET answer.
const dialplanVersionHeader = "X-Dialplan-Version"

const maxCommentLen = 200

// planErrorJSON is one problem of a dial plan, at its line and column.
type planErrorJSON struct {
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

// planInvalid is the 400 of a dial plan that does not compile; the stored
// plan is left as it was.
func planInvalid(errs dialplan.ErrorList) *apiError {
	out := make([]planErrorJSON, len(errs))
	for i, e := range errs {
		out[i] = planErrorJSON{Line: e.Line, Col: e.Col, Message: e.Message}
	}
	msg := fmt.Sprintf("dial plan has %d errors", len(errs))
	if len(errs) == 1 {
		msg = "dial plan has 1 error"
	}
	return &apiError{Status: http.StatusBadRequest, Message: msg, Errors: out}
}

type dialplanSavedJSON struct {
	Version int64 `json:"version"`
}

type dialplanVersionJSON struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment"`
	Lines     int       `json:"lines"`
}

// getDialplan is GET /api/v1/dialplan: the current plan as text, its
// version in X-Dialplan-Version.
func (s *Server) getDialplan(c echo.Context) error {
	v, err := s.store.Dialplan(c.Request().Context())
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no dial plan has been saved")
	} else if err != nil {
		return err
	}
	return planText(c, v)
}

func planText(c echo.Context, v store.DialplanVersion) error {
	c.Response().Header().Set(dialplanVersionHeader, strconv.FormatInt(v.ID, 10))
	return c.Blob(http.StatusOK, echo.MIMETextPlainCharsetUTF8, []byte(v.Text))
}

// putDialplan is PUT /api/v1/dialplan (text/plain): compiles the plan
// against today's numbering and saves it as a new version, in effect for
// the next call. ?comment= is kept with the version. A plan with errors is
// a 400 listing every one, and changes nothing.
func (s *Server) putDialplan(c echo.Context) error {
	comment := c.QueryParam("comment")
	if utf8.RuneCountInString(comment) > maxCommentLen || !utf8.ValidString(comment) {
		return fieldError("comment", "must be at most 200 characters of UTF-8")
	}
	text, err := readPlainText(c)
	if err != nil {
		return err
	}
	return s.savePlan(c, text, comment)
}

// savePlan checks text against the current directory and stores it.
func (s *Server) savePlan(c echo.Context, text, comment string) error {
	ctx := c.Request().Context()
	dir, err := s.store.Directory(ctx)
	if err != nil {
		return err
	}
	if _, errs := dialplan.Compile(text, dir); len(errs) > 0 {
		return planInvalid(errs)
	}
	id, err := s.store.AddDialplanVersion(ctx, text, principalOf(c).user.Username, comment)
	if err != nil {
		return err
	}
	c.Response().Header().Set(dialplanVersionHeader, strconv.FormatInt(id, 10))
	return c.JSON(http.StatusOK, dialplanSavedJSON{Version: id})
}

// readPlainText reads a text/plain UTF-8 request body.
func readPlainText(c echo.Context) (string, error) {
	req := c.Request()
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMETextPlain {
		return "", newError(http.StatusUnsupportedMediaType, "Content-Type must be text/plain")
	}
	if cs, ok := params["charset"]; ok && cs != "utf-8" && cs != "UTF-8" && cs != "us-ascii" {
		return "", newError(http.StatusUnsupportedMediaType, "the dial plan must be UTF-8 (charset=%s)", cs)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) { // the body limit
			return "", he
		}
		return "", badRequest("reading request body: %v", err)
	}
	if !utf8.Valid(body) {
		return "", badRequest("the dial plan is not valid UTF-8")
	}
	return string(body), nil
}

// listDialplanVersions is GET /api/v1/dialplan/versions: every saved
// version, newest (the current plan) first, without the text.
func (s *Server) listDialplanVersions(c echo.Context) error {
	opt, err := listOptions(c)
	if err != nil {
		return err
	}
	f := store.DialplanVersionFilter{Limit: opt.Limit}
	if opt.After != "" {
		n, err := strconv.ParseInt(opt.After, 10, 64)
		if err != nil || n < 1 {
			return fieldError("cursor", "is not a cursor this server gave out")
		}
		f.After = n
	}
	vs, next, err := s.store.ListDialplanVersions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	items := make([]dialplanVersionJSON, len(vs))
	for i, v := range vs {
		items[i] = dialplanVersionJSON{ID: v.ID, CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy, Comment: v.Comment, Lines: v.Lines}
	}
	return c.JSON(http.StatusOK, page[dialplanVersionJSON]{Items: items, NextCursor: next})
}

// getDialplanVersion is GET /api/v1/dialplan/versions/{id}: one version's text.
func (s *Server) getDialplanVersion(c echo.Context) error {
	v, err := s.loadDialplanVersion(c)
	if err != nil {
		return err
	}
	return planText(c, v)
}

// restoreDialplanVersion is POST /api/v1/dialplan/versions/{id}/restore:
// saves an old version's text as the new current plan. It is checked like
// a PUT, against today's numbering: what it names may be gone since.
func (s *Server) restoreDialplanVersion(c echo.Context) error {
	v, err := s.loadDialplanVersion(c)
	if err != nil {
		return err
	}
	return s.savePlan(c, v.Text, fmt.Sprintf("restored from version %d", v.ID))
}

func (s *Server) loadDialplanVersion(c echo.Context) (store.DialplanVersion, error) {
	raw := pathParam(c, "id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return store.DialplanVersion{}, notFound("no dial plan version %s", raw)
	}
	v, err := s.store.GetDialplanVersion(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return v, notFound("no dial plan version %d", id)
	}
	return v, err
}
