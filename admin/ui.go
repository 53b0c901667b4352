package admin

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// serveUI serves the web UI: a file when the path names one, else
// index.html so the single-page app can route the path itself. API paths
// never get the page: an unknown endpoint is a JSON 404.
func (s *Server) serveUI(c echo.Context) error {
	p := c.Request().URL.Path
	if isAPIPath(p) {
		return echo.ErrNotFound
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if name != "" && fs.ValidPath(name) {
		if fi, err := fs.Stat(s.cfg.UI, name); err == nil && !fi.IsDir() {
			return s.serveFile(c, name)
		}
		// A missing asset is a 404, not the app's HTML under a .js name.
		if strings.Contains(path.Base(name), ".") {
			return echo.ErrNotFound
		}
	}
	c.Response().Header().Set("Cache-Control", "no-cache") // a new build must reach the browser
	return s.serveFile(c, "index.html")
}

// serveFile writes one UI file with its content type and conditional GET
// support.
func (s *Server) serveFile(c echo.Context, name string) error {
	f, err := s.cfg.UI.Open(name)
	if err != nil {
		return echo.ErrNotFound
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		return echo.ErrNotFound
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok { // embed.FS files seek; other file systems may not
		b, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		rs = bytes.NewReader(b)
	}
	http.ServeContent(c.Response(), c.Request(), fi.Name(), fi.ModTime(), rs)
	return nil
}
