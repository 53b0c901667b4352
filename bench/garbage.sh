#!/usr/bin/env bash
# Calls in progress under a flood of SIP junk: does the guard keep them whole?
#
# Starts the PBX (built from this checkout) on a fresh data directory, trusts
# only 127.0.0.1 (where sipp runs; the flood's 127.0.0.2-5 are then sources
# like any on the internet), creates CALLS callee and caller extensions,
# registers the callees with sipp and places CALLS calls of CALL_SECONDS each,
# PCMU both ways through the relay (call_uac_rtp.xml, call_uas_rtp.xml, as in
# bench/calls.sh). With every call up, bench/flood sends PACKETS packets at
# full speed three times: random bytes, truncated INVITEs, OPTIONS from
# friendly-scanner and REGISTERs from SIPVicious from four addresses; junk
# alone from four others; junk alone from the allow-listed 127.0.0.1. The report: the calls (succeeded, failed, still
# up right after the flood), the relay's RTP loss over the calls (sequence
# gaps, pbx_rtp_lost_total, over pbx_rtp_packets_total), what the guard
# dropped by reason, and the PBX's CPU during the flood.
#
# Usage: bench/garbage.sh     (defaults below; override by env)
#   CALLS=10  CALL_SECONDS=20  PACKETS=10000
#   PBX_BIN=path      run this binary instead of building the checkout
#   KEEP=dir          keep the work folder (logs) in dir
cd "$(dirname "$0")/.."

CALLS=${CALLS:-10}
CALL_SECONDS=${CALL_SECONDS:-20}
PACKETS=${PACKETS:-10000}
SIP_PORT=${SIP_PORT:-26060}
UAS_PORT=${UAS_PORT:-26070}
HTTP_PORT=${HTTP_PORT:-29080}
. bench/lib.sh
go build -o "$WORK/flood" ./bench/flood
start_pbx
API=http://127.0.0.1:$HTTP_PORT/api/v1
curl -fs -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"items":[{"cidr":"127.0.0.1","note":"sipp"}]}' "$API/security/allowlist"

make_pairs "$CALLS"
sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/register_auth.xml" -inf "$WORK/callees.csv" -r 100 -m "$CALLS" \
  -i 127.0.0.1 -p "$UAS_PORT" -timeout 30s -nostdin -trace_err -error_file "$WORK/register-errors.log" >/dev/null 2>&1 || true
registered=$(metric pbx_registrations)
[ "$registered" = "$CALLS" ] || { echo "only $registered of $CALLS callees registered" >&2; exit 1; }

head -c 16000 /dev/zero | tr '\0' '\377' > "$WORK/tone.ulaw"

packets0=$(metric pbx_rtp_packets_total); lost0=$(metric pbx_rtp_lost_total)
(cd "$WORK" && exec sipp -sf "$BENCH/call_uas_rtp.xml" -i 127.0.0.1 -p "$UAS_PORT" -mp 40000 \
  -nostdin -trace_err -error_file "$WORK/uas-errors.log" >/dev/null 2>"$WORK/uas.err") &
UAS_PID=$!
EXTRA_PIDS=$UAS_PID
ramp=10 # calls/s while the calls come up
(cd "$WORK" && exec sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/call_uac_rtp.xml" \
  -inf "$WORK/callers.csv" -r "$ramp" -m "$CALLS" -l "$CALLS" -d $((CALL_SECONDS * 1000)) -i 127.0.0.1 -p 0 \
  -mp 30000 -timeout $((CALL_SECONDS * 2 + 60))s -nostdin \
  -trace_stat -stf "$WORK/uac-stat.csv" -fd 1 -trace_err -error_file "$WORK/uac-errors.log" >/dev/null 2>"$WORK/uac.err") &
UAC_PID=$!
EXTRA_PIDS="$UAS_PID $UAC_PID"
up=$((CALLS / ramp + 3))
[ "$((CALL_SECONDS - up))" -ge 5 ] || { echo "CALL_SECONDS too short for $CALLS calls at $ramp calls/s" >&2; exit 1; }
sleep "$up" # a load script, not a test: wall-clock by design
active=$(metric pbx_calls_active)
echo "$active of $CALLS calls up"
before=$(ticks "$PBX_PID"); t0=$(date +%s.%N)
# 1. Scanners: junk, truncated INVITEs, scanner OPTIONS and REGISTERs, from
#    four addresses; each is blocked at its first scanner packet.
"$WORK/flood" -target 127.0.0.1:$SIP_PORT -n "$PACKETS"
# 2. Junk alone from four other addresses: no scanner name to catch, so the
#    rate limit (burst 1000, then 100/s per source) and the parser take it.
"$WORK/flood" -target 127.0.0.1:$SIP_PORT -n "$PACKETS" -sources 127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9 -kinds random,truncated
# 3. Junk from the allow-listed address (no block, no rate limit): all of it
#    reaches the SIP parser, the worst case.
"$WORK/flood" -target 127.0.0.1:$SIP_PORT -n "$PACKETS" -sources 127.0.0.1 -kinds random,truncated
t1=$(date +%s.%N); after=$(ticks "$PBX_PID")
sleep 1
active_after=$(metric pbx_calls_active)
wait "$UAC_PID" || true
EXTRA_PIDS=$UAS_PID
kill -INT "$UAS_PID" 2>/dev/null; wait "$UAS_PID" 2>/dev/null || true; EXTRA_PIDS=
ok=$(stat_col "$WORK/uac-stat.csv" 'SuccessfulCall(C)')
bad=$(stat_col "$WORK/uac-stat.csv" 'FailedCall(C)')
packets=$(( $(metric pbx_rtp_packets_total) - packets0 )); lost=$(( $(metric pbx_rtp_lost_total) - lost0 ))
elapsed=$(echo "$t1 - $t0" | bc -l)
echo "calls: $ok succeeded, $bad failed; $active_after of $active still up 1 s after the flood"
echo "relay received $packets RTP packets over the calls, lost $lost ($(echo "100 * $lost / ($packets + $lost)" | bc -l | xargs printf '%.4f')%)"
echo "guard dropped: blocked $(metric 'pbx_sip_dropped_total{reason="blocked"}'), scanner $(metric 'pbx_sip_dropped_total{reason="scanner"}'), rate $(metric 'pbx_sip_dropped_total{reason="rate"}')"
echo "blocked sources: $(curl -fs -H "Authorization: Bearer $TOKEN" "$API/security/blocked" | grep -o '"source":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')"
printf 'PBX CPU during the floods: %.2f cores over %.3f s\n' "$(echo "($after - $before) / $HZ / $elapsed" | bc -l)" "$elapsed"
