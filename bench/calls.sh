#!/usr/bin/env bash
# Call set-up rate and relayed-RTP capacity, measured with sipp on loopback.
#
# Starts the PBX (built from this checkout) on a fresh data directory,
# creates CALLEES callee and CALLEES caller extensions through the REST API,
# registers the callees with one sipp instance (REGISTER + digest) from the
# port a second, answering sipp instance then listens on (call_uas.xml).
#
# Phase 1 (set-up rate): for each rate of RATES, a calling sipp runs
# call_uac.xml (INVITE, 407, ACK, INVITE with digest, 200, ACK, PAUSE_MS,
# BYE, 200; the PBX then sends BYE to the callee) for SECONDS_PER_STEP
# seconds, and the script prints the rate at which sipp placed the calls
# (its own CallRate when the last call was created), the successful calls
# over the whole run (the tail of the last calls included, so below the
# placed rate even when every call succeeds), failures, the most calls up
# at once (sipp's CurrentCall), and the CPU of the PBX and of both sipp
# instances.
#
# Phase 2 (relayed RTP, skipped when RTP_CALLS=0): RTP_CALLS calls of
# RTP_SECONDS each, both sides streaming PCMU at 50 packets/s through the
# PBX's relay (sipp rtp_stream; call_uac_rtp.xml, call_uas_rtp.xml). The PBX
# CPU is measured over the window in which all calls are up; loss is the
# relay's own count (sequence gaps, pbx_rtp_lost_total) over the packets it
# received (pbx_rtp_packets_total), both read from /metrics after the calls.
#
# Usage: bench/calls.sh     (defaults below; override by env)
#   RATES="200 400 500 600"  SECONDS_PER_STEP=10  PAUSE_MS=1000  CALLEES=200
#   RTP_CALLS=500  RTP_SECONDS=30
#   RTP_PORTS=LO-HI   the PBX's --rtp-ports (default: its own, 10000-20000,
#                     5,000 pairs: 2,500 relayed calls at once); a call set-up
#                     rate R of calls lasting PAUSE_MS holds about
#                     R x (PAUSE_MS + set-up) calls up, two pairs each
#   PBX_BIN=path      run this binary instead of building the checkout
#   DIALPLAN=file     PUT this dial plan before the calls
#   DIAL_PREFIX=8     callers dial PREFIX+callee (a dial-plan rule must
#                     route it, e.g. _8X. { strip 1  dial number:${number} })
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"200 400 500 600 800"}
STEP=${SECONDS_PER_STEP:-10}
PAUSE_MS=${PAUSE_MS:-1000}
CALLEES=${CALLEES:-200}
RTP_CALLS=${RTP_CALLS:-500}
RTP_SECONDS=${RTP_SECONDS:-30}
SIP_PORT=${SIP_PORT:-25060}
UAS_PORT=${UAS_PORT:-25070}
HTTP_PORT=${HTTP_PORT:-28080}
. bench/lib.sh
start_pbx ${RTP_PORTS:+--rtp-ports "$RTP_PORTS"}

echo "creating $CALLEES callees and $CALLEES callers through the API..."
make_pairs "$CALLEES"

if [ -n "${DIALPLAN:-}" ]; then
  curl -fs -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' \
    --data-binary "@$DIALPLAN" "http://127.0.0.1:$HTTP_PORT/api/v1/dialplan" || { echo "dial plan refused" >&2; exit 1; }
  echo "dial plan $DIALPLAN in force ($(wc -l < "$DIALPLAN") lines)"
fi

# The callees register from the port the answering sipp will listen on.
sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/register_auth.xml" -inf "$WORK/callees.csv" -r 500 -m "$CALLEES" \
  -i 127.0.0.1 -p "$UAS_PORT" -timeout 30s -nostdin -trace_err -error_file "$WORK/register-errors.log" >/dev/null 2>&1 || true
registered=$(metric pbx_registrations)
[ "$registered" = "$CALLEES" ] || { echo "only $registered of $CALLEES callees registered" >&2; exit 1; }

# Unsigned u-law silence-ish tone: any bytes will do for a relay, which does
# not decode them; 0xFF is u-law zero.
head -c 16000 /dev/zero | tr '\0' '\377' > "$WORK/tone.ulaw"

start_uas() { # scenario
  (cd "$WORK" && exec sipp -sf "$1" -i 127.0.0.1 -p "$UAS_PORT" -mp 40000 \
    -nostdin -trace_err -error_file "$WORK/uas-errors.log" -fd 1 -trace_stat -stf "$WORK/uas-stat.csv" \
    >/dev/null 2>"$WORK/uas.err") &
  UAS_PID=$!
  EXTRA_PIDS=$UAS_PID
}
stop_uas() { kill -INT "$UAS_PID" 2>/dev/null; wait "$UAS_PID" 2>/dev/null || true; UAS_PID= EXTRA_PIDS=; }

echo
echo "Phase 1: call set-up rate (each call ${PAUSE_MS} ms long, ${STEP} s per step)"
start_uas "$BENCH/call_uas.xml"
printf '%-8s %-8s %-10s %-10s %-7s %-8s %-6s %-15s %-16s %s\n' offered placed achieved succeeded failed fail% peak \
  "pbx_cpu(cores)" "uac_cpu(cores)" "uas_cpu(cores)"
