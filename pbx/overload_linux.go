package pbx

import (
	"net"
	"syscall"
	"unsafe"
)

// soMeminfo is SO_MEMINFO (Linux 3.13+): the socket's memory counters,
// the first of which is the memory its receive queue holds.
const soMeminfo = 55

// receiveBacklog reports how full conn's kernel receive queue is, as a
// fraction of its receive buffer; ok is false where that cannot be read.
func receiveBacklog(conn net.PacketConn) (fill float64, ok bool) {
	sc, isSyscall := conn.(syscall.Conn)
	if !isSyscall {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info [9]uint32 // SK_MEMINFO_RMEM_ALLOC, SK_MEMINFO_RCVBUF, ...
	var serr syscall.Errno
	err = raw.Control(func(fd uintptr) {
		size := uint32(unsafe.Sizeof(info))
		_, _, serr = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_SOCKET, soMeminfo,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	})
	if err != nil || serr != 0 || info[1] == 0 {
		return 0, false
	}
	return float64(info[0]) / float64(info[1]), true
}
