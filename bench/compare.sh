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
# divided by the successful registrations or calls, and the context switches
# of the server's threads per success. The ratio column is
# Kamailio's CPU per success over the PBX's: the PBX's efficiency relative
# to Kamailio's (1.0 = as cheap, above 1 = cheaper).
#
# Each row also gives sipp's retransmissions: a response lost or late by
# more than 500 ms. A retransmitted REGISTER whose first copy was accepted
# is refused by both servers (its nonce count is a replay) and the sipp call
# fails, so failures with retransmissions but no server errors point at
# the machine (sipp or a server descheduled), not at the server's logic.
# The script refuses to start if KAM_PORT is already taken (a Kamailio left
# over from an earlier run would share the load uncounted), and prints the
# number of errors Kamailio logged, if any.
#
# Usage: bench/compare.sh      (defaults below; override by env)
#   RATES="1000 2000 4000 5000"  CALL_RATES="200 400 600"  SECONDS_PER_STEP=10
#   USERS=1000  CALLEES=200  PAUSE_MS=1000  CHILDREN=2
#   RATES="" or CALL_RATES="" skips that anchor.
#   ROUNDS=3       run each step three times against each server, taking
#                  turns at going first, and summarise the rounds together:
#                  on a shared machine one step's CPU per success can move
#                  by half from one run to the next.
# Small run: RATES="500 1000" CALL_RATES="200 400" SECONDS_PER_STEP=5 bench/compare.sh
#   PBX_BIN=path   run this binary instead of building the checkout
#   KEEP=dir       keep the work folder (sipp error files, kamailio.log);
#                  KEEP_ERRORS=dir is the old name
#   KAM_ALLOC=qm   Kamailio's memory allocator (default tlsf, see kamailio.cfg)
#   SIPP_BUFF=n    sipp's socket buffer size in bytes (default 4 MB)
#   ONLY=kamailio  run the steps against one server only (ONLY=pbx: the
#                  PBX only), e.g. to find where one of them fails
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES-"1000 2000 4000 5000"} # empty: skip anchor 1
CALL_RATES=${CALL_RATES-"200 400 600"} # empty: skip anchor 2
STEP=${SECONDS_PER_STEP:-10}
ROUNDS=${ROUNDS:-1}
USERS=${USERS:-1000}
CALLEES=${CALLEES:-200}
PAUSE_MS=${PAUSE_MS:-1000}
CHILDREN=${CHILDREN:-2}
KAM_ALLOC=${KAM_ALLOC:-tlsf}
SIPP_BUFF=${SIPP_BUFF:-4194304}
SIP_PORT=${SIP_PORT:-26060}
HTTP_PORT=${HTTP_PORT:-28180}
KAM_PORT=${KAM_PORT:-5070}
UAS_PORT=${UAS_PORT:-26070}
KEEP=${KEEP:-${KEEP_ERRORS:-}}
ONLY=${ONLY:-} # pbx or kamailio: run the steps against that server only
for cmd in kamailio bc curl; do
  command -v "$cmd" >/dev/null || { echo "$cmd is missing: apt-get install -y kamailio bc curl" >&2; exit 1; }
done
# A Kamailio (or anything) left on KAM_PORT from an earlier run would take
# part of the load and its CPU would not be counted: refuse to start.
if [ -n "$(ss -Hlun "sport = :$KAM_PORT" 2>/dev/null)" ]; then
  echo "UDP port $KAM_PORT is already in use (a stale kamailio?):" >&2
  ss -Hlunp "sport = :$KAM_PORT" >&2
  exit 1
fi
. bench/lib.sh
KAM_CFG=$PWD/bench/kamailio/kamailio.cfg
KAM_PID=
start_pbx

