package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// PortAllocator hands out RTP/RTCP socket pairs from an inclusive UDP port
// range (for example the PBX's --rtp-ports 10000-20000). RTP always gets the
// even port and RTCP the odd port above it (RFC 3550 §11).
//
// Allocation is round-robin: the search starts after the pair handed out
// last, so a pair that was just released is not reused at once and late
// packets of a finished call do not leak into a new one. Ports that another
// process holds are skipped. It is safe for concurrent use.
type PortAllocator struct {
	ip    netip.Addr
	first int // lowest even port of the range
	pairs int // number of even/odd pairs in the range

	mu    sync.Mutex
	next  int    // index of the pair to try first
	used  []bool // indexed by pair
	inUse int
}

// NewPortAllocator returns an allocator that binds sockets on ip within the
// inclusive range [min, max]. An odd min is rounded up and a max that would
// leave an RTP port without its RTCP port is ignored; the range must hold at
// least one pair, else the error wraps ErrPortRange.
func NewPortAllocator(ip netip.Addr, min, max int) (*PortAllocator, error) {
	if !ip.IsValid() {
		return nil, fmt.Errorf("%w: no local IP", ErrPortRange)
	}
	first := min + min%2
	if min < 1 || max > 65535 || first+1 > max {
		return nil, fmt.Errorf("%w: %d-%d", ErrPortRange, min, max)
	}
	pairs := (max - first + 1) / 2
	return &PortAllocator{
		ip:    ip.Unmap(),
		first: first,
		pairs: pairs,
		used:  make([]bool, pairs),
	}, nil
}

// Allocate binds the next free RTP/RTCP pair. It returns an error wrapping
// ErrNoPorts when every pair is taken. Other bind errors (an IP that is not
// local, for instance) are returned as they are.
func (a *PortAllocator) Allocate() (*PortPair, error) {
	network := "udp4"
	if a.ip.Is6() {
		network = "udp6"
	}
	// The pair is reserved under the lock and bound outside it: binding is
	// four system calls, and every call set-up allocates two pairs, so
	// binding under the lock made concurrent set-ups queue on it (a
	// sixth of all lock waiting at 1,500 set-ups/s).
	for tried := 0; ; tried++ {
		i, ok := a.reserve(tried)
		if !ok {
			return nil, fmt.Errorf("%w in %d-%d", ErrNoPorts, a.first, a.first+2*a.pairs-1)
		}
		port := a.first + 2*i
		rtp, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, uint16(port))))
		if err != nil {
			a.unreserve(i)
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, fmt.Errorf("media: bind RTP port %d: %w", port, err)
		}
		rtcp, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, uint16(port+1))))
		if err != nil {
			rtp.Close()
			a.unreserve(i)
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, fmt.Errorf("media: bind RTCP port %d: %w", port+1, err)
		}
		return &PortPair{RTP: rtp, RTCP: rtcp, ip: a.ip, port: port, owner: a}, nil
	}
}

// reserve marks the next free pair, round-robin, as used; tried is how
// many pairs this allocation already found taken by another process, so
// that it gives up once it has seen the whole range.
func (a *PortAllocator) reserve(tried int) (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ; tried < a.pairs; tried++ {
		i := a.next
		a.next = (a.next + 1) % a.pairs
		if !a.used[i] {
			a.used[i] = true
			a.inUse++
			return i, true
		}
	}
	return 0, false
}

func (a *PortAllocator) unreserve(i int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.used[i] = false
	a.inUse--
}

// InUse reports how many pairs are allocated and not yet released.
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inUse
}

func (a *PortAllocator) release(port int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := (port - a.first) / 2
	if a.used[i] {
		a.used[i] = false
		a.inUse--
	}
}

// PortPair is a bound RTP socket on an even port and its RTCP socket on the
// next odd port. Release it when the call ends.
type PortPair struct {
	// RTP is bound to the even port.
	RTP *net.UDPConn
	// RTCP is bound to RTP's port + 1.
	RTCP *net.UDPConn

	ip    netip.Addr
	port  int
	owner *PortAllocator
	once  sync.Once
}

// RTPPort is the even port, the one to put in the SDP m= line.
func (p *PortPair) RTPPort() int { return p.port }

// RTCPPort is RTPPort() + 1.
func (p *PortPair) RTCPPort() int { return p.port + 1 }

// LocalRTP is the local RTP address, the one to advertise in SDP.
func (p *PortPair) LocalRTP() netip.AddrPort {
	return netip.AddrPortFrom(p.ip, uint16(p.port))
}

// LocalRTCP is the local RTCP address.
func (p *PortPair) LocalRTCP() netip.AddrPort {
	return netip.AddrPortFrom(p.ip, uint16(p.port+1))
}

// Release closes both sockets, which unblocks any reader, and returns the
// pair to its allocator. It is idempotent and safe for concurrent use.
func (p *PortPair) Release() {
	p.once.Do(func() {
		p.RTP.Close()
		p.RTCP.Close()
		if p.owner != nil {
			p.owner.release(p.port)
		}
	})
}
