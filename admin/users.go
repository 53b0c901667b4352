package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// userJSON is a user as the API shows it: never the password or its hash.
type userJSON struct {
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Extension string    `json:"extension"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toUserJSON(u store.User) userJSON {
	return userJSON{Username: u.Username, Role: u.Role, Extension: u.Extension, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// userInput is a request body for POST, PUT and PATCH; pointers tell an
// omitted field from an empty one.
type userInput struct {
	Username  *string         `json:"username"`
	Password  *string         `json:"password"`
	Role      *string         `json:"role"`
	Extension *string         `json:"extension"`
	CreatedAt json.RawMessage `json:"created_at"` // read-only, ignored
	UpdatedAt json.RawMessage `json:"updated_at"` // read-only, ignored
}

func (s *Server) listUsers(c echo.Context) error {
	opt, err := listOptions(c)
	if err != nil {
		return err
	}
	users, next, err := s.store.ListUsers(c.Request().Context(), opt)
	if err != nil {
		return err
	}
	items := make([]userJSON, 0, len(users))
	for _, u := range users {
		items = append(items, toUserJSON(u))
	}
	return c.JSON(http.StatusOK, page[userJSON]{Items: items, NextCursor: next})
}

func (s *Server) createUser(c echo.Context) error {
	var in userInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	fe := fieldErrors{}
	u := store.User{Username: deref(in.Username), Role: deref(in.Role), Extension: deref(in.Extension)}
	if in.Username == nil {
		fe.add("username", "required")
	} else if !validUsername(u.Username) {
		fe.add("username", "must be 1 to 64 of letters, digits, '.', '_', '@' and '-'")
	}
	if in.Password == nil {
		fe.add("password", "required")
	}
	ctx := c.Request().Context()
	if err := s.validateUser(ctx, &u, in.Password, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.CreateUser(ctx, &u); err != nil {
		return userStoreError(err, u)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/users/"+u.Username)
	return c.JSON(http.StatusCreated, toUserJSON(u))
}

// validateUser checks role and extension, and hashes a given password into
// u. It adds field problems to fe; the error is for a failing store.
func (s *Server) validateUser(ctx context.Context, u *store.User, password *string, fe fieldErrors) error {
	if u.Role != roleAdmin && u.Role != roleUser {
		fe.add("role", "must be admin or user")
	}
	if u.Extension != "" {
		msg, err := s.store.NumberProblem(ctx, u.Extension, "extension")
		if err != nil {
			return err
		}
		if msg != "" {
			fe.add("extension", msg)
		}
	}
	if password != nil {
		if err := ValidatePassword(*password); err != nil {
			fe.add("password", err.Error())
			return nil
		}
		if len(fe) > 0 {
			return nil // no need to spend bcrypt time on a request that fails anyway
		}
		h, err := hashPassword(*password, s.cost)
		if err != nil {
			return err
		}
		u.PasswordHash = h
	}
	return nil
}

// userStoreError maps the store's answer to a user write.
func userStoreError(err error, u store.User) error {
	switch {
	case errors.Is(err, store.ErrExists):
		return &apiError{Status: http.StatusConflict, Message: "user " + u.Username + " already exists",
			Fields: map[string]string{"username": "already exists"}}
	case errors.Is(err, store.ErrInUse):
		return conflict("user %s is the last admin: make another user admin first", u.Username)
	case errors.Is(err, store.ErrNotFound):
		// The user is known to exist here, so the extension vanished meanwhile.
		return fieldError("extension", "no extension "+u.Extension)
	}
	return err
}

// getUser shows one user: any to an admin, themselves to a user.
func (s *Server) getUser(c echo.Context) error {
	name := pathParam(c, "username")
	if p := principalOf(c); !p.isAdmin() && p.user.Username != name {
		return errForbiddenAdmin
	}
	u, err := s.loadUser(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toUserJSON(u))
}

// putUser replaces role and extension; an omitted password keeps the
// stored one.
func (s *Server) putUser(c echo.Context) error {
	name := pathParam(c, "username")
	var in userInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	old, err := s.loadUser(ctx, name)
	if err != nil {
		return err
	}
	fe := fieldErrors{}
	if in.Role == nil {
		fe.add("role", "required")
	}
	u := old
	u.Role, u.Extension = deref(in.Role), deref(in.Extension)
	return s.saveUser(c, &in, &u, fe)
}

// patchUser changes the fields given. Users may change their own password
// and nothing else.
func (s *Server) patchUser(c echo.Context) error {
	name := pathParam(c, "username")
	p := principalOf(c)
	if !p.isAdmin() && p.user.Username != name {
		return errForbiddenAdmin
	}
	var in userInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if !p.isAdmin() && (in.Username != nil || in.Role != nil || in.Extension != nil) {
		return forbidden("forbidden: users may change only their own password")
	}
	u, err := s.loadUser(c.Request().Context(), name)
	if err != nil {
		return err
	}
	set(&u.Role, in.Role)
	set(&u.Extension, in.Extension)
	return s.saveUser(c, &in, &u, fieldErrors{})
}

// saveUser validates and writes u; a new password ends the user's sessions.
func (s *Server) saveUser(c echo.Context, in *userInput, u *store.User, fe fieldErrors) error {
	if in.Username != nil && *in.Username != u.Username {
		fe.add("username", "does not match the user in the path ("+u.Username+"); usernames cannot be changed")
	}
	ctx := c.Request().Context()
	if err := s.validateUser(ctx, u, in.Password, fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrInUse) {
			return conflict("cannot remove the admin role from %s: it is the last admin", u.Username)
		}
		return userStoreError(err, *u)
	}
	if in.Password != nil {
		// A password change is often a response to a leak: log everyone out.
		if err := s.store.DeleteUserSessions(ctx, u.Username); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, toUserJSON(*u))
}

func (s *Server) deleteUser(c echo.Context) error {
	name := pathParam(c, "username")
	err := s.store.DeleteUser(c.Request().Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("no user %s", name)
	case errors.Is(err, store.ErrInUse):
		return conflict("cannot delete %s: it is the last admin", name)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) loadUser(ctx context.Context, name string) (store.User, error) {
	u, err := s.store.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, notFound("no user %s", name)
	}
	return u, err
}
