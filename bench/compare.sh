#!/usr/bin/env bash
# The PBX beside Kamailio under the same sipp load, in one run on one machine.
#
# Starts the PBX (built from this checkout) on a fresh data directory and
# Kamailio (Debian's package, bench/kamailio/kamailio.cfg, in the foreground
# with CHILDREN UDP workers) on another loopback port, gives both the same
# users and passwords (the PBX through the REST API, Kamailio through a
# db_text table loaded into an in-memory hash), then runs two anchors, each
# rate against the PBX and then against Kamailio:
#
#  1. Registrar: sipp's register_auth.xml (REGISTER, 401, REGISTER with MD5
#     digest, qop=auth, 200), USERS users cycling, at each rate of RATES.
#  2. Call set-up: CALLEES callees registered from the port an answering sipp
#     (call_uas.xml) listens on; a calling sipp runs call_uac.xml (INVITE,
#     407, ACK, INVITE with digest, 180/200, ACK, PAUSE_MS, BYE, 200) at each
#     rate of CALL_RATES. Kamailio is a stateful proxy (tm, record-route,
#     registrar, usrloc) to the callee; the PBX a B2BUA (two dialogs a call).
#
# For each step it prints the achieved rate (successes over the wall time of
# the sipp run), failures, and CPU per success: utime+stime of the server's
# processes (/proc/PID/stat; for Kamailio the main process and its children)
# divided by the successful registrations or calls. The ratio column is
# Kamailio's CPU per success over the PBX's: the PBX's efficiency relative
# to Kamailio's (1.0 = as cheap, above 1 = cheaper).
#
# Usage: bench/compare.sh      (defaults below; override by env)
#   RATES="1000 2000 4000 5000"  CALL_RATES="200 400 600"  SECONDS_PER_STEP=10
#   USERS=1000  CALLEES=200  PAUSE_MS=1000  CHILDREN=2
# Small run: RATES="500 1000" CALL_RATES="200 400" SECONDS_PER_STEP=5 bench/compare.sh
#   PBX_BIN=path   run this binary instead of building the checkout
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"1000 2000 4000 5000"}
CALL_RATES=${CALL_RATES-"200 400 600"} # empty: skip anchor 2
STEP=${SECONDS_PER_STEP:-10}
USERS=${USERS:-1000}
CALLEES=${CALLEES:-200}
PAUSE_MS=${PAUSE_MS:-1000}
CHILDREN=${CHILDREN:-2}
SIP_PORT=${SIP_PORT:-26060}
HTTP_PORT=${HTTP_PORT:-28180}
KAM_PORT=${KAM_PORT:-5070}
UAS_PORT=${UAS_PORT:-26070}
PASS=bench-admin-password
WORK=$(mktemp -d)
BENCH=$PWD/bench/sipp
KAM_CFG=$PWD/bench/kamailio/kamailio.cfg
PBX_PID=
KAM_PID=
UAS_PID=

for cmd in sipp kamailio bc curl; do
  command -v "$cmd" >/dev/null || { echo "$cmd is missing: apt-get install -y sip-tester kamailio bc curl" >&2; exit 1; }
done
cleanup() {
  for pid in $UAS_PID $KAM_PID $PBX_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null
  [ -z "${KEEP_ERRORS:-}" ] || cp -r "$WORK" "$KEEP_ERRORS"
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "${PBX_BIN:-}" ]; then
  cp "$PBX_BIN" "$WORK/pbx"
else
  CGO_ENABLED=0 go build -o "$WORK/pbx" ./cmd/pbx
fi

# --- the PBX ---------------------------------------------------------------
PBX_ADMIN_PASSWORD=$PASS "$WORK/pbx" serve --data "$WORK/data" --sip 127.0.0.1:$SIP_PORT \
  --http 127.0.0.1:$HTTP_PORT --external-ip 127.0.0.1 --log-level warn 2>>"$WORK/pbx.log" &
PBX_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || { echo "PBX did not start:" >&2; cat "$WORK/pbx.log" >&2; exit 1; }
TOKEN=$(curl -fs -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASS\"}" "http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" |
  sed -E 's/.*"token":"([^"]+)".*/\1/')
