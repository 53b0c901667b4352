package pbx

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/pbx/store"
)

// fakeTx is a server transaction that records what the handler answered.
type fakeTx struct {
	mu        sync.Mutex
	responses []*sip.Response
}

func (f *fakeTx) Respond(res *sip.Response) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.responses = append(f.responses, res)
	return nil
}
func (f *fakeTx) Acks() <-chan *sip.Request          { return nil }
func (f *fakeTx) OnCancel(sip.FnTxCancel) bool       { return false }
func (f *fakeTx) Terminate()                         {}
func (f *fakeTx) OnTerminate(sip.FnTxTerminate) bool { return false }
func (f *fakeTx) Done() <-chan struct{}              { return nil }
func (f *fakeTx) Err() error                         { return nil }

// openTestStore opens a fresh database that closes with the test.
func openTestStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "pbx.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	st := openTestStore(t)
	if err := st.CreateExtension(context.Background(), &store.Extension{Number: "101", Secret: "s3cret-pass",
		AuthAlgorithms: []string{AlgMD5}, RingSeconds: 20, Outbound: "internal"}); err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), Config{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// FuzzSIPRequestHandlers feeds arbitrary bytes through the SIP parser and,
// when they parse as a request, through the engine's handlers: nothing may
// panic, and every request but ACK gets exactly one final answer.
func FuzzSIPRequestHandlers(f *testing.F) {
	seeds := []string{
		"REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bK1;rport\r\nFrom: <sip:101@pbx>;tag=1\r\nTo: <sip:101@pbx>\r\nCall-ID: a\r\nCSeq: 1 REGISTER\r\nContact: <sip:101@1.2.3.4>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n",
		"REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK2\r\nFrom: <sip:101@pbx>;tag=1\r\nTo: <sip:101@pbx>\r\nCall-ID: a\r\nCSeq: 2 REGISTER\r\nContact: *\r\nExpires: 0\r\nAuthorization: Digest username=\"101\", realm=\"pbx\", nonce=\"x\", uri=\"sip:pbx\", response=\"00\", qop=auth, nc=1, cnonce=\"c\"\r\nContent-Length: 0\r\n\r\n",
		"OPTIONS sip:pbx SIP/2.0\r\nVia: SIP/2.0/TCP 1.2.3.4;branch=z9hG4bK3\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:pbx>\r\nCall-ID: b\r\nCSeq: 1 OPTIONS\r\nRequire: foo\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:102@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK4\r\nFrom: <sip:101@pbx>;tag=1\r\nTo: <sip:102@pbx>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"REGISTER sip:pbx SIP/2.0\r\nTo: <sip:@pbx>\r\nExpires: abc\r\n\r\n",
		"REFER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK5\r\nFrom: <sip:101@pbx>;tag=1\r\nTo: <sip:102@pbx>;tag=2\r\nCall-ID: c\r\nCSeq: 2 REFER\r\nRefer-To: <sip:103@pbx?Replaces=c%3Bto-tag%3D2%3Bfrom-tag%3D1>\r\nContent-Length: 0\r\n\r\n",
		"BYE sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK6\r\nFrom: <sip:101@pbx>;tag=1\r\nTo: <sip:102@pbx>;tag=2\r\nCall-ID: c\r\nCSeq: 3 BYE\r\nContent-Length: 0\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	e := newTestEngine(f)
	parser := sip.NewParser()
	handlers := map[sip.RequestMethod]func(*sip.Request, sip.ServerTransaction){
		sip.REGISTER: e.onRegister, sip.OPTIONS: e.onOptions,
		// In-dialog requests that name no live call.
		sip.REFER: e.onRefer, sip.BYE: e.onBye, sip.INFO: e.onInfo, sip.UPDATE: e.onTargetRefresh,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		req.SetSource("192.0.2.10:5060")
		req.SetTransport("UDP")
		h, ok := handlers[req.Method]
		if !ok {
			h = e.onNoRoute
		}
		tx := &fakeTx{}
		e.handle(h)(req, tx)
		if req.IsAck() {
			return
		}
		if len(tx.responses) != 1 {
			t.Fatalf("%s answered %d times", req.Method, len(tx.responses))
		}
		if c := tx.responses[0].StatusCode; c < 200 || c > 699 {
			t.Fatalf("%s answered with %d", req.Method, c)
		}
	})
}
