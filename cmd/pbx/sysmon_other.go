//go:build !linux

package main

// keepSysmonOutOfDeepSleep is Linux only (it execs /proc/self/exe, and
// its gain was measured only there).
func keepSysmonOutOfDeepSleep([]string) {}