metric() { curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# Users: registrar users 300001..., callees 100001..., callers 200001...;
# the password of user N is bench-secret-N on both servers.
echo "creating $USERS registrar users, $CALLEES callees and $CALLEES callers on both servers..."
echo "SEQUENTIAL" > "$WORK/users.csv"
echo "SEQUENTIAL" > "$WORK/callees.csv"
echo "SEQUENTIAL" > "$WORK/callers.csv"
echo "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int)" > "$WORK/passwords"
{
  for i in $(seq 1 "$USERS"); do echo "user $((300000 + i))"; done
  for i in $(seq 1 "$CALLEES"); do echo "callee $((100000 + i))"; echo "caller $((200000 + i)) $((100000 + i))"; done
} | while read -r kind num callee; do
  auth="[authentication username=$num password=bench-secret-$num]"
  case $kind in
    user) echo "$num;$auth" >> "$WORK/users.csv" ;;
    callee) echo "$num;$auth" >> "$WORK/callees.csv" ;;
    caller) echo "$num;$callee;$auth" >> "$WORK/callers.csv" ;;
  esac
  echo "0:$num:0:0:bench-secret-$num:0" >> "$WORK/passwords"
  curl -fs -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"number\":\"$num\",\"secret\":\"bench-secret-$num\"}" "http://127.0.0.1:$HTTP_PORT/api/v1/extensions" ||
    { echo "creating extension $num failed" >&2; exit 1; }
done

# --- Kamailio --------------------------------------------------------------
(cd "$WORK" && exec kamailio -DD -E -f "$KAM_CFG" -m 256 -M 16 -n "$CHILDREN" \
  -l "udp:127.0.0.1:$KAM_PORT" -Y "$WORK" -A "DBURL=\"text://$WORK\"" 2>"$WORK/kamailio.log") &
KAM_PID=$!
for _ in $(seq 50); do grep -q 'Listening on' "$WORK/kamailio.log" && break; sleep 0.1; done
sleep 1 # its workers fork after it prints its sockets
kill -0 "$KAM_PID" 2>/dev/null || { echo "Kamailio did not start:" >&2; cat "$WORK/kamailio.log" >&2; exit 1; }

HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# ticks of a process and its children (Kamailio's workers and timers).
tree_ticks() {
  local sum pid
  sum=$(ticks "$1")
  for pid in $(pgrep -P "$1"); do sum=$((sum + $(ticks "$pid" 2>/dev/null || echo 0))); done
  echo "$sum"
}
stat_col() { # file column-name: value in the last row
  local head last
  head=$(head -n 1 "$1"); last=$(tail -n 1 "$1")
  echo "$last" | cut -d';' -f"$(echo "$head" | tr ';' '\n' | grep -n "^$2\$" | cut -d: -f1)"
}

# run_step NAME PID PORT SCENARIO INF RATE CALLS LIMIT EXTRA...: one sipp run
# against one server; sets OK, BAD, ELAPSED, CPU_TICKS, SIPP_CPU.
run_step() {
  local name=$1 pid=$2 port=$3 sf=$4 inf=$5 rate=$6 calls=$7 limit=$8; shift 8
  local before after t0 t1
  rm -f "$WORK/stat.csv"
  before=$(tree_ticks "$pid"); t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$WORK/sipp.time" sipp 127.0.0.1:"$port" -sf "$sf" -inf "$inf" \
    -r "$rate" -rp 1000 -m "$calls" -l "$limit" -i 127.0.0.1 -p 0 "$@" \
    -timeout $((STEP * 3 + 10))s -max_recv_loops 5000 -max_sched_loops 5000 -nostdin \
    -trace_stat -stf "$WORK/stat.csv" -fd 1 -trace_err -error_file "$WORK/errors-$name-$rate.log" >/dev/null 2>"$WORK/sipp.err" || true
  t1=$(date +%s.%N); after=$(tree_ticks "$pid")
  OK=$(stat_col "$WORK/stat.csv" 'SuccessfulCall(C)')
  BAD=$(stat_col "$WORK/stat.csv" 'FailedCall(C)')
  ELAPSED=$(echo "$t1 - $t0" | bc -l)
  CPU_TICKS=$((after - before))
  SIPP_CPU=$(tail -n 1 "$WORK/sipp.time" | awk -v e="$ELAPSED" '{printf "%.2f", ($1 + $2) / e}')
}
us_per() { [ "$2" -gt 0 ] && echo "1000000 * $1 / $HZ / $2" | bc -l || echo 0; } # ticks successes
row() { # server rate
  printf '%-9s %-8s %-9.0f %-8s %-6s %-7.3f %-7.2f %-12.1f %s\n' "$1" "$2" "$(echo "$OK / $ELAPSED" | bc -l)" "$OK" "$BAD" \
    "$(echo "100 * $BAD / ($OK + $BAD + 0.000001)" | bc -l)" "$(echo "$CPU_TICKS / $HZ / $ELAPSED" | bc -l)" \
    "$(us_per "$CPU_TICKS" "$OK")" "$SIPP_CPU"
}
ratio() { [ "$(echo "$1 > 0" | bc)" = 1 ] && printf '%.2f' "$(echo "$2 / $1" | bc -l)" || echo n/a; } # pbx_us kam_us
header() { printf '%-9s %-8s %-9s %-8s %-6s %-7s %-7s %-12s %s\n' server offered achieved "$1" failed fail% cores "$2" sipp_cores; }

