package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version returns the module version, or the VCS revision when built from a
// checkout, or "devel".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel-" + s.Value[:12]
		}
	}
	return "devel"
}

// versionString is what 'pbx version' prints.
func versionString() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pbx %s %s %s/%s", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "CGO_ENABLED", "vcs.revision", "vcs.time", "vcs.modified":
				fmt.Fprintf(&b, "\n  %s=%s", s.Key, s.Value)
			}
		}
	}
	return b.String()
}
