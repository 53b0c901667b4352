package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/officepbx/pbx/migrations"
)

// embedded returns the migrations this binary carries.
func embedded(t *testing.T) []migration {
	t.Helper()
	ms, err := loadMigrations(migrations.Files)
	if err != nil {
		t.Fatalf("embedded migrations: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	return ms
}

type schemaRow struct {
	Version int
	Name    string
}

func schemaRows(t *testing.T, db *sql.DB) []schemaRow {
	t.Helper()
	rows, err := db.Query(`SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []schemaRow
	for rows.Next() {
		var r schemaRow
		if err := rows.Scan(&r.Version, &r.Name); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dump renders the schema and every row of every table, to compare a
// database before and after an operation.
func dump(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	rows, err := db.Query(`SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
		fmt.Fprintln(&b, ddl)
	}
	rows.Close()
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `" ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

func TestMigrateFreshAndReopen(t *testing.T) {
	ctx := context.Background()
	ms := embedded(t)
	var want []schemaRow
	for _, m := range ms {
		want = append(want, schemaRow{m.version, m.name})
	}
	latest := ms[len(ms)-1].version

	s, path := openStore(t)
	if got := schemaRows(t, s.r); !reflect.DeepEqual(got, want) {
		t.Fatalf("schema_migrations after fresh open = %v, want %v", got, want)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
	}
	// Every table the migrations leave exists.
	for _, table := range []string{"settings", "numbers", "extensions", "users", "sessions", "api_tokens",
		"registrations", "dialplan_versions"} {
		var n int
		if err := s.r.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: count %d, %v", table, n, err)
		}
	}
	mustCreateExt(t, s, newExt("100"))
	before := dump(t, s.r)

	// Re-opening applies nothing and changes nothing.
	for range 2 {
		s2, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		after := dump(t, s2.r)
		s2.Close()
		if after != before {
			t.Fatalf("reopen changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	}
	// Running the migrator again on the open store is also a no-op.
	if err := s.migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if after := dump(t, s.r); after != before {
		t.Errorf("second migrate changed the database:\n%s", after)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	latest := embedded(t)[len(embedded(t))-1].version
	s, path := openStore(t)
	mustCreateExt(t, s, newExt("100"))
	future := latest + 7
	if _, err := s.w.Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, 'from_the_future.sql', 0)`,
		future); err != nil {
		t.Fatal(err)
	}
	before := dump(t, s.r)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(ctx, path)
	if err == nil {
		s2.Close()
		t.Fatal("Open accepted a database newer than the binary")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("err %v, want ErrSchemaTooNew", err)
	}
	if !errContains(err, fmt.Sprintf("version %d", future), fmt.Sprintf("up to %d", latest)) {
		t.Errorf("message %q does not name both versions", err)
	}

	db := rawDB(t, path)
	defer db.Close()
	if after := dump(t, db); after != before {
		t.Errorf("refused Open changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	// Every embedded migration, then a broken next one.
	broken := fstest.MapFS{}
	ms := embedded(t)
	for _, m := range ms {
		broken[m.name] = &fstest.MapFile{Data: []byte(m.sql)}
	}
	next := ms[len(ms)-1].version + 1
	name := fmt.Sprintf("%04d_x.sql", next)
	before := dump(t, s.r)
	// The first statement succeeds; the second is a syntax error.
	broken[name] = &fstest.MapFile{Data: []byte("CREATE TABLE partial (id INTEGER PRIMARY KEY);\n" +
		"INSERT INTO settings(key, value) VALUES ('half', 'done');\nCREATE TABLE broken (;\n")}
	err := s.migrateFS(ctx, broken)
	if err == nil {
		t.Fatal("broken migration applied without error")
	}
	if !errContains(err, name) {
		t.Errorf("error %q does not name the failing file", err)
	}
	if after := dump(t, s.r); after != before {
		t.Fatalf("failed migration left changes behind:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The same file, fixed, applies: the rollback was not an accident of the
	// test's SQL.
	broken[name] = &fstest.MapFile{Data: []byte("CREATE TABLE partial (id INTEGER PRIMARY KEY);\n" +
		"INSERT INTO settings(key, value) VALUES ('half', 'done');\n")}
	if err := s.migrateFS(ctx, broken); err != nil {
		t.Fatalf("fixed migration: %v", err)
	}
	if v, err := s.Setting(ctx, "half"); err != nil || v != "done" {
		t.Errorf("setting from fixed migration = %q, %v", v, err)
	}
	rows := schemaRows(t, s.r)
	if last := rows[len(rows)-1]; last != (schemaRow{next, name}) {
		t.Errorf("last schema row %v, want {%d %s}", last, next, name)
	}
}

// A migration numbered below one already applied (another branch's, merged
// later) is applied too, not skipped.
func TestMigrateFillsGap(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	ms := embedded(t)
	latest := ms[len(ms)-1].version
	withGap := fstest.MapFS{}
	for _, m := range ms {
		withGap[m.name] = &fstest.MapFile{Data: []byte(m.sql)}
	}
	late := fmt.Sprintf("%04d_late.sql", latest+2)
	withGap[late] = &fstest.MapFile{Data: []byte("INSERT INTO settings(key, value) VALUES ('late', 'yes');\n")}
	if err := s.migrateFS(ctx, withGap); err != nil {
		t.Fatal(err)
	}
	// The branch that numbered its migration latest+1 merges now.
	early := fmt.Sprintf("%04d_early.sql", latest+1)
	withGap[early] = &fstest.MapFile{Data: []byte("INSERT INTO settings(key, value) VALUES ('early', 'yes');\n")}
	if err := s.migrateFS(ctx, withGap); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Setting(ctx, "early"); err != nil || v != "yes" {
		t.Errorf("the earlier-numbered migration was skipped: %q, %v", v, err)
	}
	rows := schemaRows(t, s.r)
	if got := rows[len(rows)-2:]; got[0] != (schemaRow{latest + 1, early}) || got[1] != (schemaRow{latest + 2, late}) {
		t.Errorf("last schema rows %v", got)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != latest+2 {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int  // versions in order
		wantErr string // substring of the error
	}{
		{"empty", fstest.MapFS{}, nil, ""},
		{"sorted by number, not name", fstest.MapFS{"0010_b.sql": file("b"), "0002_a.sql": file("a"),
			"9_c.sql": file("c")}, []int{2, 9, 10}, ""},
		{"other files ignored", fstest.MapFS{"0001_a.sql": file("a"), "README.md": file("x"),
			"0002_b.sql.orig": file("x")}, []int{1}, ""},
		{"no underscore", fstest.MapFS{"0001.sql": file("")}, nil, `"0001.sql": name must be NNNN_what.sql`},
		{"not a number", fstest.MapFS{"init_schema.sql": file("")}, nil, `"init_schema.sql"`},
		{"zero", fstest.MapFS{"0000_x.sql": file("")}, nil, `"0000_x.sql"`},
		{"negative", fstest.MapFS{"-1_x.sql": file("")}, nil, `"-1_x.sql"`},
		{"space in number", fstest.MapFS{" 1_x.sql": file("")}, nil, `" 1_x.sql"`},
		{"shared version", fstest.MapFS{"0001_a.sql": file(""), "1_b.sql": file("")}, nil, "share version 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.fsys)
			if tt.wantErr != "" {
				if !errContains(err, tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
				if want := string(tt.fsys[m.name].Data); m.sql != want {
					t.Errorf("%s body %q, want %q", m.name, m.sql, want)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("versions %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMigrateRejectsBadNames(t *testing.T) {
	s, _ := openStore(t)
	err := s.migrateFS(context.Background(), fstest.MapFS{"0001_init.sql": {}, "two.sql": {Data: []byte("CREATE TABLE t (x)")}})
	if !errContains(err, "two.sql") {
		t.Errorf("err %v, want one naming two.sql", err)
	}
}
