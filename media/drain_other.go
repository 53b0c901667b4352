//go:build !unix

package media

import "net"

// canRest: without a non-blocking drain, released pairs are closed.
const canRest = false

func drain(*net.UDPConn) {}
