//go:build unix

package media

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var benchCalls = flag.Int("calls", 100, "concurrent calls in BenchmarkRelayCalls")

// loadPhonesEnv tells a re-executed test binary to be the phones of
// BenchmarkRelayCalls; its value is the number of packets each sends.
const loadPhonesEnv = "MEDIA_LOAD_PHONES"

// warmUpPackets are not counted for loss: sent before both legs latched.
const warmUpPackets = 10

// BenchmarkRelayCalls bridges -calls concurrent G.711 calls (PCMU on leg A,
// PCMA on leg B, so every packet is transcoded) and drives each with two
// fake phones sending 20 ms packets at 50 packets/s, paced by tickers.
// One iteration is one 20 ms packet period, so -benchtime=10s gives about
// ten seconds of traffic.
//
// The phones run in a child process (this test binary re-executed) so
// that cpu-cores is what the relay alone used, measured with getrusage
// over the sending window; phones-cpu-cores is the child's. The phones'
// SDP addresses are left unknown, so every leg latches on the phone's
// first packet; loss% counts the packets lost end to end after the first
// warmUpPackets of each phone, which may go before the far leg latched.
// The target is 500
// calls with under 0.1% loss and under one core:
//
//	go test -run '^$' -bench RelayCalls -benchtime=10s ./media/ -calls=500
func BenchmarkRelayCalls(b *testing.B) {
	alloc, err := NewPortAllocator(loopback, 30000, 39999)
	if err != nil {
		b.Fatal(err)
	}
	defer alloc.Close()
	relays := make([]*Relay, *benchCalls)
	var legs strings.Builder
	for i := range relays {
		pa, err := alloc.Allocate()
		if err != nil {
			b.Fatal(err)
		}
		pb, err := alloc.Allocate()
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewRelay(Config{
			A: LegConfig{Ports: pa, PayloadType: PayloadPCMU},
			B: LegConfig{Ports: pb, PayloadType: PayloadPCMA},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		relays[i] = r
		fmt.Fprintf(&legs, "%s %s\n", pa.LocalRTP(), pb.LocalRTP())
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadPhones$")
	cmd.Env = append(os.Environ(), loadPhonesEnv+"="+strconv.Itoa(b.N))
	cmd.Stdin = strings.NewReader(legs.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var (
		before, after syscall.Rusage
		start         time.Time
		wall          time.Duration
		sent, recvd   float64
	)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 1 && f[0] == "start":
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			start = time.Now()
		case len(f) == 2 && f[0] == "sent":
			wall = time.Since(start)
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			b.StopTimer()
			sent, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "received":
			recvd, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("phones: %v", err)
	}
	if wall == 0 {
		b.Fatal("phones did not report the end of sending")
	}
	cpu := rusageCPU(&after) - rusageCPU(&before)
	phonesCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	b.ReportMetric(float64(len(relays)), "calls")
	b.ReportMetric(100*(sent-recvd)/max(sent, 1), "loss%")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-cores")
	b.ReportMetric(phonesCPU.Seconds()/wall.Seconds(), "phones-cpu-cores")
	warm := float64(2 * len(relays) * min(b.N, warmUpPackets))
	b.ReportMetric((sent+warm)/wall.Seconds(), "pkts/s")
	var gaps uint64
	for _, r := range relays {
		s := r.Stats()
		gaps += s.AToB.Lost + s.BToA.Lost
	}
	b.ReportMetric(float64(gaps), "seq-gaps")
}

func rusageCPU(r *syscall.Rusage) time.Duration {
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// TestLoadPhones is not a test: it is the phones' side of
// BenchmarkRelayCalls, run in a child process. It reads one line per call
// ("relayA relayB" RTP addresses) and, for each, runs two phones that send
// PCMU every 20 ms and count what comes back. It prints "start", then
// "sent N" when sending ends, then "received M".
func TestLoadPhones(t *testing.T) {
	periods, err := strconv.Atoi(os.Getenv(loadPhonesEnv))
	if err != nil {
		t.Skip("only run by BenchmarkRelayCalls")
	}
	type phoneLeg struct {
		conn  *net.UDPConn
		relay netip.AddrPort
	}
	var phones []phoneLeg
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		for _, f := range strings.Fields(in.Text()) {
			conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			phones = append(phones, phoneLeg{conn, netip.MustParseAddrPort(f)})
		}
	}
	ulaw := encodeUlaw(sine(1000, 8000, 0, 160))
	alaw := encodeAlaw(sine(1000, 8000, 0, 160))
	var sent, received atomic.Int64
	var senders, receivers sync.WaitGroup
	fmt.Println("start")
	for i, p := range phones {
		senders.Add(1)
		receivers.Add(1)
		go func() {
			defer receivers.Done()
			var buf [maxPacket]byte
			for got := 0; got < periods-warmUpPackets; {
				n, _, err := p.conn.ReadFromUDPAddrPort(buf[:])
				if err != nil {
					return // the drain deadline passed
				}
				// The relay keeps the first source's sequence numbers.
				if n >= rtpHeaderSize && binary.BigEndian.Uint16(buf[2:]) >= warmUpPackets {
					received.Add(1)
					got++
				}
			}
		}()
		go func() {
			defer senders.Done()
			// Odd phones are on leg B, which negotiated PCMA.
			pt, payload := PayloadPCMU, ulaw
			if i%2 == 1 {
				pt, payload = PayloadPCMA, alaw
			}
			ph := &phone{t: t, ssrc: uint32(i + 1)}
			pkt := ph.packet(pt, payload, false, 160)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for n := 0; n < periods; n++ {
				<-tick.C
				binary.BigEndian.PutUint16(pkt[2:], uint16(n))
				binary.BigEndian.PutUint32(pkt[4:], uint32(n*160))
				if _, err := p.conn.WriteToUDPAddrPort(pkt, p.relay); err == nil && n >= warmUpPackets {
					sent.Add(1)
				}
			}
		}()
	}
	senders.Wait()
	fmt.Println("sent", sent.Load())
	drain := time.Now().Add(time.Second)
	for _, p := range phones {
		p.conn.SetReadDeadline(drain)
	}
	receivers.Wait()
	fmt.Println("received", received.Load())
}
