package pbx

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// statelessUDP answers REGISTER and OPTIONS that arrive over UDP, and
// the digest challenge to a phone's first INVITE of a call (the INVITE
// without credentials), without sipgo's transaction layer, as Kamailio
// answers them with sl_send_reply.
// Through the transaction layer each request cost a goroutine, a server
// transaction with its context, timers and FSM, and a connection lookup,
// only for the handler to terminate the transaction at once (the
// registrar and OPTIONS are stateless by design, see onRegister): at
// thousands of registrations a second that was a third of the PBX's CPU.
//
// The transport's read filter (readFilter) hands the datagram to one of a
// few workers, which parse it with sipgo's parser and run the usual
// handler (with the checks of Engine.handle) against a statelessTx that
// writes the response straight to the listening socket. Everything else,
// and UDP requests that find every worker busy, take sipgo's path as
// before. Retransmissions are simply answered again. Stateless answers
// carry a To tag made from the request (RFC 3261 section 8.2.7) and marked
// as ours, so the ACK a phone sends for a stateless 407 (or 503) is
// recognised at the door and dropped, as a stateless UAS must.
type statelessUDP struct {
	e      *Engine
	conn   net.PacketConn // the UDP listener; set by Serve before it reads
	laddr  net.Addr       // conn.LocalAddr(), what the read filter is told
	parser *sip.Parser
	jobs   chan statelessJob
	bufs   sync.Pool // *bytes.Buffer for serialised responses
	// fastBufs: *[]byte for the REGISTER fast path's responses.
	fastBufs sync.Pool
	// The handlers, wrapped once in Engine.handle's checks.
	register, options, invite func(*sip.Request, sip.ServerTransaction)

	// seen holds the sources whose first datagram went through sipgo.
	// sipgo learns a UDP source's address (its connection pool maps it
	// to the listener) only from datagrams the read filter lets through,
	// and sends its own requests to a phone (INVITE, NOTIFY) from the
	// listener only when it knows the address: a phone heard of only by
	// the stateless path would be called from a new socket, which a phone
	// behind NAT never hears. Bounded: when full it starts afresh, and
	// forgotten sources just take sipgo's path once more.
	mu   sync.Mutex
	seen map[string]struct{}

	// Overload (see overloaded): when the kernel holds more unread SIP
	// than the PBX can work off, new unauthenticated INVITEs are refused
	// here with 503 instead of joining the queue.
	checkedAt atomic.Int64 // UnixNano of the last look at the socket
	over      atomic.Bool
}

// The receive queue's fill (of the socket's buffer: the kernel counts 8 MB
// for the 4 MB app.go asks for) at which shedding starts, and at which it
// stops again. Idle and at every load the PBX keeps up with, the queue is
// empty; an eighth (tried first) also shed at 1,000 set-ups/s, which the
// PBX carries.
const (
	shedAbove = 1.0 / 2
	shedBelow = 1.0 / 8
)

const maxSeenSources = 1 << 16

type statelessJob struct {
	data   []byte // a copy: the transport reuses its read buffer
	src    net.Addr
	source string // src.String()
	h      func(*sip.Request, sip.ServerTransaction)
}

// statelessWorkers is how many requests are handled at once; a full
// queue sends the overflow through the transaction layer instead.
const (
	statelessWorkers = 8
	statelessQueue   = 1024
)

func newStatelessUDP(e *Engine) *statelessUDP {
	s := &statelessUDP{e: e, parser: sip.NewParser(), jobs: make(chan statelessJob, statelessQueue),
		seen: map[string]struct{}{}, register: e.handle(e.onRegister), options: e.handle(e.onOptions),
		invite: e.handle(e.onInviteChallenge)}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	s.fastBufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	return s
}

// run starts the workers; they stop when ctx ends.
func (s *statelessUDP) run(ctx context.Context, conn net.PacketConn, wg *sync.WaitGroup) {
	s.conn, s.laddr = conn, conn.LocalAddr()
	serveJobs(ctx, statelessWorkers, wg, s.jobs, s.serve)
}

// take is called by the read filter with a datagram the guard let in. It
// reports whether the datagram is now the stateless path's.
func (s *statelessUDP) take(props sip.TransportReadProps, data []byte) bool {
	// Only the listener's own datagrams (a *net.UDPConn hands out the same
	// address value each time): a request on a socket sipgo dialled itself
	// must be answered from that socket, so it keeps sipgo's path.
	if s.conn == nil || props.LocalAddr != s.laddr || (props.Transport != "UDP" && props.Transport != "udp") {
		return false
	}
	var h func(*sip.Request, sip.ServerTransaction)
	register := false
	switch {
	case bytes.HasPrefix(data, []byte("REGISTER ")):
		h, register = s.register, true
	case bytes.HasPrefix(data, []byte("OPTIONS ")):
		h = s.options
	case bytes.HasPrefix(data, []byte("INVITE ")):
		if s.overloaded() && s.shed(props.RemoteAddr, data) {
			return true
		}
		if !uncredentialedInvite(data) || s.fromTrunk(props.RemoteAddr) {
			return false
		}
		h = s.invite
	case bytes.HasPrefix(data, []byte("ACK ")):
		return statelessAck(data) // nothing to do: drop it
	default:
		return false
	}
	source := props.RemoteAddr.String() // formatted once: the seen key and the request's Source
	if !s.known(source) {
		return false
	}
	if ua, ok := props.RemoteAddr.(*net.UDPAddr); ok && register && s.fastRegister(data, ua, source) {
		return true // answered on the read loop (fastreg.go)
	}
	select {
	case s.jobs <- statelessJob{data: bytes.Clone(data), src: props.RemoteAddr, source: source, h: h}:
		return true
	default:
		return false // every worker busy: the transaction layer takes it
	}
}

