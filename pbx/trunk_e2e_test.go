package pbx_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
	"github.com/officepbx/pbx/pbx/store"
)

// TestTrunkRegistersThroughPBX: a registering trunk saved in the store is
// registered by the running PBX (digest answered) and /metrics shows it;
// deleting it unregisters (expires 0).
func TestTrunkRegistersThroughPBX(t *testing.T) {
	p := pbxtest.Start(t)
	regs := make(chan *sip.Request, 32)
	pua, _ := sipgo.NewUA()
	t.Cleanup(func() { pua.Close() })
	srv, _ := sipgo.NewServer(pua)
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		if req.GetHeader("Authorization") == nil {
			res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="prov", nonce="n1", algorithm=MD5`))
			tx.Respond(res)
			return
		}
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.AppendHeader(sip.NewHeader("Expires", req.GetHeader("Expires").Value()))
		tx.Respond(res)
		regs <- req
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go srv.ServeUDP(conn)
	ctx := context.Background()
	tr := store.Trunk{Name: "pstn", Host: "127.0.0.1", Port: conn.LocalAddr().(*net.UDPAddr).Port,
		Username: "acme", Secret: "s3cret", Register: true, ExpiresSeconds: 60, Context: "from-pstn"}
	if err := p.App.Store.CreateTrunk(ctx, &tr); err != nil {
		t.Fatal(err)
	}
	req := <-regs
	if h := req.GetHeader("Authorization"); h == nil || !strings.Contains(h.Value(), `username="acme"`) {
		t.Fatalf("REGISTER without the trunk's credentials: %v", h)
	}
	if ct := req.Contact(); ct == nil || ct.Address.User != "acme" || ct.Address.Port == 0 {
		t.Fatalf("Contact %v", ct)
	}
	pbxtest.WaitFor(t, "trunk metric 1", func() bool {
		_, body := p.Do(http.MethodGet, "/metrics", nil)
		return strings.Contains(string(body), `pbx_trunk_registered{trunk="pstn"} 1`)
	})
	if err := p.App.Store.DeleteTrunk(ctx, "pstn"); err != nil {
		t.Fatal(err)
	}
	for r := range regs {
		if r.GetHeader("Expires").Value() == "0" {
			break
		}
	}
}
