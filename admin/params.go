package admin

import (
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/pbx/store"
)

// page is the shape of every collection: the items and the cursor of the
// next page, "" on the last one.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

const maxPageLimit = 500

// listOptions reads ?limit=&cursor=&q= into the store's paging options.
func listOptions(c echo.Context) (store.ListOptions, error) {
	opt := store.ListOptions{Query: c.QueryParam("q"), After: c.QueryParam("cursor")}
	fe := fieldErrors{}
	opt.Limit = pageLimit(c, fe)
	if len(opt.Query) > maxQueryLen {
		fe.add("q", "must be at most 200 bytes")
	}
	if len(opt.After) > maxQueryLen {
		fe.add("cursor", "is not a cursor this server gave out")
	}
	return opt, fe.err()
}

// pageLimit reads ?limit= (1 to 500) into fe's problems; 0 when absent.
func pageLimit(c echo.Context, fe fieldErrors) int {
	l := c.QueryParam("limit")
	if l == "" {
		return 0
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > maxPageLimit {
		fe.add("limit", "must be an integer from 1 to 500")
	}
	return n
}

// rowCursor reads ?cursor= of a list paged by row id (the CDR, the audit
// log) into fe's problems; 0 when absent.
func rowCursor(c echo.Context, fe fieldErrors) int64 {
	cur := c.QueryParam("cursor")
	if cur == "" {
		return 0
	}
	n, err := strconv.ParseInt(cur, 10, 64)
	if err != nil || n < 1 {
		fe.add("cursor", "is not a cursor this server gave out")
	}
	return n
}

// pathParam returns a path parameter unescaped: echo hands over the raw
// segment when the client percent-encoded it.
func pathParam(c echo.Context, name string) string {
	v := c.Param(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}
