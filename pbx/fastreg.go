package pbx

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/dialplan"
	"github.com/officepbx/pbx/pbx/store"
)

// The REGISTER fast path: the registrar (onRegister) for the common
// REGISTER over UDP, read straight from the datagram and answered on
// sipgo's read loop, without sipgo's message parser, a *sip.Request, a
// hand-off to a worker goroutine or a *sip.Response.
//
// A phone registers every few minutes and, at boot, twice in a row
// (REGISTER, 401, REGISTER with credentials, 200). Through the full path
// each of those cost a goroutine wake-up (the worker), objects for every
// header, and a response built and serialised by sipgo; and the longer an
// answer took, the more often the phone (sipp, in bench/compare.sh) had
// gone to sleep meanwhile and the send had to wake it, which on this
// machine costs the sender more than everything else together
// (docs/benchmarks.md, "Issue 14, session 14"). Kamailio answers from the
// raw message on the process that read it; so does this.
//
// It takes only what it reads with certainty: a REGISTER with CRLF line
// ends and no folded lines, one Via (UDP, one value), one From and one To
// in angle brackets, one Call-ID, one CSeq for REGISTER, one Contact with
// one address in angle brackets, at most one Expires and one
// Authorization, no Require or Proxy-Require, and no body; for an
// extension already in the extension cache (the read loop never waits on
// SQLite). Everything else, and every answer but 401 and 200 (400, 403,
// 423, 500), is left to the full path, which sees the datagram as if the
// fast path did not exist: the fast path changes nothing before it knows
// it will answer. The answer echoes the request's Via, From, To, Call-ID
// and CSeq as the phone wrote them (RFC 3261 section 8.2.6.2), where the
// full path writes sipgo's reading of them back.
//
// TestFastRegisterMatchesFullPath and FuzzFastRegister hold the two paths
// to the same answers (as sipgo reads them) and the same bindings. The
// one difference they allow: sipgo's parser refuses a whole message for
// one malformed header (a From of "<>", say), which the
// full path then drops unanswered, where the fast path answers if the
// parts it reads are sound.

// fastRegister holds what the fast path reads from a REGISTER: values
// trimmed of surrounding white space, sub-slices of the datagram.
type fastRegister struct {
	via, from, to, callID, cseq, contact []byte
	expires, auth, userAgent             []byte
	hasExpires, hasAuth, hasUserAgent    bool

	// From the values:
	toUser     string
	toTagged   bool
	fromTag    []byte
	branch     []byte
	rport      int // index in via of a bare "rport" parameter, or -1
	viaPort    int // the Via's sent-by port, 0 if none
	seq        uint32
	contactKey string // the Contact's URI as sipgo writes it: the binding's key
	contactExp []byte // the Contact's expires parameter
	hasExp     bool
}

var crlf = []byte("\r\n")

