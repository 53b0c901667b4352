package media

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var loopback = netip.MustParseAddr("127.0.0.1")

func TestNewPortAllocatorRange(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
		pairs    int
		wantErr  bool
	}{
		{"even-odd", 21000, 21009, 5, false},
		{"odd min rounds up", 21001, 21009, 4, false},
		{"even max drops lone RTP port", 21000, 21010, 5, false},
		{"single pair", 21000, 21001, 1, false},
		{"no room for RTCP", 21000, 21000, 0, true},
		{"odd single", 21001, 21002, 0, true},
		{"inverted", 21010, 21000, 0, true},
		{"zero", 0, 10, 0, true},
		{"too high", 65534, 65536, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewPortAllocator(loopback, tt.min, tt.max)
			if tt.wantErr {
				if !errors.Is(err, ErrPortRange) {
					t.Fatalf("err = %v, want ErrPortRange", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.pairs != tt.pairs {
				t.Errorf("pairs = %d, want %d", a.pairs, tt.pairs)
			}
		})
	}
}

func TestPortAllocatorExhaustionAndRelease(t *testing.T) {
	a, err := NewPortAllocator(loopback, 21100, 21105) // 3 pairs
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var got []*PortPair
	for {
		p, err := a.Allocate()
		if errors.Is(err, ErrNoPorts) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.RTPPort()%2 != 0 || p.RTCPPort() != p.RTPPort()+1 {
			t.Fatalf("pair %d/%d not even/odd", p.RTPPort(), p.RTCPPort())
		}
		if got := p.RTP.LocalAddr().(*net.UDPAddr).Port; got != p.RTPPort() {
			t.Fatalf("RTP socket on %d, want %d", got, p.RTPPort())
		}
		if got := p.RTCP.LocalAddr().(*net.UDPAddr).Port; got != p.RTCPPort() {
			t.Fatalf("RTCP socket on %d, want %d", got, p.RTCPPort())
		}
		got = append(got, p)
	}
	if len(got) != 3 || a.InUse() != 3 {
		t.Fatalf("allocated %d, InUse %d; want 3", len(got), a.InUse())
	}
	got[1].Release()
	got[1].Release() // idempotent
	if a.InUse() != 2 {
		t.Fatalf("InUse after release = %d, want 2", a.InUse())
	}
	// The only free pair is the released one: it is reused.
	p, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if p.RTPPort() != got[1].RTPPort() {
		t.Errorf("reused %d, want %d", p.RTPPort(), got[1].RTPPort())
	}
	p.Release()
	for _, p := range got {
		p.Release()
	}
	if a.InUse() != 0 {
		t.Fatalf("InUse = %d, want 0", a.InUse())
	}
}

func TestPortAllocatorRoundRobin(t *testing.T) {
	a, err := NewPortAllocator(loopback, 21200, 21209)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p1, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	port1 := p1.RTPPort()
	p1.Release()
	p2, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Release()
	if p2.RTPPort() == port1 {
		t.Fatalf("just-freed port %d reused at once", port1)
	}
}

func TestPortAllocatorSkipsForeignPorts(t *testing.T) {
	// Another process (here: a plain socket) holds the first RTCP port.
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 21301})
	if err != nil {
		t.Skipf("cannot bind test port: %v", err)
	}
	defer other.Close()
	a, err := NewPortAllocator(loopback, 21300, 21303)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	if p.RTPPort() != 21302 {
		t.Fatalf("got %d, want 21302", p.RTPPort())
	}
	if _, err := a.Allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("err = %v, want ErrNoPorts", err)
	}
	// The RTP port of the skipped pair must not stay bound by us.
	if c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 21300}); err != nil {
		t.Fatalf("port 21300 left bound: %v", err)
	} else {
		c.Close()
	}
}

func TestPortAllocatorBadIP(t *testing.T) {
	a, err := NewPortAllocator(netip.MustParseAddr("192.0.2.1"), 21400, 21409)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate(); err == nil || errors.Is(err, ErrNoPorts) {
		t.Fatalf("err = %v, want a bind error", err)
	}
}

func TestPortAllocatorConcurrent(t *testing.T) {
	a, err := NewPortAllocator(loopback, 21500, 21539) // 20 pairs
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		held = map[int]bool{}
	)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				p, err := a.Allocate()
				if errors.Is(err, ErrNoPorts) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if held[p.RTPPort()] {
					t.Errorf("port %d handed out twice", p.RTPPort())
				}
				held[p.RTPPort()] = true
				mu.Unlock()

				mu.Lock()
				delete(held, p.RTPPort())
				mu.Unlock()
				p.Release()
			}
		}()
	}
	wg.Wait()
	if a.InUse() != 0 {
		t.Fatalf("InUse = %d after all released", a.InUse())
	}
}

