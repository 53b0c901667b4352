//go:build !linux

package pbx

import "net"

// receiveBacklog cannot read the receive queue here: no shedding.
func receiveBacklog(net.PacketConn) (float64, bool) { return 0, false }
