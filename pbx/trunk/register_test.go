package trunk

import (
	"crypto/md5"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/officepbx/pbx/pbx/store"
)

// provider is a registrar on loopback: it challenges every REGISTER with
// 401, accepts the right answer, or refuses all with 403 while down.
type provider struct {
	mu     sync.Mutex
	down   bool
	oks    int
	events chan string
}

func md5hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

func (p *provider) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		p.events <- "403"
		return
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="prov", nonce="n1", algorithm=MD5`))
		tx.Respond(res)
		return
	}
	cred, err := digest.ParseCredentials(h.Value())
	want := md5hex(md5hex("acme:prov:s3cret") + ":n1:" + md5hex("REGISTER:"+cred.URI))
	if err != nil || cred.Username != "acme" || cred.Response != want {
		tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Bad credentials", nil))
		p.events <- "bad"
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Expires", req.GetHeader("Expires").Value()))
	tx.Respond(res)
	p.events <- "ok " + req.GetHeader("Expires").Value()
}

func TestRegistrationChallengeRefreshFailRecover(t *testing.T) {
	p := &provider{events: make(chan string, 64)}
	pua, _ := sipgo.NewUA()
	defer pua.Close()
	srv, _ := sipgo.NewServer(pua)
	srv.OnRegister(p.onRegister)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go srv.ServeUDP(conn)
	port := conn.LocalAddr().(*net.UDPAddr).Port

	ua, _ := sipgo.NewUA()
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(Config{Client: client, Contact: func(string) sip.Uri { return sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5060} },
		Backoff: Backoff{Min: 100 * time.Millisecond, Max: 400 * time.Millisecond}, Timeout: 2 * time.Second})
	defer m.Close()
	tr := store.Trunk{Name: "pstn", Host: "127.0.0.1", Port: port, Transport: "udp", Username: "acme", Secret: "s3cret",
		Register: true, ExpiresSeconds: 5}
	m.Sync([]store.Trunk{tr})
	next := func(want string) {
		t.Helper()
		select {
		case ev := <-p.events:
			if ev != want {
				t.Fatalf("provider saw %q, want %q", ev, want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("provider never saw %q", want)
		}
	}
	next("ok 5")
	waitStatus(t, m, StateRegistered)
	next("ok 5") // the refresh, before the 5 s expiry
	if st, _ := m.Status("pstn"); st.Registrations < 1 {
		t.Fatalf("status %+v", st)
	}
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	next("403")
	st := waitStatus(t, m, StateFailed)
	if st.LastError == "" || st.NextRetry.IsZero() {
		t.Fatalf("failed status without error or retry: %+v", st)
	}
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
	waitStatus(t, m, StateRegistered)
	var b strings.Builder
	m.WriteMetrics(&b)
	if want := `pbx_trunk_registered{trunk="pstn"} 1`; !strings.Contains(b.String(), want) {
		t.Fatalf("metrics lack %s:\n%s", want, b.String())
	}
	// Removing the trunk unregisters it (expires 0).
	m.Sync(nil)
	for {
		select {
		case ev := <-p.events:
			if ev == "ok 0" {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no unregister")
		}
	}
}

func waitStatus(t *testing.T, m *Manager, state string) Status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := m.Status("pstn"); st.State == state {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, _ := m.Status("pstn")
	t.Fatalf("status %+v, want %s", st, state)
	return st
}
