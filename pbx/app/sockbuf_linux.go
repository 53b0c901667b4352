package app

import (
	"net"
	"syscall"
)

// setReceiveBuffer asks for a receive buffer of size bytes on conn and
// reports the size it got (what the kernel reports, halved: Linux doubles
// the request to count its bookkeeping). It tries SO_RCVBUFFORCE first,
// which passes net.core.rmem_max for a process with CAP_NET_ADMIN (root),
// then SO_RCVBUF, which the kernel caps at net.core.rmem_max.
func setReceiveBuffer(conn *net.UDPConn, size int) int {
	raw, err := conn.SyscallConn()
	if err != nil {
		_ = conn.SetReadBuffer(size)
		return 0
	}
	got := 0
	_ = raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
		if v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil {
			got = v / 2
		}
	})
	return got
}
