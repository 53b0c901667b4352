package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/app"
	"github.com/officepbx/pbx/pbx/store"
)

const checkPlan = `context internal {
    rule 0 {
        dial extension:101
    }
}
`

func TestDialplanCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.plan", checkPlan)
	broken := write("broken.plan", "context internal {\n    rule 0 {\n        dial nowhere:1\n        bogus\n    }\n}\n")
	dangling := write("dangling.plan", strings.Replace(checkPlan, "101", "999", 1))
	defaultPlan := write("default.plan", dialplan.Default)

	// A data directory with a database holding extension 101.
	data := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(data, app.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateExtension(ctx, &store.Extension{Number: "101", Secret: "secret-101", AuthAlgorithms: []string{"MD5"},
		RingSeconds: 20, Outbound: "internal", Voicemail: store.Voicemail{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	empty := t.TempDir() // no database: syntax only, and none is created

	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		stdin      string
		wantErr    string // substring of the error; "": success
		wantUsage  bool
		wantStdout string
		wantStderr []string
	}{
		{name: "ok with database", args: []string{"--data", data, good}, wantStdout: good + ": ok\n"},
		{name: "ok from PBX_DATA", args: []string{good}, env: map[string]string{"PBX_DATA": data}, wantStdout: good + ": ok\n"},
		{name: "default plan", args: []string{"--data", data, defaultPlan}, wantStdout: defaultPlan + ": ok\n"},
		{name: "syntax errors", args: []string{"--data", data, broken}, wantErr: broken + ": 2 errors",
			wantStderr: []string{broken + ":3:14: ", broken + ":4:9: unknown statement bogus"}},
		{name: "dangling destination", args: []string{"--data", data, dangling}, wantErr: "1 error",
			wantStderr: []string{dangling + ":3:14: no extension 999\n"}},
		{name: "no database: syntax only", args: []string{"--data", empty, dangling},
			wantStdout: dangling + ": ok\n", wantStderr: []string{"destinations not checked: no database at"}},
		{name: "stdin", args: []string{"--data", data, "-"}, stdin: checkPlan, wantStdout: "<stdin>: ok\n"},
		{name: "stdin broken", args: []string{"--data", data, "-"}, stdin: "context x {", wantErr: "<stdin>: ",
			wantStderr: []string{"<stdin>:1:"}},
		{name: "missing file", args: []string{filepath.Join(dir, "nope.plan")}, wantErr: "nope.plan"},
		{name: "no file", args: []string{}, wantErr: "pbx dialplan check FILE", wantUsage: true},
		{name: "two files", args: []string{good, good}, wantErr: "pbx dialplan check FILE", wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(ctx, append([]string{"dialplan", "check"}, tt.args...), strings.NewReader(tt.stdin), &stdout, &stderr, envOf(tt.env))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run: %v\nstderr: %s", err, stderr.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			case err != nil && errors.Is(err, errUsage) != tt.wantUsage:
				t.Errorf("usage error (exit 2) = %v, want %v", !tt.wantUsage, tt.wantUsage)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantStdout)
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(empty, app.DatabaseFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the check created a database in %s: %v", empty, err)
	}
	var stdout bytes.Buffer
	if err := run(ctx, []string{"dialplan"}, strings.NewReader(""), &stdout, &stdout, envOf(nil)); !errors.Is(err, errUsage) {
		t.Errorf("pbx dialplan: %v, want a usage error", err)
	}
}
