//go:build race

package media

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// code using a pool (pion/srtp's XOR buffers) allocates now and then.
const raceEnabled = true
