package backup

import "errors"

// Sentinel errors a caller may branch on; each is wrapped with the detail.
var (
	// ErrBadArchive: the archive is damaged, tampered with, truncated or
	// not a PBX backup. Nothing was written to the data directory.
	ErrBadArchive = errors.New("bad backup archive")
	// ErrDataDirInUse: a running PBX holds the data directory.
	ErrDataDirInUse = errors.New("data directory is in use by a running pbx")
	// ErrNotEmpty: restore refuses a data directory that holds anything.
	ErrNotEmpty = errors.New("data directory is not empty")
	// ErrNoDatabase: backup found no database in the data directory.
	ErrNoDatabase = errors.New("no database in the data directory")
)
