package admin

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/store"
)

func seedCDRs(t *testing.T, st *store.Store, base time.Time) {
	t.Helper()
	var cdrs []store.CDR
	for i := 0; i < 30; i++ {
		c := store.CDR{CallID: "c" + strconv.Itoa(i), Caller: "101", CallerName: "Anna", Callee: "102",
			StartedAt: base.Add(time.Duration(i) * time.Hour), Disposition: store.DispositionNoAnswer, HangupCause: "no answer"}
		if i%3 == 0 {
			c.Caller, c.Callee = "103", "101"
		}
		if i%2 == 0 {
			c.AnsweredAt = c.StartedAt.Add(2 * time.Second)
			c.Disposition, c.HangupCause = store.DispositionAnswered, "caller hung up"
		}
		c.EndedAt = c.StartedAt.Add(62 * time.Second)
		cdrs = append(cdrs, c)
	}
	cdrs[29].CallerName = "=HYPERLINK(\"http://x\")" // what a hostile phone could send
	if err := st.InsertCDRs(context.Background(), cdrs); err != nil {
		t.Fatal(err)
	}
}

func TestCDRListAndFilters(t *testing.T) {
	env := newEnv(t)
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	seedCDRs(t, env.store, base)

	// Paging: newest first, every row once.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		r := env.must(http.StatusOK, env.do("GET", "/api/v1/cdr?limit=7&cursor="+cursor, env.admin, nil))
		for _, it := range r.items() {
			seen[it.(map[string]any)["id"].(string)] = true
		}
		if cursor = r.str("next_cursor"); cursor == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 30 {
		t.Fatalf("paging saw %d calls, want 30", len(seen))
	}

	r := env.must(http.StatusOK, env.do("GET", "/api/v1/cdr?limit=1", env.admin, nil))
	first := r.items()[0].(map[string]any)
	if first["caller_name"] == "" || first["duration_s"].(float64) != 62 || first["billsec"].(float64) != 0 ||
		first["answered_at"] != nil || first["disposition"] != "no_answer" {
		t.Fatalf("newest call: %v", first)
	}
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/cdr?limit=2", env.admin, nil))
	if second := r.items()[1].(map[string]any); second["billsec"].(float64) != 60 || second["answered_at"] == nil {
		t.Fatalf("answered call: %v", second)
	}

	// number matches either side; from/to bound started_at.
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/cdr?number=103&limit=500", env.admin, nil))
	if n := len(r.items()); n != 10 {
		t.Fatalf("number=103: %d calls, want 10", n)
	}
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/cdr?from=2026-11-20T10:00:00Z&to=2026-11-20T15:00:00Z", env.admin, nil))
	if n := len(r.items()); n != 5 {
		t.Fatalf("time window: %d calls, want 5", n)
	}
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/cdr?from=2026-11-21", env.admin, nil))
	if n := len(r.items()); n != 14 {
		t.Fatalf("from a date: %d calls, want 14", n)
	}

	bad := env.must(http.StatusBadRequest, env.do("GET", "/api/v1/cdr?from=yesterday&number=12a&limit=0&cursor=x", env.admin, nil))
	for _, f := range []string{"from", "number", "limit", "cursor"} {
		if _, ok := bad.fields()[f]; !ok {
			t.Errorf("no error for %s: %v", f, bad.fields())
		}
	}
	env.must(http.StatusBadRequest, env.do("GET", "/api/v1/cdr?from=2026-11-21&to=2026-11-20", env.admin, nil))
	env.must(http.StatusUnauthorized, env.do("GET", "/api/v1/cdr", "", nil))
}

func TestCDRUserSeesOwnCalls(t *testing.T) {
	env := newEnv(t)
	seedCDRs(t, env.store, time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))
	env.createExtension("103", nil)
	user := env.createUser("carl", "user", "103")
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/cdr?limit=500", user, nil))
	if n := len(r.items()); n != 10 {
		t.Fatalf("user sees %d calls, want their 10", n)
	}
	for _, it := range r.items() {
		m := it.(map[string]any)
		if m["caller"] != "103" && m["callee"] != "103" {
			t.Fatalf("user sees another extension's call: %v", m)
		}
	}
	env.must(http.StatusForbidden, env.do("GET", "/api/v1/cdr?number=102", user, nil))
	env.must(http.StatusForbidden, env.do("GET", "/api/v1/cdr.csv?number=102", user, nil))
}

func TestCDRCSVExport(t *testing.T) {
	env := newEnv(t)
	seedCDRs(t, env.store, time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))
	// A small page size makes the export walk several pages.
	r := env.must(http.StatusOK, env.do("GET", "/api/v1/cdr.csv?limit=4", env.admin, nil))
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 31 || strings.Join(rows[0], ",") != strings.Join(cdrCSVColumns[:], ",") {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	if rows[1][2] != `'=HYPERLINK("http://x")` {
		t.Fatalf("formula in caller_name not defused: %q", rows[1][2])
	}
	if rows[2][5] == "" || rows[2][8] != "60" || rows[1][5] != "" {
		t.Fatalf("answered_at/billsec columns: %v / %v", rows[1], rows[2])
	}
	r = env.must(http.StatusOK, env.do("GET", "/api/v1/cdr.csv?number=103", env.admin, nil))
	if rows, _ := csv.NewReader(strings.NewReader(string(r.raw))).ReadAll(); len(rows) != 11 {
		t.Fatalf("filtered export: %d rows, want header + 10", len(rows))
	}
}
