package admin

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// apiError is an error with the HTTP status and the body the client sees:
// {"error": Message, "fields": Fields}. Handlers return it; the error handler
// writes it.
type apiError struct {
	Status  int
	Message string
	Fields  map[string]string // per-field messages, only for validation errors
	Errors  []planErrorJSON   // positioned problems of a dial plan, only for its validation
}

func (e *apiError) Error() string { return e.Message }

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
	Errors []planErrorJSON   `json:"errors,omitempty"`
}

func newError(status int, format string, args ...any) *apiError {
	return &apiError{Status: status, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, format, args...)
}

func notFound(format string, args ...any) *apiError {
	return newError(http.StatusNotFound, format, args...)
}

func conflict(format string, args ...any) *apiError {
	return newError(http.StatusConflict, format, args...)
}

func forbidden(format string, args ...any) *apiError {
	return newError(http.StatusForbidden, format, args...)
}

// fieldError is a 400 naming one field.
func fieldError(field, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: field + ": " + msg, Fields: map[string]string{field: msg}}
}

// fieldErrors is a 400 carrying every field problem at once, so a form can
// mark them all in one round trip.
type fieldErrors map[string]string

func (f fieldErrors) add(field, msg string) {
	if _, dup := f[field]; !dup { // the first problem of a field is the most basic one
		f[field] = msg
	}
}

// err returns nil when there is no problem, else a 400 naming every field.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(f))
	msg := "invalid " + keys[0] + ": " + f[keys[0]]
	if len(keys) > 1 {
		msg = fmt.Sprintf("%d invalid fields: %s", len(keys), strings.Join(keys, ", "))
	}
	return &apiError{Status: http.StatusBadRequest, Message: msg, Fields: f}
}

// errForbiddenAdmin is the one answer to a user-role request for an
// admin-only operation.
var errForbiddenAdmin = &apiError{Status: http.StatusForbidden, Message: "forbidden: admin role required"}

// handleError is echo's HTTPErrorHandler: every error, from a handler, the
// router or a middleware, leaves as the JSON error body.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	body, status := s.errorResponse(err, c)
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(status)
	} else {
		err = c.JSON(status, body)
	}
	if err != nil {
		s.log.Debug("writing error response", "err", err)
	}
}

func (s *Server) errorResponse(err error, c echo.Context) (errorBody, int) {
	var ae *apiError
	if errors.As(err, &ae) {
		return errorBody{Error: ae.Message, Fields: ae.Fields, Errors: ae.Errors}, ae.Status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code := he.Code
		// The SPA catch-all answers GET only; any other method on a path no
		// route knows is "not found", not "method not allowed".
		if code == http.StatusMethodNotAllowed && c.Path() == "/*" {
			code = http.StatusNotFound
			c.Response().Header().Del(echo.HeaderAllow)
		}
		switch code {
		case http.StatusNotFound:
			return errorBody{Error: "not found: " + c.Request().Method + " " + c.Request().URL.Path}, code
		case http.StatusMethodNotAllowed:
			return errorBody{Error: "method " + c.Request().Method + " not allowed"}, code
		case http.StatusRequestEntityTooLarge:
			return errorBody{Error: "request body too large (limit 1 MiB)"}, code
		}
		if code >= 500 {
			s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
			return errorBody{Error: "internal server error"}, code
		}
		if msg, ok := he.Message.(string); ok && msg != "" {
			return errorBody{Error: strings.ToLower(msg)}, code
		}
		return errorBody{Error: strings.ToLower(http.StatusText(code))}, code
	}
	s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	return errorBody{Error: "internal server error"}, http.StatusInternalServerError
}
