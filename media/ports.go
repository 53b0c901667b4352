package media

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// PortAllocator hands out RTP/RTCP socket pairs from an inclusive UDP port
// range (for example the PBX's --rtp-ports 10000-20000). RTP always gets the
// even port and RTCP the odd port above it (RFC 3550 §11).
//
// Allocation is round-robin: the search starts after the pair handed out
// last, so a pair that was just released is not reused at once and late
// packets of a finished call do not leak into a new one. Ports that another
// process holds are skipped. It is safe for concurrent use.
//
// A released pair's sockets are kept open, in the order they were
// released, and handed out again instead of binding new ones: once the
// pair has rested ReuseAfter, or at once when every other pair of the range
// is taken (where round-robin binding would have come back to it as well).
// Binding and closing a pair was six system calls and two epoll changes a
// side of every call, a tenth of the PBX's CPU per call set-up at 1,000
// set-ups a second (docs/benchmarks.md). A reused pair is drained of what
// arrived while it rested. Pairs resting longer than idleFor are closed,
// so a burst's sockets do not stay open for good.
//
// The pairs with open sockets, in use or resting, are also held within
// the process's open-file limit (see Capacity): a pair is two file
// descriptors, and a range the limit could not hold ran the whole process
// out of them at load, refusing calls and connections alike (the HTTP
// API stopped accepting). Past the capacity, Allocate behaves as on a
// full range.
type PortAllocator struct {
	ip    netip.Addr
	first int // lowest even port of the range
	pairs int // number of even/odd pairs in the range
	open  int // how many pairs may have open sockets at once, <= pairs

	mu    sync.Mutex
	next  int    // index of the pair to try first
	used  []bool // indexed by pair; a resting pair counts as used
	inUse int
	rest  []*PortPair // released pairs with open sockets, oldest first
	shut  bool        // Close was called: released pairs are closed
	now   func() time.Time
}

// ReuseAfter is how long a released pair rests before it is handed out
// again while the range has other pairs free. A phone stops sending when
// its call ends; what is still on the way arrives within this.
const ReuseAfter = 10 * time.Second

// idleFor is how long a released pair's sockets stay open unused.
const idleFor = time.Minute

// NewPortAllocator returns an allocator that binds sockets on ip within the
// inclusive range [lo, hi]. An odd lo is rounded up and a hi that would
// leave an RTP port without its RTCP port is ignored; the range must hold at
// least one pair, else the error wraps ErrPortRange.
func NewPortAllocator(ip netip.Addr, lo, hi int) (*PortAllocator, error) {
	if !ip.IsValid() {
		return nil, fmt.Errorf("%w: no local IP", ErrPortRange)
	}
	first := lo + lo%2
	if lo < 1 || hi > 65535 || first+1 > hi {
		return nil, fmt.Errorf("%w: %d-%d", ErrPortRange, lo, hi)
	}
	pairs := (hi - first + 1) / 2
	return &PortAllocator{
		ip:    ip.Unmap(),
		first: first,
		pairs: pairs,
		open:  min(pairs, pairsWithin(openFileLimit())),
		used:  make([]bool, pairs),
		now:   time.Now,
	}, nil
}

// Capacity reports how many pairs can be in use at once, and how many the
// range holds: fewer when the process's open-file limit (RLIMIT_NOFILE,
// which Go raises to the hard limit at start) cannot hold the whole range
// beside a reserve for everything else (see pairsWithin).
func (a *PortAllocator) Capacity() (pairs, inRange int) { return a.open, a.pairs }

// pairsWithin is how many RTP/RTCP pairs fit in an open-file limit of
// limit descriptors (0: unknown or unlimited) once a quarter of it, at
// least fdReserveMin, is kept for the rest of the PBX: SIP over TCP and
// TLS (a descriptor a phone), HTTP clients, the database, recordings and
// prompts being played. At least one pair.
func pairsWithin(limit int) int {
	if limit <= 0 {
		return math.MaxInt
	}
	reserve := max(limit/4, fdReserveMin)
	return max((limit-reserve)/2, 1)
}

const fdReserveMin = 256

