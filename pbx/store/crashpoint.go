package store

// crashpoint, when set, is installed as every Store's commit hook. Only
// a binary built with the crashpoints tag sets it (crashpoint_on.go), so
// a test can SIGKILL a real PBX process at a step of a voicemail commit;
// a normal build has none.
var crashpoint func(step string)