// scanRegister reads a REGISTER datagram for the fast path; ok is false
// for anything it does not take (see above).
func scanRegister(data []byte) (r fastRegister, ok bool) {
	i := bytes.Index(data, crlf)
	if i < 0 {
		return r, false
	}
	// The request line as sipgo reads it: three parts, a URI it parses.
	ruri, ok := bytes.CutPrefix(data[:i], []byte("REGISTER "))
	if !ok {
		return r, false
	}
	if ruri, ok = bytes.CutSuffix(ruri, []byte(" SIP/2.0")); !ok || len(ruri) == 0 || bytes.ContainsAny(ruri, " \t") {
		return r, false
	}
	if !uris.read(ruri).ok {
		return r, false
	}
	rest := data[i+2:]
	var vias, froms, tos, callIDs, cseqs, contacts int
	for {
		j := bytes.Index(rest, crlf)
		if j < 0 {
			return r, false // no blank line ends the headers
		}
		line := rest[:j]
		rest = rest[j+2:]
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' || bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, '\n') >= 0 {
			return r, false // folded, or a stray line end
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return r, false
		}
		name := bytes.TrimSpace(line[:colon])
		val := bytes.TrimSpace(line[colon+1:])
		switch {
		case nameIs(name, "via", 'v'):
			r.via, vias = val, vias+1
		case nameIs(name, "from", 'f'):
			r.from, froms = val, froms+1
		case nameIs(name, "to", 't'):
			r.to, tos = val, tos+1
		case nameIs(name, "call-id", 'i'):
			r.callID, callIDs = val, callIDs+1
		case nameIs(name, "cseq", 0):
			r.cseq, cseqs = val, cseqs+1
		case nameIs(name, "contact", 'm'):
			r.contact, contacts = val, contacts+1
		case nameIs(name, "expires", 0):
			if r.hasExpires {
				return r, false
			}
			r.expires, r.hasExpires = val, true
		case nameIs(name, "authorization", 0):
			if r.hasAuth {
				return r, false
			}
			r.auth, r.hasAuth = val, true
		case nameIs(name, "user-agent", 0):
			if !r.hasUserAgent { // the full path reads the first
				r.userAgent, r.hasUserAgent = val, true
			}
		case nameIs(name, "content-length", 'l'):
			if !bytes.Equal(val, []byte("0")) {
				return r, false
			}
		case nameIs(name, "max-forwards", 0):
			if _, err := strconv.ParseUint(string(val), 10, 32); err != nil {
				return r, false
			}
		case nameIs(name, "require", 0), nameIs(name, "proxy-require", 0),
			// Headers sipgo's parser reads, and refuses the message for
			// when malformed, that a REGISTER has no use for.
			nameIs(name, "route", 0), nameIs(name, "record-route", 0), nameIs(name, "refer-to", 0),
			nameIs(name, "referred-by", 0), nameIs(name, "content-type", 'c'):
			return r, false
		}
	}
	if len(rest) != 0 || vias != 1 || froms != 1 || tos != 1 || callIDs != 1 || cseqs != 1 || contacts != 1 {
		return r, false
	}
	return r, r.readValues()
}

// nameIs reports whether a header name is long, or its compact form
// short (0: none), ignoring case.
func nameIs(name []byte, long string, short byte) bool {
	if len(name) == 1 {
		return short != 0 && name[0]|0x20 == short
	}
	return len(name) == len(long) && bytes.EqualFold(name, []byte(long))
}

func (r *fastRegister) readValues() bool {
	// Via: SIP/2.0/UDP sent-by *(;param), one value.
	v := r.via
	if len(v) < 12 || !bytes.EqualFold(v[:11], []byte("SIP/2.0/UDP")) || (v[11] != ' ' && v[11] != '\t') ||
		bytes.ContainsAny(v, ",\"") {
		return false
	}
	sentBy, params, _ := bytes.Cut(v[12:], []byte(";"))
	sentBy = bytes.TrimSpace(sentBy)
	if len(sentBy) == 0 {
		return false
	}
	if host, port, err := net.SplitHostPort(string(sentBy)); err == nil {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || host == "" {
			return false
		}
		r.viaPort = int(p)
	} else if bytes.ContainsAny(sentBy, ":[] \t") {
		return false
	}
	r.rport = -1
	if len(params) > 0 || bytes.IndexByte(v, ';') >= 0 {
		off := len(v) - len(params)
		for p := range bytes.SplitSeq(params, []byte(";")) {
			key, val, hasVal := bytes.Cut(p, []byte("="))
			if !bytes.Equal(bytes.TrimSpace(key), key) || len(key) == 0 {
				return false // white space around a name: leave it to sipgo
			}
			switch {
			case bytes.Equal(key, []byte("branch")):
				r.branch = val
			case bytes.Equal(key, []byte("rport")):
				if hasVal {
					return false
				}
				r.rport = off
			case bytes.EqualFold(key, []byte("rport")), bytes.EqualFold(key, []byte("received")),
				bytes.EqualFold(key, []byte("branch")):
				return false
			}
			off += len(p) + 1
		}
	}

	_, fromParams, ok := splitNameAddr(r.from)
	if !ok {
		return false
	}
	if r.fromTag, _, ok = headerParam(fromParams, "tag"); !ok {
		return false
	}
	toURI, toParams, ok := splitNameAddr(r.to)
	if !ok {
		return false
	}
	if to := uris.read(toURI); !to.ok || !dialplan.IsNumber(to.user) {
		return false
	} else {
		r.toUser = to.user
	}
	if _, r.toTagged, ok = headerParam(toParams, "tag"); !ok {
		return false
	}

	// CSeq: number SP REGISTER
	num, method, found := bytes.Cut(r.cseq, []byte(" "))
	if !found || !bytes.Equal(method, []byte("REGISTER")) {
		return false
	}
	seq, err := strconv.ParseUint(string(num), 10, 32)
	if err != nil || seq > 1<<31-1 {
		return false
	}
	r.seq = uint32(seq)

	// Contact: one name-addr.
	if bytes.IndexByte(r.contact, ',') >= 0 {
		return false
	}
	contactURI, cParams, ok := splitNameAddr(r.contact)
	if !ok {
		return false
	}
	if c := uris.read(contactURI); !c.ok || !c.host {
		return false
	} else {
		r.contactKey = c.text
	}
	if r.contactExp, r.hasExp, ok = headerParam(cParams, "expires"); !ok {
		return false
	}
	return len(r.callID) > 0 && bytes.IndexByte(r.callID, ' ') < 0
}

