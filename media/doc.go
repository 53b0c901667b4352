// Package media moves a call's audio. It is a pure library: it knows
// nothing about SIP dialogs or the database, and imports nothing else of
// this module, so it can be tested, fuzzed and benchmarked alone.
//
// What it provides today:
//
//   - PortAllocator and PortPair: RTP (even) and RTCP (odd) UDP sockets
//     from the configured port range, handed out round-robin.
//   - Relay: anchored media for a two-party call. It forwards RTP and RTCP
//     between two legs, latches each leg to the address its phone really
//     sends from (symmetric RTP, for phones behind NAT), transcodes between
//     PCMU and PCMA, maps telephone-event payload types and reports DTMF
//     digits, keeps each outgoing stream's SSRC, sequence numbers and
//     timestamps continuous when the incoming source changes, counts
//     packets, loss and jitter, and reports a leg whose RTP has stopped
//     (dead call). Its per-packet path does not allocate.
//   - UlawToAlaw, AlawToUlaw and Transcode: allocation-free G.711 payload
//     transcoding.
//   - ParseTelephoneEvent and DTMFDetector: RFC 4733 telephone events and
//     one digit per key press from their retransmitted packets.
//
// Still to come (see DESIGN.md): SDP offer/answer helpers, media sessions
// that play prompts and music on hold into a leg, the jitter buffer, the
// Goertzel in-band DTMF detector, the WAV recorder and the conference
// mixer.
//
// A typical call: allocate a PortPair per leg, advertise each pair's
// LocalRTP in that leg's SDP, and when both answers are known start a
// Relay with the phones' SDP addresses and codecs; Close it at hang-up,
// which releases the ports.
package media