# Users: registrar users 300001..., callees 100001..., callers 200001...;
# the password of user N is bench-secret-N on both servers.
echo "creating $USERS registrar users, $CALLEES callees and $CALLEES callers on both servers..."
echo "SEQUENTIAL" > "$WORK/users.csv"
for i in $(seq 1 "$USERS"); do
  num=$((300000 + i))
  echo "$num;[authentication username=$num password=bench-secret-$num]" >> "$WORK/users.csv"
  echo "{\"number\":\"$num\",\"secret\":\"bench-secret-$num\"}"
done | api_post extensions
make_pairs "$CALLEES"
echo "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int)" > "$WORK/passwords"
{
  for i in $(seq 1 "$USERS"); do echo $((300000 + i)); done
  for i in $(seq 1 "$CALLEES"); do echo $((100000 + i)); echo $((200000 + i)); done
} | while read -r num; do echo "0:$num:0:0:bench-secret-$num:0"; done >> "$WORK/passwords"

# --- Kamailio --------------------------------------------------------------
# -m: shared memory (MB) for tm's transactions and usrloc; -M: private memory
# per process; -x/-X: the TLSF allocator for both (see kamailio.cfg).
(cd "$WORK" && exec kamailio -DD -E -f "$KAM_CFG" -m 512 -M 16 -x "$KAM_ALLOC" -X "$KAM_ALLOC" -n "$CHILDREN" \
  -l "udp:127.0.0.1:$KAM_PORT" -Y "$WORK" -A "DBURL=\"text://$WORK\"" >"$WORK/kamailio.log" 2>&1) &
KAM_PID=$!
EXTRA_PIDS="$EXTRA_PIDS $KAM_PID"
for _ in $(seq 50); do grep -q 'Listening on' "$WORK/kamailio.log" && break; sleep 0.1; done
sleep 1 # its workers fork after it prints its sockets
kill -0 "$KAM_PID" 2>/dev/null || { echo "Kamailio did not start:" >&2; cat "$WORK/kamailio.log" >&2; exit 1; }

# a process and its children (Kamailio's workers and timers).
tree_pids() { echo "$1" $(pgrep -P "$1"); }

# ticks of a process and its children.
tree_ticks() {
  local sum=0 pid
  for pid in $(tree_pids "$1"); do sum=$((sum + $(ticks "$pid" 2>/dev/null || echo 0))); done
  echo "$sum"
}