// uris remembers what sip.ParseUri makes of the URIs in To and Contact:
// a phone sends the same ones at every registration, and parsing them
// was a tenth of the fast path's work.
var uris = uriReadings{m: map[string]uriReading{}}

type uriReadings struct {
	mu sync.Mutex
	m  map[string]uriReading
}

// uriReading is sip.ParseUri's reading of a URI: ok if it parsed and is
// not "*", host whether it has a host, its user, and the URI as
// Uri.String writes it.
type uriReading struct {
	ok, host   bool
	user, text string
}

// maxURIReadings bounds uris; past it, it starts afresh.
const maxURIReadings = 4096

func (c *uriReadings) read(raw []byte) uriReading {
	c.mu.Lock()
	r, found := c.m[string(raw)]
	c.mu.Unlock()
	if found {
		return r
	}
	var u sip.Uri
	if sip.ParseUri(string(raw), &u) == nil && !u.Wildcard {
		r = uriReading{ok: true, host: u.Host != "", user: u.User, text: u.String()}
	}
	c.mu.Lock()
	if len(c.m) >= maxURIReadings {
		clear(c.m)
	}
	c.m[string(raw)] = r
	c.mu.Unlock()
	return r
}

// splitNameAddr splits a name-addr (an optional display name, a URI in
// angle brackets, then parameters) into the URI and what follows the
// closing bracket. ok is false for an addr-spec without brackets.
func splitNameAddr(v []byte) (uri, params []byte, ok bool) {
	rest := v
	if len(rest) > 0 && rest[0] == '"' {
		end := 1
		for ; end < len(rest); end++ {
			if rest[end] == '\\' {
				end++
				continue
			}
			if rest[end] == '"' {
				break
			}
		}
		if end >= len(rest) {
			return nil, nil, false
		}
		rest = rest[end+1:]
	}
	lt := bytes.IndexByte(rest, '<')
	if lt < 0 || bytes.ContainsAny(rest[:lt], "\"<>;") {
		return nil, nil, false
	}
	gt := bytes.IndexByte(rest[lt:], '>')
	if gt < 0 {
		return nil, nil, false
	}
	return rest[lt+1 : lt+gt], rest[lt+gt+1:], true
}

// headerParam finds the parameter key (case as given) in the parameters
// that follow a name-addr (";a=b;c"). ok is false for what it will not
// read: a quoted value, white space inside, text before the first ';',
// or key twice.
func headerParam(params []byte, key string) (val []byte, found, ok bool) {
	if len(params) == 0 {
		return nil, false, true
	}
	if params[0] != ';' || bytes.ContainsAny(params, "\" \t<>,") {
		return nil, false, false
	}
	for p := range bytes.SplitSeq(params[1:], []byte(";")) {
		k, v, _ := bytes.Cut(p, []byte("="))
		if len(k) == 0 {
			return nil, false, false
		}
		if string(k) == key {
			if found {
				return nil, false, false
			}
			val, found = v, true
		}
	}
	return val, found, true
}

