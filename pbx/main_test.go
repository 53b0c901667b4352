package pbx_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests, or, started by BenchmarkAuthenticatedRegister
// with its environment variable, that benchmark's client process (so that
// the PBX's CPU is measured apart from its load generator's).
func TestMain(m *testing.M) {
	if spec := os.Getenv(regClientEnv); spec != "" {
		if err := runRegisterClients(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
