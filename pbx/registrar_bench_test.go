package pbx_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/officepbx/pbx/pbx/pbxtest"
)

// BenchmarkAuthenticatedRegister measures one full authenticated
// registration (REGISTER, 401, REGISTER with MD5 digest, 200) over loopback
// UDP against the whole PBX (its sipgo stack, registrar, location service
// and write-behind), from bare-bones clients in a child process: "clients"
// of them, each one registration at a time. Besides wall time it reports
// CPU per registration from getrusage, which a shared machine disturbs far
// less than ns/op: pbx-cpu-µs/reg is this process's user+system CPU (the
// PBX, the test harness idle), client-cpu-µs/reg the child's. GC runs at
// 400% as under `pbx serve`.
func BenchmarkAuthenticatedRegister(b *testing.B) {
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchRegister(b, clients) })
	}
}

// regClientEnv carries a regBench to the child process the benchmark
// starts (see TestMain).
const regClientEnv = "PBX_BENCH_REGISTER_CLIENTS"

type regBench struct {
	Addr    string
	Names   []string
	Secrets []string
	N       int
	Clients int
}

// runRegisterClients is the child process: it registers N times from
// Clients sockets and reports the first failure.
func runRegisterClients(spec string) error {
	var rb regBench
	if err := json.Unmarshal([]byte(spec), &rb); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, rb.Clients)
	for c := 0; c < rb.Clients; c++ {
		conn, err := net.Dial("udp", rb.Addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		cl := &regClient{conn: conn, local: conn.LocalAddr().String(), pbxAddr: rb.Addr,
			buf: make([]byte, 4096), msg: make([]byte, 0, 1024)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < rb.N; i += rb.Clients {
				u := i % len(rb.Names)
				if err := cl.register(i, rb.Names[u], rb.Secrets[u]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// regClient is one bare-bones registering phone: it builds its messages
// into reused buffers so that its own cost stays small.
type regClient struct {
	conn           net.Conn
	local, pbxAddr string
	buf, msg       []byte
	hexs           [3][32]byte
}

func (c *regClient) exchange() ([]byte, error) {
	if _, err := c.conn.Write(c.msg); err != nil {
		return nil, err
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.conn.Read(c.buf)
	if err != nil {
		return nil, err
	}
	return c.buf[:n], nil
}

func (c *regClient) build(i, cseq int, branch byte, user string, auth []byte) {
	m := c.msg[:0]
	m = append(m, "REGISTER sip:"...)
	m = append(m, c.pbxAddr...)
	m = append(m, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	m = append(m, c.local...)
	m = append(m, ";branch=z9hG4bK-"...)
	m = strconv.AppendInt(m, int64(i), 10)
	m = append(m, '-', branch)
	m = append(m, ";rport\r\nFrom: <sip:"...)
	m = append(m, user...)
	m = append(m, "@pbx>;tag="...)
	m = strconv.AppendInt(m, int64(i), 10)
	m = append(m, "\r\nTo: <sip:"...)
	m = append(m, user...)
	m = append(m, "@pbx>\r\nCall-ID: bench-"...)
	m = strconv.AppendInt(m, int64(i), 10)
	m = append(m, "\r\nCSeq: "...)
	m = strconv.AppendInt(m, int64(cseq), 10)
	m = append(m, " REGISTER\r\nContact: <sip:"...)
	m = append(m, user...)
	m = append(m, '@')
	m = append(m, c.local...)
	m = append(m, ">\r\nMax-Forwards: 70\r\nExpires: 3600\r\n"...)
	m = append(m, auth...)
	m = append(m, "Content-Length: 0\r\n\r\n"...)
	c.msg = m
}

// md5Hex writes the hex MD5 of the joined parts into the client's slot k.
func (c *regClient) md5Hex(k int, parts ...[]byte) []byte {
	h := md5.New()
	for _, p := range parts {
		h.Write(p)
	}
	var sum [md5.Size]byte
	hex.Encode(c.hexs[k][:], h.Sum(sum[:0]))
	return c.hexs[k][:]
}

var benchNonce = []byte(`nonce="`)

func (c *regClient) register(i int, user, secret string) error {
	c.build(i, 1, 'a', user, nil)
	res, err := c.exchange()
	if err != nil {
		return err
	}
	at := bytes.Index(res, benchNonce)
	if at < 0 {
		return fmt.Errorf("no challenge: %s", res)
	}
	nonce := res[at+len(benchNonce):]
	nonce = nonce[:bytes.IndexByte(nonce, '"')]
	uri := "sip:" + c.pbxAddr
	ha1 := c.md5Hex(0, []byte(user), []byte(":pbx:"), []byte(secret))
	ha2 := c.md5Hex(1, []byte("REGISTER:"), []byte(uri))
	resp := c.md5Hex(2, ha1, []byte(":"), nonce, []byte(":00000001:abc:auth:"), ha2)
	var auth []byte
	auth = append(auth, `Authorization: Digest username="`...)
	auth = append(auth, user...)
	auth = append(auth, `", realm="pbx", nonce="`...)
	auth = append(auth, nonce...)
	auth = append(auth, `", uri="`...)
	auth = append(auth, uri...)
	auth = append(auth, `", response="`...)
	auth = append(auth, resp...)
	auth = append(auth, "\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"abc\"\r\n"...)
	c.build(i, 2, 'b', user, auth)
	if res, err = c.exchange(); err != nil {
		return err
	}
	if !bytes.HasPrefix(res, []byte("SIP/2.0 200")) {
		return fmt.Errorf("not registered: %s", res)
	}
	return nil
}

func benchRegister(b *testing.B, clients int) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	p := pbxtest.Start(b)
	rb := regBench{Addr: p.SIPAddr, N: b.N, Clients: clients}
	for i := 0; i < 50; i++ {
		rb.Names = append(rb.Names, strconv.Itoa(5000+i))
		rb.Secrets = append(rb.Secrets, p.CreateExtension(rb.Names[i], nil).Secret)
	}
	spec, err := json.Marshal(rb)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), regClientEnv+"="+string(spec))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	b.ReportAllocs()
	b.ResetTimer()
	var ru0, ru1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru0); err != nil {
		b.Fatal(err)
	}
	err = cmd.Run()
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru1); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if err != nil {
		b.Fatalf("clients: %v\n%s", err, out.Bytes())
	}
	cpu := func(ru *syscall.Rusage) time.Duration { return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()) }
	child := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	b.ReportMetric(float64((cpu(&ru1)-cpu(&ru0)).Nanoseconds())/1e3/float64(b.N), "pbx-cpu-µs/reg")
	b.ReportMetric(float64(cpu(child).Nanoseconds())/1e3/float64(b.N), "client-cpu-µs/reg")
	// What the GC has to mark: transactions retained for Timer J
	// (32 s over UDP) were most of it.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MB")
}
