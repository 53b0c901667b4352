package pbx

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"github.com/officepbx/pbx/media"
)

// methods we count individually; anything else is "other".
var countedMethods = [...]sip.RequestMethod{sip.REGISTER, sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.OPTIONS,
	sip.SUBSCRIBE, sip.NOTIFY, sip.REFER, sip.INFO, sip.MESSAGE, sip.UPDATE, sip.PRACK, sip.PUBLISH}

// metrics are the SIP engine's counters.
type metrics struct {
	requests     [len(countedMethods) + 1]atomic.Uint64
	authFailures atomic.Uint64
	// overloadRefused counts new INVITEs answered 503 at the door while
	// the SIP socket's receive queue was backed up (stateless.go).
	overloadRefused atomic.Uint64
	registers       atomic.Uint64 // successful REGISTERs

	callsAnswered atomic.Uint64 // calls that ended after being answered
	callsFailed   atomic.Uint64 // calls that ended unanswered (busy, no answer, cancelled, errors)
	rtpPackets    atomic.Uint64 // RTP packets the relays received, both directions, of ended calls
	rtpLost       atomic.Uint64 // RTP packets the relays found missing (sequence gaps), of ended calls
}

// callEnded counts a finished call; stats is nil for one never answered.
func (m *metrics) callEnded(stats *media.Stats) {
	if stats == nil {
		m.callsFailed.Add(1)
		return
	}
	m.callsAnswered.Add(1)
	m.rtpPackets.Add(stats.AToB.Packets + stats.BToA.Packets)
	m.rtpLost.Add(stats.AToB.Lost + stats.BToA.Lost)
}

func (m *metrics) countRequest(method sip.RequestMethod) {
	for i, cm := range countedMethods {
		if cm == method {
			m.requests[i].Add(1)
			return
		}
	}
	m.requests[len(countedMethods)].Add(1)
}

// WriteMetrics writes the engine's metrics in Prometheus text format.
func (e *Engine) WriteMetrics(w io.Writer) {
	m := &e.metrics
	fmt.Fprintf(w, "# HELP pbx_registrations Contact bindings currently registered.\n# TYPE pbx_registrations gauge\npbx_registrations %d\n", e.loc.size())
	fmt.Fprintf(w, "# HELP pbx_sip_requests_total SIP requests received, by method.\n# TYPE pbx_sip_requests_total counter\n")
	for i, cm := range countedMethods {
		fmt.Fprintf(w, "pbx_sip_requests_total{method=%q} %d\n", string(cm), m.requests[i].Load())
	}
	fmt.Fprintf(w, "pbx_sip_requests_total{method=\"other\"} %d\n", m.requests[len(countedMethods)].Load())
	fmt.Fprintf(w, "# HELP pbx_sip_auth_failures_total SIP digest authentications that failed (wrong password, unknown user, replay).\n# TYPE pbx_sip_auth_failures_total counter\npbx_sip_auth_failures_total %d\n", m.authFailures.Load())
	fmt.Fprintf(w, "# HELP pbx_sip_overload_refused_total New calls refused 503 because the SIP socket's receive queue was backed up.\n# TYPE pbx_sip_overload_refused_total counter\npbx_sip_overload_refused_total %d\n", m.overloadRefused.Load())
	fmt.Fprintf(w, "# HELP pbx_sip_blocked_total SIP packets dropped because their source was blocked (auth failures, scanner); the same as pbx_sip_dropped_total{reason=\"blocked\"}.\n# TYPE pbx_sip_blocked_total counter\npbx_sip_blocked_total %d\n", e.guard.dropped[dropBlocked].Load())
	fmt.Fprintf(w, "# HELP pbx_sip_dropped_total SIP packets dropped unanswered, by reason: blocked source, scanner user agent, over the per-source rate.\n# TYPE pbx_sip_dropped_total counter\n")
	for i, name := range dropReasonNames {
		fmt.Fprintf(w, "pbx_sip_dropped_total{reason=%q} %d\n", name, e.guard.dropped[i].Load())
	}
	fmt.Fprintf(w, "# HELP pbx_calls_active Calls in progress (set-up, ringing or answered).\n# TYPE pbx_calls_active gauge\npbx_calls_active %d\n", e.calls.count())
	usable, _ := e.ports.Capacity()
	fmt.Fprintf(w, "# HELP pbx_rtp_port_pairs_in_use RTP/RTCP port pairs held by live calls (two a relayed call).\n# TYPE pbx_rtp_port_pairs_in_use gauge\npbx_rtp_port_pairs_in_use %d\n", e.ports.InUse())
	fmt.Fprintf(w, "# HELP pbx_rtp_port_pairs_usable RTP/RTCP port pairs calls may hold at once: the --rtp-ports range, or fewer when the open-file limit cannot hold it.\n# TYPE pbx_rtp_port_pairs_usable gauge\npbx_rtp_port_pairs_usable %d\n", usable)
	fmt.Fprintf(w, "# HELP pbx_calls_total Calls ended, by whether they were answered.\n# TYPE pbx_calls_total counter\n")
	fmt.Fprintf(w, "pbx_calls_total{answered=\"true\"} %d\npbx_calls_total{answered=\"false\"} %d\n", m.callsAnswered.Load(), m.callsFailed.Load())
	fmt.Fprintf(w, "# HELP pbx_rtp_packets_total RTP packets relayed for ended calls, both directions.\n# TYPE pbx_rtp_packets_total counter\npbx_rtp_packets_total %d\n", m.rtpPackets.Load())
	fmt.Fprintf(w, "# HELP pbx_rtp_lost_total RTP packets missing (sequence gaps) in ended calls, both directions.\n# TYPE pbx_rtp_lost_total counter\npbx_rtp_lost_total %d\n", m.rtpLost.Load())
	fmt.Fprintf(w, "# HELP pbx_sip_registers_total Successful REGISTER requests.\n# TYPE pbx_sip_registers_total counter\npbx_sip_registers_total %d\n", m.registers.Load())
}
