package mailer

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// received is one message the test server accepted.
type received struct {
	From   string
	To     []string
	Data   []byte
	TLS    bool   // the message came over TLS (STARTTLS or implicit)
	Authed string // the user who authenticated, "" for none
}

// smtpServer is a small SMTP server for tests: EHLO with STARTTLS and AUTH
// PLAIN/LOGIN advertised, STARTTLS with a self-signed certificate, AUTH,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps what it accepts in msgs.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	cert     tls.Certificate
	roots    *x509.CertPool
	implicit bool   // TLS from the first byte
	user     string // when set, AUTH is required before MAIL
	pass     string
	noTLS    bool         // do not advertise STARTTLS
	mechs    string       // AUTH mechanisms advertised; default "PLAIN LOGIN"
	failData atomic.Int32 // answer this many DATA with 451
	msgs     chan received

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// testCert makes a self-signed certificate for 127.0.0.1 and localhost.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test smtp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

type serverOption func(*smtpServer)

func withAuth(user, pass string) serverOption {
	return func(s *smtpServer) { s.user, s.pass = user, pass }
}
func withImplicitTLS() serverOption { return func(s *smtpServer) { s.implicit = true } }
func withoutSTARTTLS() serverOption { return func(s *smtpServer) { s.noTLS = true } }

// startSMTP starts a server on addr ("127.0.0.1:0" for any port); it stops
// with the test.
func startSMTP(t *testing.T, addr string, opts ...serverOption) *smtpServer {
	t.Helper()
	cert, roots := testCert(t)
	s := &smtpServer{t: t, cert: cert, roots: roots, msgs: make(chan received, 16), conns: map[net.Conn]bool{}}
	for _, o := range opts {
		o(s)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *smtpServer) addr() string { return s.ln.Addr().String() }

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *smtpServer) tlsConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
}

func (s *smtpServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			if s.implicit {
				tc := tls.Server(c, s.tlsConfig())
				if err := tc.Handshake(); err != nil {
					return
				}
				c = tc
			}
			s.session(c, s.implicit, true)
		}()
	}
}

// session speaks SMTP on one connection.
func (s *smtpServer) session(c net.Conn, isTLS, greet bool) {
	tp := textproto.NewConn(c)
	reply := func(lines ...string) { tp.PrintfLine("%s", strings.Join(lines, "\r\n")) }
	if greet {
		reply("220 test.example ESMTP ready")
	}
	var cur received
	authed := ""
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"250-test.example"}
			if !isTLS && !s.noTLS {
				ext = append(ext, "250-STARTTLS")
			}
			mechs := s.mechs
			if mechs == "" {
				mechs = "PLAIN LOGIN"
			}
			ext = append(ext, "250-AUTH "+mechs, "250 8BITMIME")
			reply(ext...)
		case "STARTTLS":
			if isTLS || s.noTLS {
				reply("503 5.5.1 TLS already active")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(c, s.tlsConfig())
			if err := tc.Handshake(); err != nil {
				return
			}
			s.session(tc, true, false) // a fresh session, no new greeting (RFC 3207)
			return
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			var user, pass string
			switch strings.ToUpper(mech) {
			case "PLAIN":
				if initial == "" {
					reply("334 ")
					if initial, err = tp.ReadLine(); err != nil {
						return
					}
				}
				b, _ := base64.StdEncoding.DecodeString(initial)
				parts := strings.Split(string(b), "\x00")
				if len(parts) == 3 {
					user, pass = parts[1], parts[2]
				}
			case "LOGIN":
				reply("334 " + base64.StdEncoding.EncodeToString([]byte("Username:")))
				l, _ := tp.ReadLine()
				b, _ := base64.StdEncoding.DecodeString(l)
				user = string(b)
				reply("334 " + base64.StdEncoding.EncodeToString([]byte("Password:")))
				l, _ = tp.ReadLine()
				b, _ = base64.StdEncoding.DecodeString(l)
				pass = string(b)
			default:
				reply("504 5.5.4 unrecognized authentication type")
				continue
			}
			if s.user != "" && user == s.user && pass == s.pass {
				authed = user
				reply("235 2.7.0 authentication successful")
			} else {
				reply("535 5.7.8 authentication credentials invalid")
			}
		case "MAIL":
			if s.user != "" && authed == "" {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur = received{From: addrArg(arg), TLS: isTLS, Authed: authed}
			reply("250 2.1.0 ok")
		case "RCPT":
			cur.To = append(cur.To, addrArg(arg))
			reply("250 2.1.5 ok")
		case "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			if s.failData.Load() > 0 {
				s.failData.Add(-1)
				reply("451 4.3.0 temporary failure, try again later")
				continue
			}
			cur.Data = data
			s.msgs <- cur
			reply("250 2.0.0 queued")
		case "RSET":
			cur = received{}
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not recognized")
		}
	}
}

// addrArg takes the address out of "FROM:<a@b>" or "TO:<a@b>".
func addrArg(arg string) string {
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		if j := strings.IndexByte(arg[i:], '>'); j >= 0 {
			return arg[i+1 : i+j]
		}
	}
	return arg
}

// next waits for the next accepted message.
func (s *smtpServer) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no mail arrived within 10 s")
		return received{}
	}
}

// headerOf is a small helper for tests reading the raw message.
func headerOf(data []byte, name string) string {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	h, _ := r.ReadMIMEHeader()
	return h.Get(name)
}

// withCert serves a given certificate (one the client already trusts).
func withCert(cert tls.Certificate, roots *x509.CertPool) serverOption {
	return func(s *smtpServer) { s.cert, s.roots = cert, roots }
}

// withMechs advertises only the given AUTH mechanisms.
func withMechs(mechs string) serverOption { return func(s *smtpServer) { s.mechs = mechs } }