// fastRegister answers a REGISTER datagram from src (source is its
// String) and reports whether it did; false leaves it, untouched, to the
// full path.
func (s *statelessUDP) fastRegister(data []byte, src *net.UDPAddr, source string) bool {
	r, ok := scanRegister(data)
	if !ok {
		return false
	}
	e := s.e
	number := r.toUser
	secret, algs, known, cached := e.exts.peekAuth(number)
	if !cached {
		return false // the full path loads it (off the read loop) and caches it
	}
	now := time.Now()
	// Everything the full path would refuse with 400 or 423 is left to
	// it before the credentials are checked: a good check uses up the
	// nonce count, after which the full path would see a replay.
	exp := e.cfg.DefaultExpires
	if r.hasExpires {
		if exp, ok = parseExpires(b2s(r.expires)); !ok {
			return false
		}
	}
	if r.hasExp {
		if exp, ok = parseExpires(b2s(r.contactExp)); !ok {
			return false
		}
	}
	if exp, ok = e.bindingExpiry(exp); !ok {
		return false
	}
	ip := src.IP.String()
	if e.block.blocked(ip, now) && !e.block.exempt(ip) {
		return false // the full path drops it and counts it
	}

	// authenticate's checks, answering 401 here and leaving 403 (logged,
	// counted towards a block) to the full path. A failed check changes
	// nothing. b2s: verify keeps nothing of the header (nonce counts are
	// kept by the nonce's counter), and the datagram outlives the call.
	c := e.checkCredentials(b2s(r.auth), "REGISTER", number, secret, algs, known, now)
	switch {
	case c.err == nil:
	case c.challenge:
		e.metrics.countRequest(sip.REGISTER)
		s.writeFast(&r, src, ip, 401, "Unauthorized", func(b []byte) []byte {
			return e.auth.appendChallengeLines(b, "WWW-Authenticate", c.algs, c.stale, now)
		})
		return true
	default:
		return false
	}

	meta := store.Registration{Source: source, Transport: "udp", CallID: string(r.callID), CSeq: r.seq}
	if r.hasUserAgent {
		meta.UserAgent = truncate(string(r.userAgent), 200)
	}
	e.metrics.countRequest(sip.REGISTER)
	bindings, fresh := e.loc.apply(number, false, []bindingUpdate{{contact: r.contactKey, expires: exp}}, meta, now)
	e.metrics.registers.Add(1)
	s.writeFast(&r, src, ip, 200, "OK", func(b []byte) []byte {
		for _, bd := range bindings {
			b = append(b, "Contact: "...)
			b = appendBindingContact(b, bd, now)
			b = append(b, "\r\n"...)
		}
		b = append(b, "Date: "...)
		b = appendDate(b, now)
		return append(b, "\r\n"...)
	})
	if len(fresh) > 0 {
		e.subs.registered(fresh) // after the 200, as onRegister
	}
	return true
}

// writeFast writes the response as the full path's reads: the request's
// Via (with received and rport filled in, RFC 3581), From, To (with the
// stateless tag), Call-ID and CSeq, then Content-Length, Server, and
// what extra appends; to where responseAddr sends it.
func (s *statelessUDP) writeFast(r *fastRegister, src *net.UDPAddr, ip string, code int, reason string, extra func([]byte) []byte) {
	bp := s.fastBufs.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, "SIP/2.0 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	b = append(b, "\r\nVia: "...)
	if r.rport >= 0 {
		end := r.rport + len("rport")
		b = append(b, r.via[:end]...)
		b = append(b, '=')
		b = strconv.AppendInt(b, int64(src.Port), 10)
		b = append(b, r.via[end:]...)
		b = append(b, ";received="...)
		b = append(b, ip...)
	} else {
		b = append(b, r.via...)
	}
	b = append(b, "\r\nFrom: "...)
	b = append(b, r.from...)
	b = append(b, "\r\nTo: "...)
	b = append(b, r.to...)
	if !r.toTagged {
		b = append(b, ";tag="...)
		b = appendStatelessTag(b, b2s(r.callID), b2s(r.fromTag), b2s(r.branch))
	}
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, r.callID...)
	b = append(b, "\r\nCSeq: "...)
	b = append(b, r.cseq...)
	b = append(b, "\r\nContent-Length: 0\r\nServer: "...)
	b = append(b, s.e.cfg.UserAgent...)
	b = append(b, "\r\n"...)
	b = extra(b)
	b = append(b, "\r\n"...)
	if _, err := s.conn.WriteTo(b, viaResponseAddr(src, r.rport >= 0, r.viaPort)); err != nil {
		s.e.log.Debug("respond failed", "code", code, "error", err)
	}
	*bp = b
	s.fastBufs.Put(bp)
}
