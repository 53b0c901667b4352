package app_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/app"
)

// With HTTPTLS the API and console are served over HTTPS with the
// certificate in DATA/tls (made self-signed, shared with SIP TLS): the
// session cookie is Secure and answers carry HSTS; plain HTTP gets no API.
func TestHTTPSAdmin(t *testing.T) {
	dir := t.TempDir()
	a, err := app.Start(context.Background(), app.Config{
		DataDir: dir, SIPAddr: "127.0.0.1:0", SIPTLSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", HTTPTLS: true,
		RTPPorts: "21000-21099", ExternalIP: "127.0.0.1", AdminPassword: "https-admin-password", BcryptCost: 4, Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	if !strings.HasPrefix(a.HTTPURL(), "https://") {
		t.Fatalf("HTTPURL %s", a.HTTPURL())
	}
	if _, err := os.Stat(filepath.Join(dir, "tls", "cert.pem")); err != nil {
		t.Fatalf("no certificate made: %v", err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed
	res, err := client.Post(a.HTTPURL()+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"admin","password":"https-admin-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Set-Cookie"), "; Secure") ||
		res.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("login over HTTPS: %d, Set-Cookie %q, HSTS %q", res.StatusCode, res.Header.Get("Set-Cookie"),
			res.Header.Get("Strict-Transport-Security"))
	}
	if res.TLS == nil || len(res.TLS.PeerCertificates) == 0 {
		t.Fatal("not TLS")
	}
	// The SIP TLS listener serves the same certificate.
	conn, err := tls.Dial("tcp", a.SIPTLSAddr(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !conn.ConnectionState().PeerCertificates[0].Equal(res.TLS.PeerCertificates[0]) {
		t.Fatal("SIP TLS and HTTPS certificates differ")
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if res, err := plain.Get("http://" + a.HTTPAddr() + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered on the HTTPS port")
		}
	}
}