// overloaded reports whether the listener's kernel receive queue is
// backed up, looking at it at most once a millisecond. Past one core's
// worth of work, set-ups had collapsed instead of levelling off: the
// transaction layer's goroutines queue on its one lock, the read loop
// falls behind, the kernel drops datagrams, phones retransmit, and most
// calls time out (docs/benchmarks.md). Refusing new calls at the door
// keeps the ones admitted going.
func (s *statelessUDP) overloaded() bool {
	now := time.Now().UnixNano()
	if last := s.checkedAt.Load(); now-last >= int64(time.Millisecond) && s.checkedAt.CompareAndSwap(last, now) {
		if fill, ok := receiveBacklog(s.conn); ok {
			switch {
			case fill > shedAbove:
				s.over.Store(true)
			case fill < shedBelow:
				s.over.Store(false)
			}
		}
	}
	return s.over.Load()
}

// shed answers a new INVITE 503 with Retry-After, statelessly, and
// reports whether it did. Only an INVITE that starts a call and carries
// no credentials is refused: a phone sends that first and is challenged,
// so no transaction or call of the PBX exists for it yet (an
// authenticated INVITE may be the retransmission of one the PBX is
// working on, and passes).
func (s *statelessUDP) shed(src net.Addr, data []byte) bool {
	req, err := s.parse(data, src.String())
	if err != nil || req == nil || !req.IsInvite() || req.Via() == nil {
		return false // sipgo logs and drops what does not parse
	}
	if to := req.To(); to == nil || to.Params.Has("tag") ||
		req.GetHeader("Proxy-Authorization") != nil || req.GetHeader("Authorization") != nil {
		return false
	}
	s.e.metrics.countRequest(req.Method)
	s.e.metrics.overloadRefused.Add(1)
	res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable (overloaded)", nil)
	res.AppendHeader(sip.NewHeader("Retry-After", "2"))
	res.AppendHeader(sip.NewHeader("Server", s.e.cfg.UserAgent))
	_ = newStatelessTx(s, req, src).Respond(res)
	return true
}

// fromTrunk reports whether src is a trunk's address: a trunk's INVITE
// is not challenged (onTrunkInvite), so it keeps the transaction layer.
func (s *statelessUDP) fromTrunk(src net.Addr) bool {
	ua, ok := src.(*net.UDPAddr)
	if !ok {
		return true // cannot tell: the transaction layer decides
	}
	if s.e.trunks == nil {
		return false // an engine without trunks (unit tests)
	}
	ap := ua.AddrPort()
	_, ok = s.e.trunks.Match(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	return ok
}

// known reports whether a datagram from source (an address's String)
// already went through sipgo (see seen), and marks it as having done so
// if not.
func (s *statelessUDP) known(source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[source]; ok {
		return true
	}
	if len(s.seen) >= maxSeenSources {
		clear(s.seen)
	}
	s.seen[source] = struct{}{}
	return false
}

func (s *statelessUDP) serve(j statelessJob) {
	req, err := s.parse(j.data, j.source)
	if err != nil {
		s.e.log.Debug("unparsable request dropped", "source", j.source, "error", err)
		return
	}
	if req != nil {
		j.h(req, newStatelessTx(s, req, j.src))
	}
}

// parse parses a datagram from source (its address's String) as sipgo's
// transport would hand it on; a response gives a nil request.
func (s *statelessUDP) parse(data []byte, source string) (*sip.Request, error) {
	msg, err := s.parser.ParseSIP(data)
	if err != nil {
		return nil, err
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return nil, nil
	}
	req.SetTransport("UDP")
	req.SetSource(source)
	return req, nil
}

// responseAddr is where a response to a request received over UDP goes
// (RFC 3261 section 18.2.2, RFC 3581 section 4), as sipgo's transaction
// layer sends it: the source address, and the source port when the top Via
// asks for rport, else the Via's sent-by port (5060 by default).
func responseAddr(req *sip.Request, src net.Addr) net.Addr {
	via := req.Via()
	if via == nil {
		return src
	}
	_, rport := via.Params.Get("rport")
	return viaResponseAddr(src, rport, via.Port)
}

// viaResponseAddr is responseAddr's rule for a top Via that asks for
// rport or not, with sent-by port port (0: none given).
func viaResponseAddr(src net.Addr, rport bool, port int) net.Addr {
	ua, ok := src.(*net.UDPAddr)
	if !ok || rport {
		return src
	}
	if port <= 0 {
		port = 5060
	}
	if port == ua.Port {
		return src
	}
	return &net.UDPAddr{IP: ua.IP, Port: port, Zone: ua.Zone}
}

// statelessTx is the sip.ServerTransaction a stateless handler answers
// through: Respond writes the response to the listening socket; there is
// no state to terminate, no ACK and no CANCEL to wait for.
type statelessTx struct {
	s     *statelessUDP
	dst   net.Addr
	toTag string // set on the response's To unless the request's To has a tag
}

func newStatelessTx(s *statelessUDP, req *sip.Request, src net.Addr) *statelessTx {
	t := &statelessTx{s: s, dst: responseAddr(req, src)}
	if to := req.To(); to != nil && !to.Params.Has("tag") {
		t.toTag = statelessTag(req)
	}
	return t
}

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *statelessTx) Respond(res *sip.Response) error {
	if to := res.To(); to != nil && t.toTag != "" {
		to.Params.Add("tag", t.toTag)
	}
	b := t.s.bufs.Get().(*bytes.Buffer)
	b.Reset()
	res.StringWrite(b)
	_, err := t.s.conn.WriteTo(b.Bytes(), t.dst)
	t.s.bufs.Put(b)
	return err
}