# context switches (voluntary and involuntary) of every thread of a process
# and of its children. On this machine (a paravirtualised guest) a switch
# costs several microseconds of the switching process's system time, so
# the count per success explains much of the CPU gap (docs/benchmarks.md).
tree_switches() {
  local pid
  for pid in $(tree_pids "$1"); do cat /proc/"$pid"/task/*/status 2>/dev/null; done |
    awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}'
}

# run_step NAME PID PORT SCENARIO INF RATE CALLS LIMIT EXTRA...: one sipp run
# against one server; sets OK, BAD, RETRANS, ELAPSED, CPU_TICKS, SWITCHES,
# SIPP_CPU.
# -buff_size: sipp's socket buffers (its default, 64 KB, overflowed at
# 5,000/s whenever the busy machine descheduled sipp for a few ms: the
# kernel dropped responses, sipp retransmitted the REGISTER with the same
# nonce count, and both servers rightly refused it as a replay).
run_step() {
  local name=$1 pid=$2 port=$3 sf=$4 inf=$5 rate=$6 calls=$7 limit=$8; shift 8
  local before after sw0 sw1 t0 t1
  rm -f "$WORK/stat.csv"
  sw0=$(tree_switches "$pid"); before=$(tree_ticks "$pid"); t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$WORK/sipp.time" sipp 127.0.0.1:"$port" -sf "$sf" -inf "$inf" \
    -r "$rate" -rp 1000 -m "$calls" -l "$limit" -i 127.0.0.1 -p 0 -buff_size "$SIPP_BUFF" "$@" \
    -timeout $((STEP * 3 + 10))s -max_recv_loops 5000 -max_sched_loops 5000 -nostdin \
    -trace_stat -stf "$WORK/stat.csv" -fd 1 -trace_err -error_file "$WORK/errors-$name-$rate.log" >/dev/null 2>"$WORK/sipp.err" || true
  t1=$(date +%s.%N); after=$(tree_ticks "$pid"); sw1=$(tree_switches "$pid")
  OK=$(stat_col "$WORK/stat.csv" 'SuccessfulCall(C)')
  BAD=$(stat_col "$WORK/stat.csv" 'FailedCall(C)')
  RETRANS=$(stat_col "$WORK/stat.csv" 'Retransmissions(C)')
  ELAPSED=$(echo "$t1 - $t0" | bc -l)
  CPU_TICKS=$((after - before))
  SWITCHES=$((sw1 - sw0))
  SIPP_CPU=$(tail -n 1 "$WORK/sipp.time" | awk -v e="$ELAPSED" '{printf "%.2f", ($1 + $2) / e}')
}
per() { [ "$2" -gt 0 ] && echo "$1 / $2" | bc -l || echo 0; } # count successes
us_per() { [ "$2" -gt 0 ] && echo "1000000 * $1 / $HZ / $2" | bc -l || echo 0; } # ticks successes
row() { # server rate
  printf '%-9s %-8s %-9.0f %-8s %-6s %-7.3f %-7.2f %-12.1f %-9.2f %-10s %s\n' "$1" "$2" "$(echo "$OK / $ELAPSED" | bc -l)" "$OK" "$BAD" \
    "$(echo "100 * $BAD / ($OK + $BAD + 0.000001)" | bc -l)" "$(echo "$CPU_TICKS / $HZ / $ELAPSED" | bc -l)" \
    "$(us_per "$CPU_TICKS" "$OK")" "$(per "$SWITCHES" "$OK")" "$SIPP_CPU" "$RETRANS"
}
ratio() { [ "$(echo "$1 > 0" | bc)" = 1 ] && printf '%.2f' "$(echo "$2 / $1" | bc -l)" || echo n/a; } # pbx_us kam_us
header() { printf '%-9s %-8s %-9s %-8s %-6s %-7s %-7s %-12s %-9s %-10s %s\n' server offered achieved "$1" failed fail% cores "$2" switches sipp_cores retrans; }

SUMMARY=()

# both ANCHOR RATE SCENARIO INF LIMIT EXTRA...: one step of an anchor at
# RATE against the PBX and Kamailio (or one of them, ONLY=), ROUNDS times,
# taking turns at going first; prints a row per run and adds the pair's
# line to SUMMARY: CPU per success over all the rounds (the ticks of every
# round over the successes of every round), the failures summed.
both() {
  local anchor=$1 rate=$2 sf=$3 inf=$4 limit=$5; shift 5
  local calls=$((rate * STEP)) r order server
  local pbx_ticks=0 pbx_ok=0 pbx_bad=0 pbx_swn=0 kam_ticks=0 kam_ok=0 kam_bad=0 kam_swn=0
  for r in $(seq 1 "$ROUNDS"); do
    order="pbx kamailio"
    [ $((r % 2)) = 0 ] && order="kamailio pbx"
    for server in $order; do
      [ -n "$ONLY" ] && [ "$ONLY" != "$server" ] && continue
      if [ "$server" = pbx ]; then
        run_step "pbx-$anchor" "$PBX_PID" "$SIP_PORT" "$sf" "$inf" "$rate" "$calls" "$limit" "$@"
        row pbx "$rate"
        pbx_ticks=$((pbx_ticks + CPU_TICKS)); pbx_ok=$((pbx_ok + OK)); pbx_bad=$((pbx_bad + BAD)); pbx_swn=$((pbx_swn + SWITCHES))
      else
        run_step "kam-$anchor" "$KAM_PID" "$KAM_PORT" "$sf" "$inf" "$rate" "$calls" "$limit" "$@"
        row kamailio "$rate"
        kam_ticks=$((kam_ticks + CPU_TICKS)); kam_ok=$((kam_ok + OK)); kam_bad=$((kam_bad + BAD)); kam_swn=$((kam_swn + SWITCHES))
      fi
    done
  done
  local pbx_us kam_us pbx_fail=$pbx_bad kam_fail=$kam_bad
  pbx_us=$(us_per "$pbx_ticks" "$pbx_ok"); kam_us=$(us_per "$kam_ticks" "$kam_ok")
  [ "$ONLY" = kamailio ] && pbx_fail=-
  [ "$ONLY" = pbx ] && kam_fail=-
  SUMMARY+=("$(printf '%-9s %-6s %-10.1f %-10.1f %-6s %-6s %-6s %-6.2f %-6.2f' "$anchor" "$rate" "$pbx_us" "$kam_us" "$pbx_fail" "$kam_fail" \
    "$(ratio "$pbx_us" "$kam_us")" "$(per "$pbx_swn" "$pbx_ok")" "$(per "$kam_swn" "$kam_ok")")")
}

# --- anchor 1: authenticated registration ----------------------------------
if [ -n "$RATES" ]; then
  echo
  echo "Anchor 1: REGISTER / 401 / REGISTER (MD5 digest, qop=auth) / 200; $USERS users, ${STEP} s per step"
  header succeeded "cpu_us/reg"
  for rate in $RATES; do
    both register "$rate" "$BENCH/register_auth.xml" "$WORK/users.csv" $((rate * 2)) -recv_timeout 4000
  done
fi

# --- anchor 2: call set-up -------------------------------------------------
if [ -n "$CALL_RATES" ]; then
  # The callees register with both servers from the answering sipp's port.
  for port in $SIP_PORT $KAM_PORT; do
    sipp 127.0.0.1:"$port" -sf "$BENCH/register_auth.xml" -inf "$WORK/callees.csv" -r 500 -m "$CALLEES" \
      -i 127.0.0.1 -p "$UAS_PORT" -timeout 30s -nostdin >/dev/null 2>&1 || { echo "callees failed to register at port $port" >&2; exit 1; }
  done
  (cd "$WORK" && exec sipp -sf "$BENCH/call_uas.xml" -i 127.0.0.1 -p "$UAS_PORT" -mp 40000 -nostdin \
    -trace_err -error_file "$WORK/uas-errors.log" >/dev/null 2>"$WORK/uas.err") &
  EXTRA_PIDS="$EXTRA_PIDS $!"
  echo
  echo "Anchor 2: call set-up INVITE / 407 / ACK / INVITE+digest / 180 / 200 / ACK / ${PAUSE_MS} ms / BYE / 200; $CALLEES callees, ${STEP} s per step"
  echo "(the PBX is a B2BUA: two dialogs per call; Kamailio a stateful record-routing proxy: one)"
  header succeeded "cpu_us/call"
  for rate in $CALL_RATES; do
    both call "$rate" "$BENCH/call_uac.xml" "$WORK/callers.csv" $((rate * 4)) -d "$PAUSE_MS" -mp 30000 -recv_timeout 8000
  done
  echo "PBX: $(metric 'pbx_calls_total{answered="true"}') calls answered, $(metric pbx_calls_active) still up"
fi

echo
echo "Summary: CPU per success (µs, over $ROUNDS round(s)), ratio = Kamailio µs / PBX µs (>= 1.0: the PBX is as cheap or cheaper)"
echo "(pbx_cs, kam_cs: context switches per success, every thread of the server)"
printf '%-9s %-6s %-10s %-10s %-6s %-6s %-6s %-6s %s\n' anchor rate pbx_us kam_us pbx_f kam_f ratio pbx_cs kam_cs
printf '%s\n' "${SUMMARY[@]}"
errors=$(grep -c 'ERROR' "$WORK/kamailio.log" || true)
[ "$errors" = 0 ] || echo "Kamailio logged $errors errors ($WORK/kamailio.log; KEEP=dir keeps it): $(grep -m 1 ERROR "$WORK/kamailio.log")"
