package dialplan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a dial plan, at a 1-based line and column
// (columns count characters, not bytes).
type Error struct {
	Line, Col int
	Message   string
}

// Error formats e as "LINE:COL: message".
func (e Error) Error() string {
	return strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col) + ": " + e.Message
}

// ErrorList is every problem found in a dial plan, sorted by position.
type ErrorList []Error

// Error joins the errors with newlines.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns l as an error, or nil when l is empty, so that an empty list
// never becomes a non-nil error interface by accident.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// add records a problem at line:col.
func (l *ErrorList) add(line, col int, format string, args ...any) {
	*l = append(*l, Error{Line: line, Col: col, Message: fmt.Sprintf(format, args...)})
}

// sortDedup orders the list by position and drops exact repeats.
func (l ErrorList) sortDedup() ErrorList {
	if len(l) == 0 {
		return nil
	}
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Col < l[j].Col
	})
	out := l[:1]
	for _, e := range l[1:] {
		if e != out[len(out)-1] {
			out = append(out, e)
		}
	}
	return out
}
