package store

import "errors"

// Sentinel errors callers branch on.
var (
	// ErrNotFound is returned when the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNumberTaken is returned when a number is already used by any kind
	// of dialable thing (extension, ring group, IVR, conference).
	ErrNumberTaken = errors.New("number already in use")
	// ErrExists is returned when a unique name (user, token) is taken.
	ErrExists = errors.New("already exists")
	// ErrInvalidName is returned for a name that cannot be stored (a prompt
	// name that would not make a safe file name).
	ErrInvalidName = errors.New("invalid name")
	// ErrInUse is returned when a row cannot be deleted because other
	// configuration still points at it.
	ErrInUse = errors.New("still referenced")
	// ErrInvalid is wrapped by InvalidError: a write named a destination or
	// member that does not exist.
	ErrInvalid = errors.New("invalid")
	// ErrSchemaTooNew is returned when the database was written by a newer
	// binary than this one: running on would risk silent damage.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
)
