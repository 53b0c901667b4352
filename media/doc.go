// Package media moves a call's audio. It is a pure library: it knows
// nothing about SIP dialogs or the database, and imports nothing else of
// this module, so it can be tested, fuzzed and benchmarked alone.
//
// What it provides today:
//
//   - PortAllocator and PortPair: RTP (even) and RTCP (odd) UDP sockets
//     from the configured port range, handed out round-robin. A released
//     pair rests with its sockets open and is handed out again after
//     ReuseAfter (drained of stray packets), or at once when the range is
//     taken; pairs resting a minute unused are closed.
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
//   - InBandDTMFDetector: DTMF keys sent as tones in the audio (Goertzel),
//     which an Endpoint runs with EndpointConfig.InBandDTMF.
//   - DigitBuffer: a call's key presses queued for its application, with
//     Collect (maximum, terminators, first-digit, inter-digit and overall
//     timeouts) and Pending to stop a prompt at the first key.
//   - BuiltinPrompt, BuiltinPromptNames, BuiltinPromptSource, SayNumber
//     and SayDigits: the embedded English speech prompts and numbers and
//     key strings spoken with them.
//   - Source and AudioSink: the contracts of what plays into a call (8 kHz
//     mono frames) and what receives a phone's decoded audio.
//   - NewToneSource and ToneSpec: call-progress tones with cadences;
//     DialTone, Ringback, Busy, Congestion, ConfirmTone and ErrorTone.
//   - MusicOnHold: built-in hold music, rendered once, played by any number
//     of calls.
//   - NewPCMSource, Silence, Concat and Loop: sources over decoded audio,
//     prompt sequences and repetition.
//   - Mixer, Room and Participant: the conference mixer. One clock for all
//     rooms; per participant a jitter buffer with concealment; the N
//     loudest talkers mixed, each hearing all but themself, through a soft
//     limiter; one shared buffer and one encode per codec for everyone
//     else (Endpoint.WriteEncoded). A tick allocates nothing.
//   - ReadWAV: WAV files of any common encoding, rate and channel count
//     converted to 8 kHz mono; Resample, the windowed-sinc resampler it
//     uses; WAVWriter, a recording AudioSink; WriteWAV, audio in memory
//     written as a WAV file.
//
// Every Source's Read and WAVWriter's WriteAudio are allocation-free.
//
// Still to come (see DESIGN.md): SDP offer/answer helpers, media sessions
// that play sources into a leg and feed its audio to sinks, the jitter
// buffer for RTP (reordering packets before decoding).
//
// A typical call: allocate a PortPair per leg, advertise each pair's
// LocalRTP in that leg's SDP, and when both answers are known start a
// Relay with the phones' SDP addresses and codecs; Close it at hang-up,
// which releases the ports.
package media
