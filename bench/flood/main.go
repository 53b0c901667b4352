// Command flood sends SIP junk at a PBX as fast as the kernel takes it: the
// load of an internet-facing PBX under a scan. Used by bench/garbage.sh.
//
// Each packet is, in turn, random bytes, a truncated SIP request, an
// OPTIONS from a scanner (User-Agent friendly-scanner) and a REGISTER from
// SIPVicious with a guessed password, each sent from one of the source
// addresses given (loopback aliases such as 127.0.0.2 need no set-up on
// Linux). It prints what it sent and how fast. Only loopback targets are
// accepted: this is a load tool for the machine it runs on.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	target := flag.String("target", "127.0.0.1:5060", "the PBX's SIP address (UDP; loopback only)")
	n := flag.Int("n", 10000, "packets to send")
	sources := flag.String("sources", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5", "comma-separated source addresses")
	kinds := flag.String("kinds", "random,truncated,options,register", "packet kinds, taken in turn: random, truncated, options (scanner), register (scanner)")
	flag.Parse()
	var ks []int
	for _, k := range strings.Split(*kinds, ",") {
		i := slices.Index(kindNames[:], strings.TrimSpace(k))
		if i < 0 {
			fmt.Fprintf(os.Stderr, "flood: unknown kind %q\n", k)
			os.Exit(2)
		}
		ks = append(ks, i)
	}
	if err := run(*target, *n, strings.Split(*sources, ","), ks); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

var kindNames = [4]string{"random", "truncated", "options", "register"}

func run(target string, n int, sources []string, use []int) error {
	dst, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return err
	}
	if !dst.IP.IsLoopback() {
		return fmt.Errorf("target %s is not a loopback address", target)
	}
	var conns []*net.UDPConn
	for _, s := range sources {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("source %q is not a loopback address", s)
		}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			return err
		}
		defer c.Close()
		conns = append(conns, c)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 1400)
	kinds := [4]int{}
	start := time.Now()
	for i := 0; i < n; i++ {
		c := conns[i%len(conns)]
		var pkt []byte
		kind := use[(i/len(conns))%len(use)]
		switch kind {
		case 0: // random bytes
			m := 20 + rng.IntN(len(junk)-20)
			for j := 0; j < m; j++ {
				junk[j] = byte(rng.UintN(256))
			}
			pkt = junk[:m]
		case 1: // a request cut short
			r := request("INVITE", c.LocalAddr().String(), dst.String(), "Linphone/5.0", i)
			pkt = []byte(r[:20+rng.IntN(len(r)-40)])
		case 2:
			pkt = []byte(request("OPTIONS", c.LocalAddr().String(), dst.String(), "friendly-scanner", i))
		case 3:
			pkt = []byte(request("REGISTER", c.LocalAddr().String(), dst.String(), "SIPVicious 0.3.4", i))
		}
		kinds[kind]++
		if _, err := c.WriteToUDP(pkt, dst); err != nil {
			return err
		}
	}
	el := time.Since(start)
	fmt.Printf("sent %d packets (random %d, truncated %d, scanner OPTIONS %d, scanner REGISTER %d) from %d sources in %v: %.0f packets/s\n",
		n, kinds[0], kinds[1], kinds[2], kinds[3], len(conns), el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

func request(method, from, to, ua string, i int) string {
	return fmt.Sprintf("%s sip:%d@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-flood-%d\r\nMax-Forwards: 70\r\n"+
		"From: <sip:%d@%s>;tag=f%d\r\nTo: <sip:%d@%s>\r\nCall-ID: flood-%d@%s\r\nCSeq: 1 %s\r\n"+
		"Contact: <sip:%d@%s>\r\nUser-Agent: %s\r\n"+
		"Authorization: Digest username=\"%d\", realm=\"pbx\", nonce=\"x\", uri=\"sip:%s\", response=\"00000000000000000000000000000000\"\r\n"+
		"Content-Length: 0\r\n\r\n",
		method, 100+i%900, to, from, i, 100+i%900, to, i, 100+i%900, to, i, from, method, 100+i%900, from, ua, 100+i%900, to)
}
