package admin

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// cdrJSON is one call in the call history.
type cdrJSON struct {
	ID          string     `json:"id"`
	Caller      string     `json:"caller"`
	CallerName  string     `json:"caller_name"`
	Callee      string     `json:"callee"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at"` // null when never answered
	EndedAt     time.Time  `json:"ended_at"`
	DurationS   int64      `json:"duration_s"`
	Billsec     int64      `json:"billsec"`
	Disposition string     `json:"disposition"`
	HangupCause string     `json:"hangup_cause"`
	RTPPackets  int64      `json:"rtp_packets"`
	RTPLost     int64      `json:"rtp_lost"`
	JitterMs    float64    `json:"jitter_ms"`
}

func toCDRJSON(c store.CDR) cdrJSON {
	out := cdrJSON{
		ID: strconv.FormatInt(c.ID, 10), Caller: c.Caller, CallerName: c.CallerName, Callee: c.Callee,
		StartedAt: c.StartedAt, EndedAt: c.EndedAt,
		DurationS: int64(c.Duration().Round(time.Second) / time.Second), Billsec: int64(c.Billsec().Round(time.Second) / time.Second),
		Disposition: c.Disposition, HangupCause: c.HangupCause, RTPPackets: c.RTPPackets, RTPLost: c.RTPLost, JitterMs: c.JitterMs,
	}
	if !c.AnsweredAt.IsZero() {
		t := c.AnsweredAt
		out.AnsweredAt = &t
	}
	return out
}

// cdrFilter reads ?from=&to=&number=&limit=&cursor=; from and to are
// RFC 3339 times or dates (YYYY-MM-DD, midnight UTC). A user-role caller
// sees only calls from or to their own extension.
func cdrFilter(c echo.Context) (store.CDRFilter, error) {
	var f store.CDRFilter
	fe := fieldErrors{}
	for _, tc := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := c.QueryParam(tc.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t, err = time.Parse(time.DateOnly, v)
		}
		if err != nil {
			fe.add(tc.name, "must be an RFC 3339 time (2026-11-20T09:00:00Z) or a date (2026-11-20)")
		}
		*tc.dst = t
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		fe.add("to", "must be after from")
	}
	if f.Number = c.QueryParam("number"); f.Number != "" && !dialplan.IsDialString(f.Number) {
		fe.add("number", "must be digits, optionally with a leading +")
	}
	f.Limit, f.After = pageLimit(c, fe), rowCursor(c, fe)
	if err := fe.err(); err != nil {
		return f, err
	}
	if p := principalOf(c); !p.isAdmin() {
		if p.user.Extension == "" || (f.Number != "" && f.Number != p.user.Extension) {
			return f, forbidden("forbidden: you may only see your own extension's calls")
		}
		f.Number = p.user.Extension
	}
	return f, nil
}

// listCDR is GET /api/v1/cdr: call history, newest first.
func (s *Server) listCDR(c echo.Context) error {
	f, err := cdrFilter(c)
	if err != nil {
		return err
	}
	rows, next, err := s.store.ListCDRs(c.Request().Context(), f)
	if err != nil {
		return err
	}
	items := make([]cdrJSON, len(rows))
	for i, r := range rows {
		items[i] = toCDRJSON(r)
	}
	return c.JSON(http.StatusOK, page[cdrJSON]{Items: items, NextCursor: next})
}

// cdrCSVColumns is the header row of /cdr.csv.
var cdrCSVColumns = [...]string{"id", "caller", "caller_name", "callee", "started_at", "answered_at", "ended_at",
	"duration_s", "billsec", "disposition", "hangup_cause", "rtp_packets", "rtp_lost", "jitter_ms"}

// exportCDR is GET /api/v1/cdr.csv: the filtered history as CSV, every
// page of it (limit sets the page size used while streaming), newest first.
func (s *Server) exportCDR(c echo.Context) error {
	f, err := cdrFilter(c)
	if err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="cdr.csv"`)
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	w.Write(cdrCSVColumns[:])
	if f.Limit == 0 {
		f.Limit = maxPageLimit
	}
	for {
		rows, next, err := s.store.ListCDRs(c.Request().Context(), f)
		if err != nil {
			// Headers are gone; end the CSV short and log why.
			s.log.Error("CDR export failed", "err", err)
			break
		}
		for _, r := range rows {
			j := toCDRJSON(r)
			answered := ""
			if j.AnsweredAt != nil {
				answered = j.AnsweredAt.Format(time.RFC3339)
			}
			w.Write([]string{j.ID, j.Caller, csvSafe(j.CallerName), j.Callee,
				j.StartedAt.Format(time.RFC3339), answered, j.EndedAt.Format(time.RFC3339),
				strconv.FormatInt(j.DurationS, 10), strconv.FormatInt(j.Billsec, 10), j.Disposition,
				csvSafe(j.HangupCause), strconv.FormatInt(j.RTPPackets, 10), strconv.FormatInt(j.RTPLost, 10),
				strconv.FormatFloat(j.JitterMs, 'f', 2, 64)})
		}
		if next == "" {
			break
		}
		f.After, _ = strconv.ParseInt(next, 10, 64)
	}
	w.Flush()
	return w.Error()
}

// csvSafe defuses a value a spreadsheet would run as a formula (a caller
// name is whatever a phone sent).
func csvSafe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@') {
		return "'" + v
	}
	return v
}