func (t *statelessTx) Terminate()                         {}
func (t *statelessTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (t *statelessTx) Done() <-chan struct{}              { return closedDone }
func (t *statelessTx) Err() error                         { return nil }
func (t *statelessTx) Acks() <-chan *sip.Request          { return nil }
func (t *statelessTx) OnCancel(sip.FnTxCancel) bool       { return false }

// statelessTagPrefix marks the To tags of stateless answers (statelessTag)
// so that the ACK for one is known without any state (statelessAck). The
// PBX's other tags are sipgo's UUIDs and random letters, never this.
const statelessTagPrefix = "sl-pbx-"

// statelessTag is the To tag of a stateless answer to req: the same for
// every retransmission of the request, as RFC 3261 section 8.2.7 asks of
// a stateless UAS (a hash of Call-ID, From tag and the top Via's branch).
func statelessTag(req *sip.Request) string {
	var parts [3]string
	n := 1
	if c := req.CallID(); c != nil {
		parts[0] = c.Value()
	}
	if f := req.From(); f != nil {
		parts[n], _ = f.Params.Get("tag")
		n++
	}
	if v := req.Via(); v != nil {
		parts[n], _ = v.Params.Get("branch")
		n++
	}
	return string(appendStatelessTag(nil, parts[:n]...))
}

// appendStatelessTag appends the tag for the parts statelessTag hashes:
// FNV-1a over them, a zero byte between each two. The REGISTER fast path
// calls it with the same parts read from the datagram.
func appendStatelessTag(b []byte, parts ...string) []byte {
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	for i, p := range parts {
		if i > 0 {
			h *= prime64 // the zero byte: h ^= 0, then the multiply
		}
		for j := 0; j < len(p); j++ {
			h ^= uint64(p[j])
			h *= prime64
		}
	}
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], h)
	b = append(b, statelessTagPrefix...)
	return hex.AppendEncode(b, sum[:])
}

// eachHeader calls f with the name and value of each header line of a SIP
// datagram, up to the blank line, until f returns false. It reports false
// for what it cannot read with certainty (no request line, a line without
// a colon, a folded continuation line); callers then leave the datagram to
// sipgo's parser.
func eachHeader(data []byte, f func(name, value []byte) bool) bool {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return false
	}
	rest := data[i+1:]
	for len(rest) > 0 {
		line := rest
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			line, rest = rest[:j], rest[j+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return true // the end of the headers
		}
		if line[0] == ' ' || line[0] == '\t' {
			return false // folded: the header's value goes on here
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		if !f(bytes.TrimRight(line[:colon], " \t"), line[colon+1:]) {
			return true
		}
	}
	return true
}

var tagWord = [][]byte{[]byte("tag")}

// uncredentialedInvite reports whether an INVITE datagram certainly opens
// a dialog without credentials: one To header, with no tag, and neither
// Proxy-Authorization nor Authorization. It errs towards false: "tag"
// anywhere in the To line, or anything eachHeader cannot read, says false.
func uncredentialedInvite(data []byte) bool {
	tos, ok := 0, true
	read := eachHeader(data, func(name, value []byte) bool {
		switch {
		case bytes.EqualFold(name, []byte("to")), bytes.EqualFold(name, []byte("t")):
			tos++
			if containsFold(value, tagWord) {
				ok = false
			}
		case bytes.EqualFold(name, []byte("proxy-authorization")), bytes.EqualFold(name, []byte("authorization")):
			ok = false
		}
		return ok
	})
	return read && ok && tos == 1
}

// statelessAck reports whether an ACK datagram acknowledges a stateless
// answer: its To tag is one statelessTag made.
func statelessAck(data []byte) bool {
	found := false
	eachHeader(data, func(name, value []byte) bool {
		if bytes.EqualFold(name, []byte("to")) || bytes.EqualFold(name, []byte("t")) {
			found = bytes.Contains(value, []byte(";tag="+statelessTagPrefix))
			return false
		}
		return true
	})
	return found
}
