package pbxtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// UA is a scriptable SIP user agent: a phone under the test's control. It
// listens on its own loopback port (so the PBX can reach it at its contact)
// and authenticates with digest like a desk phone.
type UA struct {
	t         testing.TB
	User      string
	Secret    string
	Transport string // "udp" or "tcp"
	// Algorithms the phone understands, in preference order; it answers the
	// first challenge it supports. Default: MD5 only, like most phones.
	Algorithms []string
	// Tone is the frequency (Hz) of the tone the phone sends in calls.
	// Default 440.
	Tone float64
	// Codecs are the G.711 payload types the phone offers and accepts, in
	// preference order. Default PCMU, PCMA.
	Codecs []uint8
	// EventPT is the payload type the phone offers and answers for
	// telephone-event/8000 (RFC 4733). Default 101; 0 offers none (a
	// phone sending DTMF in-band or by SIP INFO).
	EventPT uint8
	// LocalIP is the loopback address the UA's SIP socket binds to.
	// Default 127.0.0.1; another (127.0.0.2) makes it a different source.
	LocalIP string
	// SRTP: the phone offers and answers SRTP keyed by SDES (WithSRTP).
	SRTP bool

	pbxHost string
	pbxPort int
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	client  *sipgo.Client
	laddr   string

	mu          sync.Mutex
	received    map[sip.RequestMethod]int
	callID      string
	cseq        uint32
	fromTag     string
	policy      Policy
	calls       map[string]*Call // by Call-ID
	incoming    chan *Call
	closing     bool
	msgs        inbox            // MESSAGEs received (message.go)
	notify      notifyRouter     // event subscriptions, by Call-ID (subscribe.go)
	unsolicited unsolicitedInbox // out-of-dialog NOTIFYs: unsolicited MWI (subscribe.go)

	ctx    context.Context // ends when the UA closes
	cancel context.CancelFunc
	wg     sync.WaitGroup // call goroutines
}

// UAOption configures a UA.
type UAOption func(*UA)

// WithTransport picks "udp" (default), "tcp" or "tls" (the PBX must listen
// on TLS: pbxtest.WithTLS; the UA accepts its self-signed certificate).
func WithTransport(tp string) UAOption { return func(u *UA) { u.Transport = tp } }

// WithAlgorithms sets the digest algorithms the UA supports, preferred first.
func WithAlgorithms(algs ...string) UAOption { return func(u *UA) { u.Algorithms = algs } }

// WithTone sets the frequency of the tone the UA sends in calls.
func WithTone(freq float64) UAOption { return func(u *UA) { u.Tone = freq } }

// WithCodecs sets the codecs (PCMU, PCMA) the UA offers and accepts.
func WithCodecs(pts ...uint8) UAOption { return func(u *UA) { u.Codecs = pts } }

// WithLocalIP binds the UA's SIP socket to another loopback address, so
// the PBX sees it as a different source.
func WithLocalIP(ip string) UAOption { return func(u *UA) { u.LocalIP = ip } }

// WithEventPT sets the payload type the UA uses for telephone-event.
func WithEventPT(pt uint8) UAOption { return func(u *UA) { u.EventPT = pt } }