// A released pair rests with its sockets open and is handed out again
// once it has rested ReuseAfter: the same ports, emptied of what arrived
// meanwhile, reading again. Its old holder's Release stays a no-op, pairs
// resting past idleFor are closed, and so are all after Close.
func TestPortAllocatorReusesRestedPairs(t *testing.T) {
	a, err := NewPortAllocator(loopback, 21600, 21609) // 5 pairs
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	clock := time.Unix(1000, 0)
	a.now = func() time.Time { return clock }
	p1, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	// Release interrupts a reader blocked on the pair.
	readErr := make(chan error, 1)
	go func() {
		_, _, err := p1.RTP.ReadFromUDPAddrPort(make([]byte, 1500))
		readErr <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the reader block
	p1.Release()
	if err := <-readErr; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blocked read after Release: %v, want a deadline error", err)
	}
	if a.InUse() != 0 {
		t.Fatalf("InUse = %d after release, want 0", a.InUse())
	}
	// A late packet of the finished call arrives while the pair rests.
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	late := net.UDPAddrFromAddrPort(p1.LocalRTP())
	if _, err := phone.WriteTo([]byte("late packet of the old call"), late); err != nil {
		t.Fatal(err)
	}
	// Not yet rested: a fresh pair.
	p2, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if p2.RTPPort() == p1.RTPPort() {
		t.Fatalf("pair %d reused before it rested", p1.RTPPort())
	}
	clock = clock.Add(ReuseAfter)
	p3, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if p3.RTPPort() != p1.RTPPort() || p3.RTP != p1.RTP || p3.RTCP != p1.RTCP {
		t.Fatalf("got pair %d (same sockets: %v), want the rested %d", p3.RTPPort(), p3.RTP == p1.RTP, p1.RTPPort())
	}
	p1.Release() // the old holder again: must not hand p3's sockets out
	if a.InUse() != 2 {
		t.Fatalf("InUse = %d after a stale Release, want 2", a.InUse())
	}
	if _, err := phone.WriteTo([]byte("new"), late); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	p3.RTP.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := p3.RTP.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("read on the reused pair: %v", err)
	}
	if got := string(buf[:n]); got != "new" {
		t.Fatalf("reused pair read %q, want only the new call's packet", got)
	}
	p3.RTP.SetReadDeadline(time.Time{})

	// Resting past idleFor closes the sockets and frees the ports.
	port2 := p2.RTPPort()
	p2.Release()
	clock = clock.Add(idleFor)
	p4, err := a.Allocate() // closes p2's pair, then reuses nothing rested
	if err != nil {
		t.Fatal(err)
	}
	if p4.RTPPort() == port2 {
		t.Fatalf("pair %d handed out after idling, want it closed", port2)
	}
	if c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port2}); err != nil {
		t.Fatalf("idle pair's port %d still bound: %v", port2, err)
	} else {
		c.Close()
	}

	// Close closes resting pairs, and later releases close at once.
	p3.Release()
	a.Close()
	p4.Release()
	for _, port := range []int{p3.RTPPort(), p3.RTCPPort(), p4.RTPPort(), p4.RTCPPort()} {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			t.Fatalf("port %d still bound after Close: %v", port, err)
		}
		c.Close()
	}
	if a.InUse() != 0 {
		t.Fatalf("InUse = %d at the end, want 0", a.InUse())
	}
}

func TestPairsWithin(t *testing.T) {
	for _, tt := range []struct{ limit, want int }{
		{0, math.MaxInt},   // unknown or unlimited
		{1024, 384},        // (1024 - 256) / 2
		{20000, 7500},      // (20000 - 5000) / 2
		{1 << 20, 3 << 17}, // 393,216: more than any range
		{100, 1},           // at least one pair
		{512, 128},         // the reserve's floor: (512 - 256) / 2
		{65536, (65536 * 3 / 4) / 2},
	} {
		if got := pairsWithin(tt.limit); got != tt.want {
			t.Errorf("pairsWithin(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
}

// The pairs with open sockets, in use or resting, stay within the
// open-file capacity: past it Allocate fails as on a full range, and a
// resting pair is handed out again at once rather than a new one bound.
func TestPortAllocatorOpenFileCapacity(t *testing.T) {
	a, err := NewPortAllocator(loopback, 21700, 21709) // 5 pairs
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if pairs, inRange := a.Capacity(); inRange != 5 || pairs != min(5, pairsWithin(openFileLimit())) {
		t.Fatalf("Capacity() = %d, %d; want the range's 5 within the process's limit", pairs, inRange)
	}
	a.open = 2 // as under an open-file limit of 260: (260 - 256) / 2
	p1, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	p2, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Allocate()
	if !errors.Is(err, ErrNoPorts) || !strings.Contains(err.Error(), "open-file limit") {
		t.Fatalf("third pair: err = %v, want ErrNoPorts naming the open-file limit", err)
	}
	p1.Release() // rests, sockets open: still counts against the capacity
	p3, err := a.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if p3.RTP != p1.RTP || p3.RTPPort() != p1.RTPPort() {
		t.Fatalf("got pair %d, want the resting %d handed out again", p3.RTPPort(), p1.RTPPort())
	}
	if a.InUse() != 2 {
		t.Fatalf("InUse = %d, want 2", a.InUse())
	}
	// A port of the range beyond the capacity was never bound.
	for port := 21704; port <= 21709; port++ {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			t.Fatalf("port %d taken although the capacity is two pairs: %v", port, err)
		}
		c.Close()
	}
	p2.Release()
	p3.Release()
}
