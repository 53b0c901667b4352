package media

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// srtpPhone is the keying of a test phone that speaks SRTP: its own key
// (it encrypts with it) and the PBX's (it decrypts with it).
type srtpPhone struct {
	enc, dec   *srtp.Context
	cfg        SRTPConfig // the endpoint's side of the keying
	phoneKey   []byte
	endpointKy []byte
}

func newSRTPPhone(t testing.TB, suite string) *srtpPhone {
	t.Helper()
	pk, ek := make([]byte, SRTPKeyLen), make([]byte, SRTPKeyLen)
	rand.Read(pk)
	rand.Read(ek)
	profile, err := suiteProfile(suite)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := srtp.CreateContext(pk[:16], pk[16:], profile)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.CreateContext(ek[:16], ek[16:], profile)
	if err != nil {
		t.Fatal(err)
	}
	return &srtpPhone{enc: enc, dec: dec, cfg: SRTPConfig{Suite: suite, LocalKey: ek, RemoteKey: pk}, phoneKey: pk, endpointKy: ek}
}

// TestRelaySRTPToRTP relays a tone between an SRTP phone (A) and a plain
// RTP phone (B) both ways: B hears A's tone decrypted, A receives B's
// tone encrypted (the plain payload is not on the wire) and decrypts it;
// SRTCP from A reaches B as RTCP and B's RTCP reaches A as SRTCP. A packet
// with a broken authentication tag is dropped.
func TestRelaySRTPToRTP(t *testing.T) {
	for _, suite := range []string{SuiteAES128SHA1_80, SuiteAES128SHA1_32} {
		t.Run(suite, func(t *testing.T) {
			a, b := newPhone(t, 1111), newPhone(t, 2222)
			sp := newSRTPPhone(t, suite)
			r := relayFor(t, newAllocator(t), a, b, nil)
			if err := r.Endpoint(SideA).SetSRTP(&sp.cfg); err != nil {
				t.Fatal(err)
			}
			toA, toB := r.ends[SideA].leg.ports.LocalRTP(), r.ends[SideB].leg.ports.LocalRTP()
			const frames = 20
			sent := sine(1000, 8000, 0, frames*160)

			// A (SRTP) to B (RTP); one forged packet on the way.
			var got []int16
			for i := 0; i < frames; i++ {
				plain := a.packet(PayloadPCMU, encodeUlaw(sent[i*160:(i+1)*160]), false, 160)
				enc, err := sp.enc.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				if i == 3 {
					forged := append([]byte(nil), enc...)
					forged[len(forged)-1] ^= 1
					a.sendRaw(toA, forged)
				}
				a.sendRaw(toA, enc)
			}
			for i := 0; i < frames; i++ {
				p, _ := b.recv()
				got = append(got, decodeUlaw(p.Payload)...)
			}
			if d := db(energy(got) / energy(sent)); math.Abs(d) > 1 {
				t.Errorf("A to B: energy changed by %.2f dB", d)
			}

			// B (RTP) to A (SRTP).
			for i := 0; i < frames; i++ {
				b.send(toB, PayloadPCMU, encodeUlaw(sent[i*160:(i+1)*160]))
			}
			got = got[:0]
			for i := 0; i < frames; i++ {
				var buf [maxPacket]byte
				a.rtp.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, _, err := a.rtp.ReadFromUDPAddrPort(buf[:])
				if err != nil {
					t.Fatal(err)
				}
				plainPayload := encodeUlaw(sent[i*160 : (i+1)*160])
				if bytes.Contains(buf[:n], plainPayload) {
					t.Fatalf("packet %d to the SRTP phone carries the plain payload", i)
				}
				dec, err := sp.dec.DecryptRTP(nil, buf[:n], nil)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				var p rtp.Packet
				if err := p.Unmarshal(dec); err != nil {
					t.Fatal(err)
				}
				got = append(got, decodeUlaw(p.Payload)...)
			}
			if d := db(energy(got) / energy(sent)); math.Abs(d) > 1 {
				t.Errorf("B to A: energy changed by %.2f dB", d)
			}
			if s := r.Stats(); s.AToB.Dropped != 1 || s.AToB.Packets != frames {
				t.Errorf("A to B stats %+v, want one forged packet dropped", s.AToB)
			}

			// RTCP both ways.
			rr := []byte{0x80, 201, 0, 1, 0, 0, 0, 1}
			enc, err := sp.enc.EncryptRTCP(nil, rr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.rtcp.WriteToUDPAddrPort(enc, r.ends[SideA].leg.ports.LocalRTCP()); err != nil {
				t.Fatal(err)
			}
			var buf [200]byte
			b.rtcp.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := b.rtcp.ReadFromUDPAddrPort(buf[:])
			if err != nil || !bytes.Equal(buf[:n], rr) {
				t.Fatalf("B got RTCP % x (%v), want % x", buf[:n], err, rr)
			}
			if _, err := b.rtcp.WriteToUDPAddrPort(rr, r.ends[SideB].leg.ports.LocalRTCP()); err != nil {
				t.Fatal(err)
			}
			a.rtcp.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err = a.rtcp.ReadFromUDPAddrPort(buf[:])
			if err != nil {
				t.Fatal(err)
			}
			dec, err := sp.dec.DecryptRTCP(nil, buf[:n], nil)
			if err != nil || !bytes.Equal(dec, rr) {
				t.Fatalf("A got SRTCP decrypting to % x (%v), want % x", dec, err, rr)
			}
		})
	}
}

func TestSetSRTPValidation(t *testing.T) {
	e := newEndpoint(EndpointConfig{Leg: LegConfig{PayloadType: PayloadPCMU}})
	key := make([]byte, SRTPKeyLen)
	for _, cfg := range []SRTPConfig{
		{Suite: "AES_256_CM_HMAC_SHA1_80", LocalKey: key, RemoteKey: key},
		{Suite: SuiteAES128SHA1_80, LocalKey: key[:16], RemoteKey: key},
		{Suite: SuiteAES128SHA1_80, LocalKey: key},
	} {
		if err := e.SetSRTP(&cfg); !errors.Is(err, ErrSRTP) {
			t.Errorf("%s: %v, want ErrSRTP", cfg.Suite, err)
		}
	}
	if e.SRTP() {
		t.Fatal("endpoint speaks SRTP after bad configurations")
	}
}

// srtpDirection is A (SRTP) bridged to B (plain RTP) without sockets, and
// a phone's encrypted packet for A.
func srtpDirection(t testing.TB) (*Endpoint, *srtpPhone, *phone) {
	sp := newSRTPPhone(t, SuiteAES128SHA1_80)
	d := testDirection(PayloadPCMU, PayloadPCMA)
	if err := d.SetSRTP(&sp.cfg); err != nil {
		t.Fatal(err)
	}
	return d, sp, newPhone(t, 5)
}

// TestSRTPProcessNoAllocs: decrypting, relaying and encrypting a packet
// allocate nothing.
func TestSRTPProcessNoAllocs(t *testing.T) {
	d, sp, p := srtpDirection(t)
	s := d.srtp.Load()
	peer := d.Peer()
	if err := peer.SetSRTP(&sp.cfg); err != nil { // encrypt towards B too
		t.Fatal(err)
	}
	ps := peer.srtp.Load()
	from := p.addr()
	var seq uint16
	src := p.packet(PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)), false, 160)
	var enc [maxPacket]byte
	var phoneHdr rtp.Header
	var now time.Duration
	allocs := testing.AllocsPerRun(1000, func() {
		binary.BigEndian.PutUint16(src[2:], seq)
		seq++
		in, _ := sp.enc.EncryptRTP(enc[:0], src, &phoneHdr)
		plain, ok := s.decryptRTP(in)
		if !ok {
			t.Fatal("decrypt failed")
		}
		now += 20 * time.Millisecond
		pkt, _, ok := d.process(plain, from, now)
		if !ok {
			t.Fatal("not relayed")
		}
		d := ps.enc
		d.mu.Lock()
		_, err := d.ctx.EncryptRTP(d.buf[:0], pkt, &d.hdr)
		d.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	})
	if !allocFree(allocs, 3) {
		t.Fatalf("%v allocs per packet", allocs)
	}
}