SUMMARY=()

# --- anchor 1: authenticated registration ----------------------------------
echo
echo "Anchor 1: REGISTER / 401 / REGISTER (MD5 digest, qop=auth) / 200; $USERS users, ${STEP} s per step"
header succeeded "cpu_us/reg"
for rate in $RATES; do
  calls=$((rate * STEP))
  run_step pbx-reg "$PBX_PID" "$SIP_PORT" "$BENCH/register_auth.xml" "$WORK/users.csv" "$rate" "$calls" $((rate * 2)) -recv_timeout 4000
  row pbx "$rate"; pbx_us=$(us_per "$CPU_TICKS" "$OK"); pbx_fail=$BAD
  run_step kam-reg "$KAM_PID" "$KAM_PORT" "$BENCH/register_auth.xml" "$WORK/users.csv" "$rate" "$calls" $((rate * 2)) -recv_timeout 4000
  row kamailio "$rate"; kam_us=$(us_per "$CPU_TICKS" "$OK")
  SUMMARY+=("$(printf 'register  %-6s %-10.1f %-10.1f %-6s %-6s %s' "$rate" "$pbx_us" "$kam_us" "$pbx_fail" "$BAD" "$(ratio "$pbx_us" "$kam_us")")")
done

# --- anchor 2: call set-up -------------------------------------------------
# The callees register with both servers from the answering sipp's port.
for port in $SIP_PORT $KAM_PORT; do
  sipp 127.0.0.1:"$port" -sf "$BENCH/register_auth.xml" -inf "$WORK/callees.csv" -r 500 -m "$CALLEES" \
    -i 127.0.0.1 -p "$UAS_PORT" -timeout 30s -nostdin >/dev/null 2>&1 || { echo "callees failed to register at port $port" >&2; exit 1; }
done
(cd "$WORK" && exec sipp -sf "$BENCH/call_uas.xml" -i 127.0.0.1 -p "$UAS_PORT" -mp 40000 -nostdin \
  -trace_err -error_file "$WORK/uas-errors.log" >/dev/null 2>"$WORK/uas.err") &
UAS_PID=$!
echo
echo "Anchor 2: call set-up INVITE / 407 / ACK / INVITE+digest / 180 / 200 / ACK / ${PAUSE_MS} ms / BYE / 200; $CALLEES callees, ${STEP} s per step"
echo "(the PBX is a B2BUA: two dialogs per call; Kamailio a stateful record-routing proxy: one)"
header succeeded "cpu_us/call"
for rate in $CALL_RATES; do
  calls=$((rate * STEP))
  run_step pbx-call "$PBX_PID" "$SIP_PORT" "$BENCH/call_uac.xml" "$WORK/callers.csv" "$rate" "$calls" $((rate * 4)) \
    -d "$PAUSE_MS" -mp 30000 -recv_timeout 8000
  row pbx "$rate"; pbx_us=$(us_per "$CPU_TICKS" "$OK"); pbx_fail=$BAD
  run_step kam-call "$KAM_PID" "$KAM_PORT" "$BENCH/call_uac.xml" "$WORK/callers.csv" "$rate" "$calls" $((rate * 4)) \
    -d "$PAUSE_MS" -mp 30000 -recv_timeout 8000
  row kamailio "$rate"; kam_us=$(us_per "$CPU_TICKS" "$OK")
  SUMMARY+=("$(printf 'call      %-6s %-10.1f %-10.1f %-6s %-6s %s' "$rate" "$pbx_us" "$kam_us" "$pbx_fail" "$BAD" "$(ratio "$pbx_us" "$kam_us")")")
done
echo "PBX: $(metric 'pbx_calls_total{answered="true"}') calls answered, $(metric pbx_calls_active) still up"

echo
echo "Summary: CPU per success (µs), ratio = Kamailio µs / PBX µs (>= 1.0: the PBX is as cheap or cheaper)"
printf '%-9s %-6s %-10s %-10s %-6s %-6s %s\n' anchor rate pbx_us kam_us pbx_f kam_f ratio
printf '%s\n' "${SUMMARY[@]}"
