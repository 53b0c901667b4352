// Package webui is the administrator's console: static files embedded in the
// binary and served at / by the admin HTTP server. It speaks only the public
// REST API.
package webui

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// FS returns the console's files, rooted at the directory holding index.html.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory exists
	}
	return sub
}