// BenchmarkSRTPRelay measures the relay's work on one packet from an SRTP
// phone to a plain RTP one and back into SRTP: decrypt and authenticate,
// process (PCMU to PCMA), encrypt and authenticate. Compare with
// BenchmarkRelayProcess for the cost of SRTP.
func BenchmarkSRTPRelay(b *testing.B) {
	d, sp, p := srtpDirection(b)
	peer := d.Peer()
	if err := peer.SetSRTP(&sp.cfg); err != nil {
		b.Fatal(err)
	}
	s, ps := d.srtp.Load(), peer.srtp.Load()
	from := p.addr()
	src := p.packet(PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)), false, 160)
	// Encrypt the phone's packets beforehand: the phone's work is not the
	// relay's.
	const n = 4096
	pkts := make([][]byte, n)
	for i := range pkts {
		binary.BigEndian.PutUint16(src[2:], uint16(i))
		pkts[i], _ = sp.enc.EncryptRTP(nil, src, nil)
	}
	buf := make([]byte, maxPacket)
	var now time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%n == 0 && i > 0 {
			b.StopTimer() // a fresh stream: replay protection would drop the repeats
			s, _ = newSRTPLeg(sp.cfg, nil)
			b.StartTimer()
		}
		in := buf[:copy(buf, pkts[i%n])]
		plain, ok := s.decryptRTP(in)
		if !ok {
			b.Fatal("decrypt failed")
		}
		now += 20 * time.Millisecond
		pkt, _, ok := d.process(plain, from, now)
		if !ok {
			b.Fatal("not relayed")
		}
		d := ps.enc
		d.mu.Lock()
		_, _ = d.ctx.EncryptRTP(d.buf[:0], pkt, &d.hdr)
		d.mu.Unlock()
	}
}