// NewUA starts a user agent for extension user with the given SIP secret,
// pointed at the PBX. It is closed when the test ends.
func (p *PBX) NewUA(user, secret string, opts ...UAOption) *UA {
	p.t.Helper()
	u := &UA{t: p.t, User: user, Secret: secret, Transport: "udp", Algorithms: []string{"MD5"},
		callID: sip.GenerateTagN(24), cseq: 1, fromTag: sip.GenerateTagN(12),
		Tone: 440, Codecs: []uint8{PCMU, PCMA}, EventPT: defaultEventPT, LocalIP: "127.0.0.1",
		calls: map[string]*Call{}, incoming: make(chan *Call, 32)}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	for _, o := range opts {
		o(u)
	}
	pbxAddr := p.SIPAddr
	if u.Transport == "tls" {
		if pbxAddr = p.App.SIPTLSAddr(); pbxAddr == "" {
			p.t.Fatal("UA over TLS: start the PBX with pbxtest.WithTLS()")
		}
	}
	host, portStr, err := net.SplitHostPort(pbxAddr)
	if err != nil {
		p.t.Fatalf("pbx address: %v", err)
	}
	u.pbxHost = host
	u.pbxPort, _ = strconv.Atoi(portStr)
	u.ua, err = sipgo.NewUA(sipgo.WithUserAgent("pbxtest-ua"),
		// The test PBX's certificate is self-signed.
		sipgo.WithUserAgenTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		p.t.Fatalf("ua: %v", err)
	}
	u.srv, err = sipgo.NewServer(u.ua)
	if err != nil {
		p.t.Fatalf("ua server: %v", err)
	}
	// Like a phone: answer OPTIONS (keep-alive / qualify) with 200.
	u.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		u.count(req.Method)
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	u.srv.OnInvite(u.onInvite)
	u.srv.OnAck(u.onAck)
	u.srv.OnBye(u.onBye)
	u.srv.OnCancel(u.onCancel)
	u.srv.OnInfo(u.onInfo)
	u.srv.OnMessage(u.onMessage)
	u.srv.OnNotify(u.onNotify)
	switch u.Transport {
	case "udp":
		conn, err := net.ListenPacket("udp", net.JoinHostPort(u.LocalIP, "0"))
		if err != nil {
			p.t.Fatalf("ua listen: %v", err)
		}
		u.laddr = conn.LocalAddr().String()
		p.t.Cleanup(func() { conn.Close() })
		go u.srv.ServeUDP(conn)
		// Requests go out from the listening socket (as a phone's do), so
		// wait until the transport has it.
		for i := 0; ; i++ {
			if c, _ := u.ua.TransportLayer().GetConnection("udp", u.laddr); c != nil {
				break
			}
			if i == 1000 {
				p.t.Fatalf("ua: UDP listener %s never came up", u.laddr)
			}
			time.Sleep(time.Millisecond)
		}
		u.client, err = sipgo.NewClient(u.ua, sipgo.WithClientConnectionAddr(u.laddr), sipgo.WithClientNAT())
	case "tcp", "tls":
		ln, err := net.Listen("tcp", net.JoinHostPort(u.LocalIP, "0"))
		if err != nil {
			p.t.Fatalf("ua listen: %v", err)
		}
		u.laddr = ln.Addr().String()
		p.t.Cleanup(func() { ln.Close() })
		if u.Transport == "tcp" {
			go u.srv.ServeTCP(ln)
		}
		u.client, err = sipgo.NewClient(u.ua, sipgo.WithClientHostname(u.LocalIP), sipgo.WithClientNAT())
	default:
		p.t.Fatalf("ua transport %q: want udp or tcp", u.Transport)
	}
	if err != nil {
		p.t.Fatalf("ua client: %v", err)
	}
	p.t.Cleanup(func() { u.ua.Close() })
	p.t.Cleanup(u.closeCalls) // before the UA closes
	return u
}

func (u *UA) count(m sip.RequestMethod) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.received == nil {
		u.received = map[sip.RequestMethod]int{}
	}
	u.received[m]++
}

// Received reports how many requests of method the UA has been sent.
func (u *UA) Received(method sip.RequestMethod) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.received[method]
}

// Contact is the URI the UA registers.
func (u *UA) Contact() string {
	c := "sip:" + u.User + "@" + u.laddr
	if u.Transport != "udp" {
		c += ";transport=" + u.Transport
	}
	return c
}

// Register registers the UA's contact for expires seconds, answering a
// digest challenge, and returns the final response.
func (u *UA) Register(ctx context.Context, expires int) (*sip.Response, error) {
	return u.RegisterContacts(ctx, expires, "<"+u.Contact()+">")
}

// Unregister removes every binding of the extension (Contact: *).
func (u *UA) Unregister(ctx context.Context) (*sip.Response, error) {
	return u.RegisterContacts(ctx, 0, "*")
}

