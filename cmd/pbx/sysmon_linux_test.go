package main

import (
	"slices"
	"testing"
)

func TestSysmonEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		environ []string
		want    []string // nil: no exec
	}{
		{"no GODEBUG", []string{"PATH=/bin", "HOME=/root"},
			[]string{"PATH=/bin", "HOME=/root", "GODEBUG=" + sysmonSetting}},
		{"other settings kept", []string{"GODEBUG=madvdontneed=1", "PATH=/bin"},
			[]string{"PATH=/bin", "GODEBUG=madvdontneed=1," + sysmonSetting}},
		{"empty GODEBUG", []string{"GODEBUG="}, []string{"GODEBUG=" + sysmonSetting}},
		{"the caller's schedtrace wins", []string{"GODEBUG=gctrace=1,schedtrace=0"}, nil},
		{"already exec'd", []string{"PATH=/bin", "GODEBUG=" + sysmonSetting}, nil},
		{"the first GODEBUG counts", []string{"GODEBUG=gctrace=1", "GODEBUG=schedtrace=0"},
			[]string{"GODEBUG=gctrace=1," + sysmonSetting}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := sysmonEnv(tc.environ)
			if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("sysmonEnv(%q) = %q, %v; want %q", tc.environ, got, ok, tc.want)
			}
		})
	}
}
