package pbx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"
)

// resetTLSClose returns what closing the server end of a TLS connection
// returns after the client reset it: the close_notify alert cannot be
// sent. This is what sipgo's transports report when the PBX shuts down
// while a TLS phone has just gone: "connection reset by peer" when the
// reset was not yet read, "broken pipe" when it was (readFirst).
func resetTLSClose(t *testing.T, readFirst bool) error {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pbx"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			err = c.(*tls.Conn).Handshake()
		}
		if err != nil {
			if c != nil {
				c.Close()
			}
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept or handshake failed")
	}
	// The phone goes at once: a RST, no close_notify of its own.
	client.NetConn().(*net.TCPConn).SetLinger(0)
	client.NetConn().Close()
	if readFirst {
		server.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := server.Read(make([]byte, 1)); err == nil {
			t.Fatal("read after the reset succeeded")
		}
	}
	return server.Close()
}

func TestShutdownErrIgnoresPeersGone(t *testing.T) {
	for _, readFirst := range []bool{false, true} {
		reset := resetTLSClose(t, readFirst)
		if reset == nil {
			t.Fatal("closing a TLS connection the peer reset reported no error; the test proves nothing")
		}
		t.Logf("closing a reset TLS connection: %v", reset)
		if err := shutdownErr(reset); err != nil {
			t.Errorf("shutdownErr(%v) = %v, want nil", reset, err)
		}
		if err := shutdownErr(errors.Join(errors.Join(nil, net.ErrClosed), reset)); err != nil {
			t.Errorf("joined: %v, want nil", err)
		}
		other := errors.New("disk full")
		if err := shutdownErr(errors.Join(reset, other)); !errors.Is(err, other) || errors.Is(err, reset) {
			t.Errorf("joined with another error: %v, want only %v", err, other)
		}
	}
	if err := shutdownErr(nil); err != nil {
		t.Errorf("nil: %v", err)
	}
}