// TestSRTPSocketPathNoAllocs counts allocations of the whole process while
// SRTP packets go phone A -> relay -> phone B over loopback, decrypted on
// A's leg and encrypted again on B's.
func TestSRTPSocketPathNoAllocs(t *testing.T) {
	a, b := newPhone(t, 1), newPhone(t, 2)
	sa, sb := newSRTPPhone(t, SuiteAES128SHA1_80), newSRTPPhone(t, SuiteAES128SHA1_32)
	r := relayFor(t, newAllocator(t), a, b, func(c *Config) {
		c.B.PayloadType = PayloadPCMA
		c.A.SRTP, c.B.SRTP = &sa.cfg, &sb.cfg
	})
	to := r.ends[SideA].leg.ports.LocalRTP()
	plain := a.packet(PayloadPCMU, encodeUlaw(sine(1000, 8000, 0, 160)), false, 160)
	var enc, buf, dec [maxPacket]byte
	var hdr, decHdr rtp.Header
	roundTrip := func() {
		binary.BigEndian.PutUint16(plain[2:], a.seq)
		a.seq++
		pkt, err := sa.enc.EncryptRTP(enc[:0], plain, &hdr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.rtp.WriteToUDPAddrPort(pkt, to); err != nil {
			t.Fatal(err)
		}
		n, _, err := b.rtp.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sb.dec.DecryptRTP(dec[:0], buf[:n], &decHdr); err != nil {
			t.Fatalf("B cannot decrypt: %v", err)
		}
	}
	roundTrip() // latch, first-packet work, SSRC state
	allocs := testing.AllocsPerRun(500, roundTrip)
	if !allocFree(allocs, 4) {
		t.Fatalf("%v allocs per relayed packet, want 0", allocs)
	}
}

// allocFree reports whether allocs per packet is none. Under the race
// detector sync.Pool drops items at random, so each of the pion calls
// that borrows from its XOR-buffer pool (pionCalls a packet) may
// allocate; anything beyond that is a real allocation.
func allocFree(allocs float64, pionCalls int) bool {
	if raceEnabled {
		return allocs <= float64(pionCalls)
	}
	return allocs == 0
}

// TestSetSRTPKeepsUnchangedDirection: new keying that changes only the
// phone's key keeps the context the PBX encrypts with (its packet index
// and rollover counter go on, no key stream is used twice), and the
// other way round.
func TestSetSRTPKeepsUnchangedDirection(t *testing.T) {
	e := newEndpoint(EndpointConfig{Leg: LegConfig{PayloadType: PayloadPCMU}})
	k1, k2, k3 := bytes.Repeat([]byte{1}, SRTPKeyLen), bytes.Repeat([]byte{2}, SRTPKeyLen), bytes.Repeat([]byte{3}, SRTPKeyLen)
	if err := e.SetSRTP(&SRTPConfig{Suite: SuiteAES128SHA1_80, LocalKey: k1, RemoteKey: k2}); err != nil {
		t.Fatal(err)
	}
	first := e.srtp.Load()
	if err := e.SetSRTP(&SRTPConfig{Suite: SuiteAES128SHA1_80, LocalKey: k1, RemoteKey: k2}); err != nil || e.srtp.Load() != first {
		t.Fatalf("the same keys again replaced the contexts (%v)", err)
	}
	if err := e.SetSRTP(&SRTPConfig{Suite: SuiteAES128SHA1_80, LocalKey: k1, RemoteKey: k3}); err != nil {
		t.Fatal(err)
	}
	second := e.srtp.Load()
	if second.enc != first.enc || second.dec == first.dec {
		t.Fatal("a new phone key: want the same encrypting context and a new decrypting one")
	}
	if err := e.SetSRTP(&SRTPConfig{Suite: SuiteAES128SHA1_80, LocalKey: k2, RemoteKey: k3}); err != nil {
		t.Fatal(err)
	}
	third := e.srtp.Load()
	if third.enc == second.enc || third.dec != second.dec {
		t.Fatal("a new PBX key: want a new encrypting context and the same decrypting one")
	}
	if err := e.SetSRTP(&SRTPConfig{Suite: SuiteAES128SHA1_32, LocalKey: k2, RemoteKey: k3}); err != nil {
		t.Fatal(err)
	}
	if fourth := e.srtp.Load(); fourth.enc == third.enc || fourth.dec == third.dec {
		t.Fatal("a new suite kept a context")
	}
	keys, ok := e.SRTPKeys()
	if !ok || keys.Suite != SuiteAES128SHA1_32 || !bytes.Equal(keys.LocalKey, k2) {
		t.Fatalf("SRTPKeys %+v %v", keys, ok)
	}
	if e.SetSRTP(nil); e.SRTP() {
		t.Fatal("SetSRTP(nil) left SRTP on")
	}
}
