//go:build !linux

package app

import "net"

// setReceiveBuffer asks for a receive buffer of size bytes on conn; the
// size granted is not known here (0).
func setReceiveBuffer(conn *net.UDPConn, size int) int {
	_ = conn.SetReadBuffer(size)
	return 0
}
