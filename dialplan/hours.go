package dialplan

import (
	"strconv"
	"strings"
	"time"
)

// hours is a named time condition: opening times per weekday and closed
// dates, read in the plan's time zone.
type hours struct {
	name      string
	line, col int
	week      [7][]span // by time.Weekday
	closed    []dateSpan
}

// span is [from, to) in minutes after midnight.
type span struct{ from, to int }

// dateSpan is an inclusive range of dates as YYYYMMDD numbers.
type dateSpan struct{ from, to int }

func dateKey(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// open reports whether t (already in the plan's zone) is inside the hours.
func (h *hours) open(t time.Time) bool {
	k := dateKey(t)
	for _, c := range h.closed {
		if k >= c.from && k <= c.to {
			return false
		}
	}
	m := t.Hour()*60 + t.Minute()
	for _, s := range h.week[t.Weekday()] {
		if m >= s.from && m < s.to {
			return true
		}
	}
	return false
}

// dayNames are the weekday names in time.Weekday order, three letters each.
const dayNames = "sunmontuewedthufrisat"

func parseDay(s string) (time.Weekday, bool) {
	if i := strings.Index(dayNames, s); len(s) == 3 && i%3 == 0 {
		return time.Weekday(i / 3), true
	}
	return 0, false
}

// parseDays parses "mon" or a range "mon-fri" (ranges may wrap: "fri-mon").
func parseDays(s string) ([]time.Weekday, string) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, ok := parseDay(lo)
	if !ok {
		return nil, "unknown day " + lo + " (mon, tue, wed, thu, fri, sat, sun)"
	}
	if !isRange {
		return []time.Weekday{a}, ""
	}
	b, ok := parseDay(hi)
	if !ok {
		return nil, "unknown day " + hi + " (mon, tue, wed, thu, fri, sat, sun)"
	}
	var out []time.Weekday
	for d := a; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == b {
			return out, ""
		}
	}
}

// parseClock parses H:MM or HH:MM into minutes; 24:00 only when end is set.
func parseClock(s string, end bool) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !IsNumber(h) || !IsNumber(m) {
		return 0, false
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !end)) {
		return 0, false
	}
	return hh*60 + mm, true
}

// parseSpan parses "08:30-17:00".
func parseSpan(s string) (span, string) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, "bad opening time " + s + ": want HH:MM-HH:MM, e.g. 08:30-17:00"
	}
	from, ok1 := parseClock(a, false)
	to, ok2 := parseClock(b, true)
	if !ok1 || !ok2 {
		return span{}, "bad opening time " + s + ": want HH:MM-HH:MM between 00:00 and 24:00, e.g. 08:30-17:00"
	}
	if to <= from {
		return span{}, "bad opening time " + s + ": the end must be after the start (split a time over midnight into two days)"
	}
	return span{from, to}, ""
}

// parseDate parses YYYY-MM-DD into a YYYYMMDD number.
func parseDate(s string) (int, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !IsNumber(s[:4]) || !IsNumber(s[5:7]) || !IsNumber(s[8:]) {
		return 0, false
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:7])
	d, _ := strconv.Atoi(s[8:])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return 0, false
	}
	return y*10000 + m*100 + d, true
}

// parseDateSpan parses "2026-12-24" or "2026-12-24..2026-12-31".
func parseDateSpan(s string) (dateSpan, string) {
	a, b, isRange := strings.Cut(s, "..")
	from, ok := parseDate(a)
	if !ok {
		return dateSpan{}, "bad date " + a + ": want YYYY-MM-DD, e.g. 2026-12-24"
	}
	if !isRange {
		return dateSpan{from, from}, ""
	}
	to, ok := parseDate(b)
	if !ok {
		return dateSpan{}, "bad date " + b + ": want YYYY-MM-DD, e.g. 2026-12-31"
	}
	if to < from {
		return dateSpan{}, "bad date range " + s + ": the end is before the start"
	}
	return dateSpan{from, to}, ""
}
