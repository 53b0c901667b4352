#!/usr/bin/env bash
# Calls set up toward callees that all sit behind one address and port (the
# "one box" shape of issue 14), with PCMU both ways for the whole call.
#
# Starts the PBX (built from this checkout) on a fresh data directory and
# creates CALLS caller and CALLS callee extensions through the REST API. One
# sipp UAS registers every callee from a single address:port, then answers
# on it (180, 200 with SDP, retransmitted until ACKed; RTP while up). A
# second sipp places CALLS calls, one per caller, each to its own callee,
# ramping at RATE calls/s; each call streams 20 ms PCMU both ways through the
# PBX's relay (sipp rtp_stream) for SECONDS s, then the caller hangs up.
#
# Reports: calls answered and failed (the caller's sipp, and the PBX's CDR
# counters), the UAS's 200 OK retransmissions and unexpected messages, RTP
# loss from the PBX's relay (pbx_rtp_lost_total over pbx_rtp_packets_total
# +lost, read from /metrics after the calls), and the PBX's CPU from
# /proc/PID/stat over the whole run and over the window with every call up.
#
# Usage: bench/onebox.sh    (defaults below; override by env)
#   CALLS=200  RATE=50  SECONDS=20
#   PHONES=N        register N phones in all (default CALLS, the callees):
#                   the callers register too (from another port) when
#                   PHONES=2*CALLS, e.g. CALLS=500 PHONES=1000 for the
#                   issue's "1,000 registered phones and 500 calls" RSS
#   PBX_BIN=path    run this binary instead of building the checkout
#   KEEP=dir        keep the work folder (logs, sipp stats) in dir
cd "$(dirname "$0")/.."

CALLS=${CALLS:-200}
RATE=${RATE:-50}
SECS=${SECONDS_PER_CALL:-${SECS:-20}}
SIP_PORT=${SIP_PORT:-26060}
UAS_PORT=${UAS_PORT:-26070}
HTTP_PORT=${HTTP_PORT:-29080}
. bench/lib.sh
start_pbx

echo "creating $CALLS callees and $CALLS callers through the API..."
make_pairs "$CALLS"

# Every callee registers from the one address:port the answering sipp then listens on.
sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/register_auth.xml" -inf "$WORK/callees.csv" -r 200 -m "$CALLS" \
  -i 127.0.0.1 -p "$UAS_PORT" -timeout 30s -nostdin -trace_err -error_file "$WORK/register-errors.log" >/dev/null 2>&1 || true
registered=$(metric pbx_registrations)
[ "$registered" = "$CALLS" ] || { echo "only $registered of $CALLS callees registered" >&2; exit 1; }
PHONES=${PHONES:-$CALLS}
if [ "$PHONES" -gt "$CALLS" ]; then
  [ "$PHONES" -le $((2 * CALLS)) ] || { echo "PHONES may be at most 2*CALLS" >&2; exit 1; }
  # The first PHONES-CALLS callers register from a port nothing answers on
  # (desk phones that are idle during the run).
  echo SEQUENTIAL > "$WORK/callers-reg.csv"
  tail -n +2 "$WORK/callers.csv" | head -n $((PHONES - CALLS)) | cut -d';' -f1,3 >> "$WORK/callers-reg.csv"
  sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/register_auth.xml" -inf "$WORK/callers-reg.csv" -r 200 -m $((PHONES - CALLS)) \
    -i 127.0.0.1 -p $((UAS_PORT + 1)) -timeout 30s -nostdin -trace_err -error_file "$WORK/register-callers-errors.log" >/dev/null 2>&1 || true
  registered=$(metric pbx_registrations)
  [ "$registered" = "$PHONES" ] || { echo "only $registered of $PHONES phones registered" >&2; exit 1; }
fi
echo "$registered phones registered; PBX RSS $(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$PBX_PID/status")"

head -c 16000 /dev/zero | tr '\0' '\377' > "$WORK/tone.ulaw" # u-law silence; the relay does not decode