// RegisterContacts sends REGISTER with the given Contact header values
// (none: a query) and Expires header, answering one digest challenge.
func (u *UA) RegisterContacts(ctx context.Context, expires int, contacts ...string) (*sip.Response, error) {
	return u.Do(ctx, func() *sip.Request { return u.RegisterRequest(expires, contacts...) })
}

// RegisterRequest builds a REGISTER with the given Contact values and an
// Expires header (none when expires < 0), without credentials.
func (u *UA) RegisterRequest(expires int, contacts ...string) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: u.pbxHost, Port: u.pbxPort})
	u.addDialogHeaders(req, sip.REGISTER)
	for _, c := range contacts {
		req.AppendHeader(sip.NewHeader("Contact", c))
	}
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	}
	return req
}

// Options sends OPTIONS to the PBX.
func (u *UA) Options(ctx context.Context) (*sip.Response, error) {
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: u.pbxHost, Port: u.pbxPort})
	u.addDialogHeaders(req, sip.OPTIONS)
	return u.Send(ctx, req)
}

// Do sends the request build makes; on a 401/407 challenge it builds the
// request again with credentials for the first challenge whose algorithm
// the UA supports, and returns the final response to that.
func (u *UA) Do(ctx context.Context, build func() *sip.Request) (*sip.Response, error) {
	res, err := u.Send(ctx, build())
	if err != nil || (res.StatusCode != sip.StatusUnauthorized && res.StatusCode != sip.StatusProxyAuthRequired) {
		return res, err
	}
	req := build()
	if err := u.Authorize(req, res); err != nil {
		return nil, err
	}
	return u.Send(ctx, req)
}

// Authorize adds credentials answering challenge response res to req.
func (u *UA) Authorize(req *sip.Request, res *sip.Response) error {
	name, hdr := "WWW-Authenticate", "Authorization"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		name, hdr = "Proxy-Authenticate", "Proxy-Authorization"
	}
	chal, err := u.pickChallenge(res.GetHeaders(name))
	if err != nil {
		return err
	}
	cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.Addr(),
		Username: u.User, Password: u.Secret, Count: 1})
	if err != nil {
		return err
	}
	req.RemoveHeader(hdr)
	req.AppendHeader(sip.NewHeader(hdr, cred.String()))
	return nil
}

func (u *UA) pickChallenge(hdrs []sip.Header) (*digest.Challenge, error) {
	var offered []string
	for _, alg := range u.Algorithms {
		for _, h := range hdrs {
			chal, err := digest.ParseChallenge(h.Value())
			if err != nil {
				return nil, fmt.Errorf("parse challenge %q: %w", h.Value(), err)
			}
			a := strings.ToUpper(chal.Algorithm)
			if a == "" {
				a = "MD5"
			}
			if a == alg {
				return chal, nil
			}
		}
	}
	for _, h := range hdrs {
		offered = append(offered, h.Value())
	}
	return nil, fmt.Errorf("no challenge for %v among %q", u.Algorithms, offered)
}

func (u *UA) addDialogHeaders(req *sip.Request, method sip.RequestMethod) {
	u.mu.Lock()
	u.cseq++
	seq := u.cseq
	u.mu.Unlock()
	aor := sip.Uri{Scheme: "sip", User: u.User, Host: u.pbxHost}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", u.fromTag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	cid := sip.CallIDHeader(u.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	req.AppendHeader(sip.NewHeader("User-Agent", "pbxtest-ua"))
}

// Send sends req to the PBX as it is and returns the final response.
func (u *UA) Send(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	u.toPBX(req)
	return u.client.Do(ctx, req)
}

// toPBX addresses req to the PBX over the UA's transport.
func (u *UA) toPBX(req *sip.Request) {
	req.SetTransport(strings.ToUpper(u.Transport))
	req.SetDestination(net.JoinHostPort(u.pbxHost, strconv.Itoa(u.pbxPort)))
}
