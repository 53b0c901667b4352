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
#   PBX_BIN=path    run this binary instead of building the checkout
#   KEEP=dir        keep the work folder (logs, sipp stats) in dir
set -euo pipefail
cd "$(dirname "$0")/.."

CALLS=${CALLS:-200}
RATE=${RATE:-50}
SECS=${SECONDS_PER_CALL:-${SECS:-20}}
SIP_PORT=${SIP_PORT:-26060}
UAS_PORT=${UAS_PORT:-26070}
HTTP_PORT=${HTTP_PORT:-29080}
PASS=bench-admin-password
WORK=$(mktemp -d)
BENCH=$PWD/bench/sipp
PBX_PID= UAS_PID= UAC_PID=

command -v sipp >/dev/null || { echo "sipp is missing: apt-get install -y sip-tester" >&2; exit 1; }
cleanup() {
  for p in $UAC_PID $UAS_PID $PBX_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "${KEEP:-}" ] || { mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/; }
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${PBX_BIN:-}" ]; then
  cp "$PBX_BIN" "$WORK/pbx"
else
  CGO_ENABLED=0 go build -o "$WORK/pbx" ./cmd/pbx
fi
PBX_ADMIN_PASSWORD=$PASS "$WORK/pbx" serve --data "$WORK/data" --sip 127.0.0.1:$SIP_PORT \
  --http 127.0.0.1:$HTTP_PORT --external-ip 127.0.0.1 --log-level warn 2>>"$WORK/pbx.log" &
PBX_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || { echo "PBX did not start:" >&2; cat "$WORK/pbx.log" >&2; exit 1; }
TOKEN=$(curl -fs -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASS\"}" "http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" |
  sed -E 's/.*"token":"([^"]+)".*/\1/')
metric() { curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

echo "creating $CALLS callees and $CALLS callers through the API..."
echo "SEQUENTIAL" > "$WORK/callees.csv"
echo "SEQUENTIAL" > "$WORK/callers.csv"
for i in $(seq 1 "$CALLS"); do
  callee=$((100000 + i)) caller=$((200000 + i))
  echo "$callee;[authentication username=$callee password=bench-secret-$callee]" >> "$WORK/callees.csv"
  echo "$caller;$callee;[authentication username=$caller password=bench-secret-$caller]" >> "$WORK/callers.csv"
  printf '{"number":"%s","secret":"bench-secret-%s"}\n{"number":"%s","secret":"bench-secret-%s"}\n' "$callee" "$callee" "$caller" "$caller"
done | while read -r body; do
  curl -fs -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "$body" "http://127.0.0.1:$HTTP_PORT/api/v1/extensions" || { echo "create failed: $body" >&2; exit 1; }
done

# Every callee registers from the one address:port the answering sipp then listens on.
sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/register_auth.xml" -inf "$WORK/callees.csv" -r 200 -m "$CALLS" \
  -i 127.0.0.1 -p "$UAS_PORT" -timeout 30s -nostdin -trace_err -error_file "$WORK/register-errors.log" >/dev/null 2>&1 || true
registered=$(metric pbx_registrations)
[ "$registered" = "$CALLS" ] || { echo "only $registered of $CALLS callees registered" >&2; exit 1; }

HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
head -c 16000 /dev/zero | tr '\0' '\377' > "$WORK/tone.ulaw" # u-law silence; the relay does not decode
stat_col() { # file column-name: value in the last row
  local head last
  head=$(head -n 1 "$1"); last=$(tail -n 1 "$1")
  echo "$last" | cut -d';' -f"$(echo "$head" | tr ';' '\n' | grep -n "^$2\$" | cut -d: -f1)"
}

(cd "$WORK" && exec sipp -sf "$BENCH/call_uas_rtp.xml" -i 127.0.0.1 -p "$UAS_PORT" -mp 40000 \
  -nostdin -trace_err -error_file "$WORK/uas-errors.log" -fd 1 -trace_stat -stf "$WORK/uas-stat.csv" \
  >/dev/null 2>"$WORK/uas.err") &
UAS_PID=$!
packets0=$(metric pbx_rtp_packets_total); lost0=$(metric pbx_rtp_lost_total)
ans0=$(metric 'pbx_calls_total{answered="true"}'); unans0=$(metric 'pbx_calls_total{answered="false"}')

echo "$CALLS calls at $RATE calls/s, ${SECS} s each, PCMU both ways through the relay, callees on one address:port"
run0=$(ticks "$PBX_PID"); r0=$(date +%s.%N)
(cd "$WORK" && exec sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/call_uac_rtp.xml" \
  -inf "$WORK/callers.csv" -r "$RATE" -m "$CALLS" -l "$CALLS" -d $((SECS * 1000)) -i 127.0.0.1 -p 0 \
  -mp 30000 -timeout $((SECS * 2 + 60))s -nostdin \
  -trace_stat -stf "$WORK/uac-stat.csv" -fd 1 -trace_err -error_file "$WORK/uac-errors.log" >/dev/null 2>"$WORK/uac.err") &
UAC_PID=$!
# The all-up window: from a few seconds after the last call was placed to a
# few seconds before the first hangs up (wall-clock by design: a load script).
up=$((CALLS / RATE + 3)); window=$((SECS - up - 3))
if [ "$window" -ge 3 ]; then
  sleep "$up"
  active=$(metric pbx_calls_active)
  before=$(ticks "$PBX_PID"); t0=$(date +%s.%N)
  sleep "$window"
  t1=$(date +%s.%N); after=$(ticks "$PBX_PID")
fi
wait "$UAC_PID" || true
UAC_PID=
run1=$(ticks "$PBX_PID"); r1=$(date +%s.%N)
sleep 1 # the PBX's last BYEs to the UAS
kill -INT "$UAS_PID" 2>/dev/null; wait "$UAS_PID" 2>/dev/null || true; UAS_PID=

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
printf 'PBX CPU over the run: %.2f cores\n' "$(echo "($run1 - $run0) / $HZ / ($r1 - $r0)" | bc -l)"
[ -z "${t0:-}" ] || printf 'PBX CPU with all %s calls up: %.2f cores\n' "$active" "$(echo "($after - $before) / $HZ / ($t1 - $t0)" | bc -l)"
[ "$bad" = 0 ] && [ "$ok" = "$CALLS" ]
