package media

import (
	"net/netip"
	"testing"
	"time"
)

// FuzzRelayProcess feeds arbitrary datagrams to the relay's per-packet
// path: it must never panic, and what it forwards must be the same size
// with a rewritten, valid RTP header.
func FuzzRelayProcess(f *testing.F) {
	p := newPhone(f, 9)
	f.Add(p.packet(PayloadPCMU, make([]byte, 160), false, 160))
	f.Add(p.packet(101, []byte{5, 0x80, 0, 160}, true, 0))
	f.Add(p.packet(PayloadCN, []byte{40}, false, 0))
	f.Add([]byte{0xb0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0})
	f.Add([]byte{0xa0, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3})
	from := netip.MustParseAddrPort("127.0.0.1:5000")
	f.Fuzz(func(t *testing.T, b []byte) {
		d := testDirection(PayloadPCMU, PayloadPCMA)
		pkt := append([]byte(nil), b...)
		out, _, ok := d.process(pkt, from, 20*time.Millisecond)
		if !ok {
			return
		}
		if len(out) != len(b) || out[0]>>6 != 2 {
			t.Fatalf("forwarded % x from % x", out, b)
		}
		if pt := out[1] & 0x7f; pt != PayloadPCMA && pt != 96 && pt != PayloadCN {
			t.Fatalf("forwarded payload type %d", pt)
		}
	})
}