(cd "$WORK" && exec sipp -sf "$BENCH/call_uas_rtp.xml" -i 127.0.0.1 -p "$UAS_PORT" -mp 40000 \
  -nostdin -trace_err -error_file "$WORK/uas-errors.log" -fd 1 -trace_stat -stf "$WORK/uas-stat.csv" \
  >/dev/null 2>"$WORK/uas.err") &
UAS_PID=$!
EXTRA_PIDS=$UAS_PID
packets0=$(metric pbx_rtp_packets_total); lost0=$(metric pbx_rtp_lost_total)
ans0=$(metric 'pbx_calls_total{answered="true"}'); unans0=$(metric 'pbx_calls_total{answered="false"}')

echo "$CALLS calls at $RATE calls/s, ${SECS} s each, PCMU both ways through the relay, callees on one address:port"
run0=$(ticks "$PBX_PID"); r0=$(date +%s.%N)
(cd "$WORK" && exec sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/call_uac_rtp.xml" \
  -inf "$WORK/callers.csv" -r "$RATE" -m "$CALLS" -l "$CALLS" -d $((SECS * 1000)) -i 127.0.0.1 -p 0 \
  -mp 30000 -timeout $((SECS * 2 + 60))s -nostdin \
  -trace_stat -stf "$WORK/uac-stat.csv" -fd 1 -trace_err -error_file "$WORK/uac-errors.log" >/dev/null 2>"$WORK/uac.err") &
UAC_PID=$!
EXTRA_PIDS="$UAS_PID $UAC_PID"
# The all-up window: from a few seconds after the last call was placed to a
# few seconds before the first hangs up (wall-clock by design: a load script).
up=$((CALLS / RATE + 3)); window=$((SECS - up - 3))
if [ "$window" -ge 3 ]; then
  sleep "$up"
  active=$(metric pbx_calls_active)
  before=$(ticks "$PBX_PID"); t0=$(date +%s.%N)
  sleep "$window"
  t1=$(date +%s.%N); after=$(ticks "$PBX_PID")
  rss=$(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$PBX_PID/status")
fi
wait "$UAC_PID" || true
EXTRA_PIDS=$UAS_PID
run1=$(ticks "$PBX_PID"); r1=$(date +%s.%N)
sleep 1 # the PBX's last BYEs to the UAS
kill -INT "$UAS_PID" 2>/dev/null; wait "$UAS_PID" 2>/dev/null || true; EXTRA_PIDS=

ok=$(stat_col "$WORK/uac-stat.csv" 'SuccessfulCall(C)')
bad=$(stat_col "$WORK/uac-stat.csv" 'FailedCall(C)')
uas_ok=$(stat_col "$WORK/uas-stat.csv" 'SuccessfulCall(C)')
uas_bad=$(stat_col "$WORK/uas-stat.csv" 'FailedCall(C)')
uas_retrans=$(stat_col "$WORK/uas-stat.csv" 'Retransmissions(C)')
uas_unexp=$(stat_col "$WORK/uas-stat.csv" 'FailedUnexpectedMessage(C)')
answered=$(( $(metric 'pbx_calls_total{answered="true"}') - ans0 ))
unanswered=$(( $(metric 'pbx_calls_total{answered="false"}') - unans0 ))
packets=$(( $(metric pbx_rtp_packets_total) - packets0 )); lost=$(( $(metric pbx_rtp_lost_total) - lost0 ))
echo "callers' sipp: $ok calls succeeded, $bad failed; answering sipp: $uas_ok succeeded, $uas_bad failed ($uas_unexp unexpected messages), $uas_retrans retransmissions"
echo "PBX: $answered calls answered, $unanswered unanswered"
echo "relay: $packets RTP packets, $lost lost ($(echo "100 * $lost / ($packets + $lost + 1)" | bc -l | xargs printf '%.4f')%)"
echo "PBX CPU over the run: $(cores "$r0" "$r1" "$run0" "$run1") cores"
[ -z "${t0:-}" ] || echo "PBX CPU with all $active calls up: $(cores "$t0" "$t1" "$before" "$after") cores; PBX RSS $rss"
[ "$bad" = 0 ] && [ "$ok" = "$CALLS" ]