for rate in $RATES; do
  calls=$((rate * STEP))
  before=$(ticks "$PBX_PID"); uas_before=$(ticks "$UAS_PID"); t0=$(date +%s.%N)
  rm -f "$WORK"/uac-stat.csv
  /usr/bin/time -f "%U %S" -o "$WORK/uac.time" sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/call_uac.xml" -inf "$WORK/callers.csv" \
    -r "$rate" -rp 1000 -m "$calls" -l $((rate * 4)) -d "$PAUSE_MS" -i 127.0.0.1 -p 0 -mp 30000 \
    -timeout $((STEP * 3 + 10))s -recv_timeout 8000 -max_recv_loops 5000 -max_sched_loops 5000 -nostdin \
    -trace_stat -stf "$WORK/uac-stat.csv" -fd 1 -trace_err -error_file "$WORK/uac-errors-$rate.log" >/dev/null 2>"$WORK/uac.err" || true
  t1=$(date +%s.%N); after=$(ticks "$PBX_PID"); uas_after=$(ticks "$UAS_PID")
  ok=$(stat_col "$WORK/uac-stat.csv" 'SuccessfulCall(C)')
  bad=$(stat_col "$WORK/uac-stat.csv" 'FailedCall(C)')
  elapsed=$(echo "$t1 - $t0" | bc -l)
  read -r placed peak < <(awk -F';' -v n="$calls" 'NR == 1 {
      for (i = 1; i <= NF; i++) { if ($i == "TotalCallCreated") c = i; if ($i == "CallRate(C)") r = i; if ($i == "CurrentCall") k = i }
      next }
    $k > peak { peak = $k }
    !done && $c >= n { placed = $r; done = 1 }
    END { printf "%.0f %d\n", placed, peak }' "$WORK/uac-stat.csv")
  printf '%-8s %-8s %-10.0f %-10s %-7s %-8.3f %-6s %-15.2f %-16.2f %.2f\n' "$rate" "$placed" "$(echo "$ok / $elapsed" | bc -l)" "$ok" "$bad" \
    "$(echo "100 * $bad / ($ok + $bad)" | bc -l)" "$peak" "$(echo "($after - $before) / $HZ / $elapsed" | bc -l)" \
    "$(tail -n 1 "$WORK/uac.time" | awk -v e="$elapsed" '{print ($1 + $2) / e}')" "$(echo "($uas_after - $uas_before) / $HZ / $elapsed" | bc -l)"
done
stop_uas
echo "PBX: $(metric 'pbx_calls_total{answered="true"}') calls answered, $(metric 'pbx_calls_total{answered="false"}') unanswered, $(metric pbx_calls_active) still up, $(metric pbx_sip_overload_refused_total) INVITEs refused 503 (overload)"

[ "$RTP_CALLS" -gt 0 ] || exit 0
echo
echo "Phase 2: $RTP_CALLS concurrent calls of ${RTP_SECONDS} s, PCMU both ways (2 x 50 packets/s each) through the relay"
packets0=$(metric pbx_rtp_packets_total); lost0=$(metric pbx_rtp_lost_total)
start_uas "$BENCH/call_uas_rtp.xml"
ramp=50 # calls/s while the calls come up
(cd "$WORK" && exec /usr/bin/time -f "%U %S" -o "$WORK/uac.time" sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/call_uac_rtp.xml" \
  -inf "$WORK/callers.csv" -r "$ramp" -m "$RTP_CALLS" -l "$RTP_CALLS" -d $((RTP_SECONDS * 1000)) -i 127.0.0.1 -p 0 \
  -mp 30000 -timeout $((RTP_SECONDS * 2 + 60))s -nostdin \
  -trace_stat -stf "$WORK/uac-stat.csv" -fd 1 -trace_err -error_file "$WORK/uac-rtp-errors.log" >/dev/null 2>"$WORK/uac.err") &
UAC_PID=$!
# Measure from when every call is up to a few seconds before the first hangs up.
up=$((RTP_CALLS / ramp + 3)); window=$((RTP_SECONDS - up - 3))
[ "$window" -ge 5 ] || { echo "RTP_SECONDS too short for $RTP_CALLS calls at $ramp calls/s" >&2; exit 1; }
sleep "$up" # a load script, not a test: the window is wall-clock by design
active=$(metric pbx_calls_active)
before=$(ticks "$PBX_PID"); uas_before=$(ticks "$UAS_PID"); t0=$(date +%s.%N)
sleep "$window"
t1=$(date +%s.%N); after=$(ticks "$PBX_PID"); uas_after=$(ticks "$UAS_PID")
wait "$UAC_PID" || true
stop_uas
ok=$(stat_col "$WORK/uac-stat.csv" 'SuccessfulCall(C)')
bad=$(stat_col "$WORK/uac-stat.csv" 'FailedCall(C)')
packets=$(( $(metric pbx_rtp_packets_total) - packets0 )); lost=$(( $(metric pbx_rtp_lost_total) - lost0 ))
elapsed=$(echo "$t1 - $t0" | bc -l)
expected=$(( ok * 2 * 50 * RTP_SECONDS ))
echo "calls up during the window: $active; calls succeeded: $ok, failed: $bad"
echo "relay received $packets RTP packets (about $expected expected from 2 x 50/s x ${RTP_SECONDS} s per call), lost $lost ($(echo "100 * $lost / ($packets + $lost)" | bc -l | xargs printf '%.4f')%)"
printf 'PBX CPU with all calls up: %.2f cores; answering sipp: %.2f cores\n' \
  "$(echo "($after - $before) / $HZ / $elapsed" | bc -l)" "$(echo "($uas_after - $uas_before) / $HZ / $elapsed" | bc -l)"
