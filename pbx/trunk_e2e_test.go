package pbx_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// TestTrunkRegistersThroughPBX: a registering trunk created through the API is
// registered by the running PBX (digest answered), the API's status and
// /metrics show it;
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
	p.MustDo(http.StatusCreated, http.MethodPost, "/api/v1/trunks", map[string]any{"name": "pstn", "host": "127.0.0.1",
		"port": conn.LocalAddr().(*net.UDPAddr).Port, "username": "acme", "secret": "s3cret", "register": true,
		"expires": 60, "context": "from-pstn"})
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
	pbxtest.WaitFor(t, "API status registered", func() bool {
		_, body := p.Do(http.MethodGet, "/api/v1/trunks/pstn", nil)
		return strings.Contains(string(body), `"state":"registered"`)
	})
	p.MustDo(http.StatusNoContent, http.MethodDelete, "/api/v1/trunks/pstn", nil)
	for r := range regs {
		if r.GetHeader("Expires").Value() == "0" {
			break
		}
	}
}