// Allocate binds the next free RTP/RTCP pair. It returns an error wrapping
// ErrNoPorts when every pair is taken. Other bind errors (an IP that is not
// local, for instance) are returned as they are.
func (a *PortAllocator) Allocate() (*PortPair, error) {
	network := "udp4"
	if a.ip.Is6() {
		network = "udp6"
	}
	if p := a.rested(false); p != nil {
		return p, nil
	}
	// The pair is reserved under the lock and bound outside it: binding is
	// four system calls, and every call set-up allocates two pairs, so
	// binding under the lock made concurrent set-ups queue on it (a
	// sixth of all lock waiting at 1,500 set-ups/s).
	for tried := 0; ; tried++ {
		i, ok := a.reserve(tried)
		if !ok {
			if p := a.rested(true); p != nil {
				return p, nil // the range is taken: the pair released longest ago
			}
			if a.open < a.pairs {
				return nil, fmt.Errorf("%w: %d pairs of %d-%d open, all the open-file limit allows", ErrNoPorts,
					a.open, a.first, a.first+2*a.pairs-1)
			}
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
	if a.inUse+len(a.rest) >= a.open {
		return 0, false // every pair in use or resting: no need to look
	}
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

// rested hands out the pair released longest ago if it has rested
// ReuseAfter (or at all, when any is true), drained and ready to read, or
// returns nil. It also closes pairs that rested longer than idleFor.
func (a *PortAllocator) rested(any bool) *PortPair {
	a.mu.Lock()
	now := a.now()
	a.closeIdleLocked(now)
	if len(a.rest) == 0 || (!any && now.Sub(a.rest[0].releasedAt) < ReuseAfter) {
		a.mu.Unlock()
		return nil
	}
	old := a.rest[0]
	a.rest[0] = nil
	a.rest = a.rest[1:]
	a.inUse++
	a.mu.Unlock()
	// A new PortPair: the old one's holders may still call Release, which
	// must stay a no-op for them.
	p := &PortPair{RTP: old.RTP, RTCP: old.RTCP, ip: old.ip, port: old.port, owner: a}
	p.wake()
	return p
}

// closeIdleLocked closes the sockets of pairs that rested longer than
// idleFor and frees their ports.
func (a *PortAllocator) closeIdleLocked(now time.Time) {
	for len(a.rest) > 0 && now.Sub(a.rest[0].releasedAt) >= idleFor {
		p := a.rest[0]
		a.rest[0] = nil
		a.rest = a.rest[1:]
		p.RTP.Close()
		p.RTCP.Close()
		a.used[(p.port-a.first)/2] = false
	}
}

// Close closes the sockets of every resting pair; pairs released later
// are closed at once. The allocator still hands out pairs.
func (a *PortAllocator) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.shut = true
	for _, p := range a.rest {
		p.RTP.Close()
		p.RTCP.Close()
		a.used[(p.port-a.first)/2] = false
	}
	a.rest = nil
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

// release takes back a pair whose readers have stopped: it rests with
// its sockets open (see PortAllocator), or is closed after Close.
func (a *PortAllocator) release(p *PortPair) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := (p.port - a.first) / 2
	if !a.used[i] {
		return
	}
	a.inUse--
	if a.shut || !canRest {
		p.RTP.Close()
		p.RTCP.Close()
		a.used[i] = false
		return
	}
	p.releasedAt = a.now()
	a.rest = append(a.rest, p)
	a.closeIdleLocked(p.releasedAt)
}

// PortPair is a bound RTP socket on an even port and its RTCP socket on the
// next odd port. Release it when the call ends.
type PortPair struct {
	// RTP is bound to the even port.
	RTP *net.UDPConn
	// RTCP is bound to RTP's port + 1.
	RTCP *net.UDPConn

	ip         netip.Addr
	port       int
	owner      *PortAllocator
	once       sync.Once
	releasedAt time.Time // when it began to rest (see PortAllocator)
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

// Interrupt makes every read on the pair's sockets, blocked or to come,
// fail at once (with os.ErrDeadlineExceeded), so that its readers stop
// before Release. It does not close anything.
func (p *PortPair) Interrupt() {
	past := time.Unix(1, 0)
	p.RTP.SetReadDeadline(past)
	p.RTCP.SetReadDeadline(past)
}

// Release returns the pair to its allocator, which keeps its sockets open
// for a later call (see PortAllocator): nothing may read from or write to
// them after it. A reader blocked on them is interrupted first. A pair
// without an allocator is closed. It is idempotent and safe for
// concurrent use.
func (p *PortPair) Release() {
	p.once.Do(func() {
		p.Interrupt()
		if p.owner == nil {
			p.RTP.Close()
			p.RTCP.Close()
			return
		}
		p.owner.release(p)
	})
}

// wake readies a rested pair for its new call: reads block again, and
// what arrived while it rested (late packets of its last call) is gone.
func (p *PortPair) wake() {
	for _, c := range []*net.UDPConn{p.RTP, p.RTCP} {
		c.SetReadDeadline(time.Time{})
		drain(c)
	}
}
