package main

import (
	"os"
	"strings"
	"syscall"
)

// sysmonSetting is what keepSysmonOutOfDeepSleep adds to GODEBUG: a
// scheduler trace every 2^31-1 ms (24.8 days), whose side effect is the
// point (see there).
const sysmonSetting = "schedtrace=2147483647"

// keepSysmonOutOfDeepSleep re-executes `pbx serve` with sysmonSetting in
// GODEBUG, unless GODEBUG already sets schedtrace (GODEBUG=schedtrace=0
// keeps the runtime's default). It returns only when it did not re-execute.
//
// Why: Go's system monitor (sysmon) sleeps deeply whenever every P is
// idle, and the next system call wakes it and restarts it at its fastest
// pace, a wake-up every 20 µs for at least the next millisecond
// (runtime/proc.go, sysmon; golang/go#18236). A PBX is idle between most
// datagrams, so under SIP load it went idle and busy thousands of times a
// second and sysmon's wake-ups were about a third of its context switches,
// each of which is costly on a virtual machine. With a scheduler trace
// set, sysmon never sleeps deeply: its pace backs off to one wake-up every
// 10 ms and stays there unless it has to take a P back from a long system
// call or preempt a goroutine (its real duties, unchanged). Measured side
// by side (docs/benchmarks.md, session 11): 9-20% less CPU per
// registration, 11-14% per call set-up and 12% for the relay, with 25-45%
// fewer context switches; idle, the PBX uses 0.27% of a core instead of
// 0.13% (sysmon's 100 wake-ups a second). The trace itself prints one
// line on standard error at start when the machine has been up longer
// than 24.8 days, and once every 24.8 days after that.
//
// The setting is read only when the runtime starts, hence the exec; a
// failed exec leaves the process running as it was.
func keepSysmonOutOfDeepSleep(environ []string) {
	env, ok := sysmonEnv(environ)
	if !ok {
		return
	}
	// This very binary, even if its file was replaced since (os.Executable
	// reads the same link, so it is no fallback); Exec returns only on
	// failure.
	_ = syscall.Exec("/proc/self/exe", os.Args, env)
}

// sysmonEnv is environ with sysmonSetting added to GODEBUG, and true; or
// false when GODEBUG already sets schedtrace.
func sysmonEnv(environ []string) ([]string, bool) {
	godebug, found := "", false
	env := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if !found { // the first one counts, as for os.Getenv and the runtime
				godebug, found = v, true
			}
			continue
		}
		env = append(env, kv)
	}
	for _, s := range strings.Split(godebug, ",") {
		if strings.HasPrefix(strings.TrimSpace(s), "schedtrace=") {
			return nil, false // set by the caller (or by an earlier exec)
		}
	}
	if godebug != "" {
		godebug += ","
	}
	return append(env, "GODEBUG="+godebug+sysmonSetting), true
}
