//go:build unix

package media

import (
	"net"
	"syscall"
)

// canRest: released pairs keep their sockets (see PortAllocator), as
// drain can empty them.
const canRest = true

// drain discards the datagrams queued on c without blocking.
func drain(c *net.UDPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	var buf [1]byte
	_ = rc.Read(func(fd uintptr) bool {
		for {
			// MSG_TRUNC: a longer datagram is discarded whole.
			if _, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_DONTWAIT|syscall.MSG_TRUNC); err != nil {
				return true // EAGAIN: empty (or an error: nothing to read)
			}
		}
	})
}
