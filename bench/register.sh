#!/usr/bin/env bash
# Authenticated REGISTER throughput, measured with sipp on loopback.
#
# Starts the PBX (built from this checkout) on a fresh data directory,
# creates EXTENSIONS extensions through the REST API, then drives sipp's
# REGISTER/401/REGISTER+digest/200 scenario at each rate of RATES for
# SECONDS seconds, printing per step: offered rate, achieved rate of
# successful authenticated registrations, failures, and the PBX's CPU use.
# Finally it restarts the PBX and checks that the registrations were
# persisted (they are read back from SQLite).
#
# Usage: bench/register.sh            (defaults below; override by env)
#   RATES="1000 2000 4000 5000 6000"  SECONDS_PER_STEP=10  EXTENSIONS=2000
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"1000 2000 4000 5000 6000 8000"}
STEP=${SECONDS_PER_STEP:-10}
EXTENSIONS=${EXTENSIONS:-2000}
SIP_PORT=${SIP_PORT:-25060}
HTTP_PORT=${HTTP_PORT:-28080}
PASS=bench-admin-password
WORK=$(mktemp -d)
PBX_PID=

command -v sipp >/dev/null || { echo "sipp is missing: apt-get install -y sip-tester" >&2; exit 1; }
cleanup() { [ -n "$PBX_PID" ] && kill "$PBX_PID" 2>/dev/null; wait 2>/dev/null; [ -z "${KEEP_ERRORS:-}" ] || cp "$WORK/pbx.log" "$KEEP_ERRORS.pbx.log"; rm -rf "$WORK"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$WORK/pbx" ./cmd/pbx

start_pbx() {
  PBX_ADMIN_PASSWORD=$PASS "$WORK/pbx" serve --data "$WORK/data" --sip 127.0.0.1:$SIP_PORT \
    --http 127.0.0.1:$HTTP_PORT --external-ip 127.0.0.1 --log-level warn 2>>"$WORK/pbx.log" &
  PBX_PID=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "PBX did not start:" >&2; cat "$WORK/pbx.log" >&2; exit 1
}
stop_pbx() { kill -TERM "$PBX_PID"; wait "$PBX_PID" || true; PBX_PID=; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PBX_PID/stat"; }
login() {
  curl -fs -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASS\"}" "http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" |
    sed -E 's/.*"token":"([^"]+)".*/\1/'
}

start_pbx
TOKEN=$(login)
echo "creating $EXTENSIONS extensions through the API..."
echo "SEQUENTIAL" > "$WORK/users.csv"
for i in $(seq 1 "$EXTENSIONS"); do
  num=$((100000 + i)); secret="bench-secret-$num"
  echo "$num;[authentication username=$num password=$secret]" >> "$WORK/users.csv"
  printf '{"number":"%s","secret":"%s"}\n' "$num" "$secret"
done | while read -r body; do
  curl -fs -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "$body" "http://127.0.0.1:$HTTP_PORT/api/v1/extensions" || { echo "create failed: $body" >&2; exit 1; }
done

HZ=$(getconf CLK_TCK)
printf '\n%-8s %-10s %-10s %-9s %-8s %-15s %s\n' offered achieved succeeded failed fail% "pbx_cpu(cores)" "sipp_cpu(cores)"
for rate in $RATES; do
  calls=$((rate * STEP))
  before=$(cpu_ticks); t0=$(date +%s.%N)
  rm -f "$WORK"/stat*.csv
  /usr/bin/time -f "%U %S" -o "$WORK/sipp.time" sipp 127.0.0.1:$SIP_PORT -sf bench/sipp/register_auth.xml -inf "$WORK/users.csv" \
    -r "$rate" -rp 1000 -m "$calls" -l $((rate * 2)) -i 127.0.0.1 -p 0 \
    -timeout $((STEP * 3))s -recv_timeout 4000 -max_recv_loops 5000 -max_sched_loops 5000 -nostdin \
    -trace_stat -stf "$WORK/stat.csv" -fd 1 -trace_err -error_file "$WORK/sipp-errors.log" >/dev/null 2>"$WORK/sipp.err" || true
  [ -z "${KEEP_ERRORS:-}" ] || cp "$WORK/sipp-errors.log" "$KEEP_ERRORS.$rate" 2>/dev/null || true
  t1=$(date +%s.%N); after=$(cpu_ticks)
  last=$(tail -n 1 "$WORK/stat.csv")
  head=$(head -n 1 "$WORK/stat.csv")
  col() { echo "$head" | tr ';' '\n' | grep -n "^$1\$" | cut -d: -f1; }
  ok=$(echo "$last" | cut -d';' -f"$(col 'SuccessfulCall(C)')")
  bad=$(echo "$last" | cut -d';' -f"$(col 'FailedCall(C)')")
  elapsed=$(echo "$t1 - $t0" | bc -l)
  cores=$(echo "($after - $before) / $HZ / $elapsed" | bc -l)
  sipp_cores=$(tail -n 1 "$WORK/sipp.time" | awk -v e="$elapsed" '{print ($1 + $2) / e}')
  printf '%-8s %-10.0f %-10s %-9s %-8.3f %-15.2f %.2f\n' "$rate" "$(echo "$ok / $elapsed" | bc -l)" "$ok" "$bad" \
    "$(echo "100 * $bad / ($ok + $bad)" | bc -l)" "$cores" "$sipp_cores"
done

live=$(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^pbx_registrations /{print $2}')
stop_pbx
start_pbx
TOKEN=$(login)
persisted=$(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^pbx_registrations /{print $2}')
echo
echo "bindings before restart: $live; read back from SQLite after restart: $persisted"
[ "$live" = "$persisted" ] || { echo "registrations were lost" >&2; exit 1; }
