# bench/lib.sh: what the load scripts share. Source it after setting
# SIP_PORT and HTTP_PORT; it makes WORK, builds (or copies PBX_BIN) and
# starts the PBX there, logs in (TOKEN) and cleans up on exit (KEEP=dir
# keeps the work folder). Scripts add their own pids to EXTRA_PIDS.
set -euo pipefail

PASS=bench-admin-password
WORK=$(mktemp -d)
BENCH=$PWD/bench/sipp
PBX_PID=
EXTRA_PIDS=
HZ=$(getconf CLK_TCK)

command -v sipp >/dev/null || { echo "sipp is missing: apt-get install -y sip-tester" >&2; exit 1; }
bench_cleanup() {
  for p in $EXTRA_PIDS $PBX_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "${KEEP:-}" ] || { mkdir -p "$KEEP" && cp -r "$WORK"/. "$KEEP"/; }
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

# start_pbx builds and starts the PBX on a fresh data directory, waits for
# it and logs in.
start_pbx() {
  if [ -n "${PBX_BIN:-}" ]; then
    cp "$PBX_BIN" "$WORK/pbx"
  else
    CGO_ENABLED=0 go build -o "$WORK/pbx" ./cmd/pbx
  fi
  PBX_ADMIN_PASSWORD=$PASS "$WORK/pbx" serve --data "$WORK/data" --sip 127.0.0.1:$SIP_PORT \
    --http 127.0.0.1:$HTTP_PORT --external-ip 127.0.0.1 --log-level warn "$@" 2>>"$WORK/pbx.log" &
  PBX_PID=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
  curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || { echo "PBX did not start:" >&2; cat "$WORK/pbx.log" >&2; exit 1; }
  TOKEN=$(curl -fs -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PASS\"}" "http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" |
    sed -E 's/.*"token":"([^"]+)".*/\1/')
}

# metric NAME prints the value of one series from /metrics.
metric() { curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# api_post PATH: POSTs each JSON line of stdin to /api/v1/PATH.
api_post() {
  while read -r body; do
    curl -fs -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d "$body" "http://127.0.0.1:$HTTP_PORT/api/v1/$1" || { echo "create failed: $body" >&2; exit 1; }
  done
}

# ticks PID: CPU clock ticks (user + system) the process has used.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# stat_col FILE COLUMN: the value of a sipp -trace_stat column in the last row.
stat_col() {
  local head last
  head=$(head -n 1 "$1"); last=$(tail -n 1 "$1")
  echo "$last" | cut -d';' -f"$(echo "$head" | tr ';' '\n' | grep -n "^$2\$" | cut -d: -f1)"
}

# cores T0 T1 TICKS0 TICKS1: CPU cores used over a wall-clock window.
cores() { printf '%.2f' "$(echo "($4 - $3) / $HZ / ($2 - $1)" | bc -l)"; }

# make_pairs N: creates N callee extensions (100001...) and N caller
# extensions (200001...) through the API, with WORK/callees.csv (for
# register_auth.xml) and WORK/callers.csv (caller;callee;auth, for
# call_uac*.xml), caller i calling callee i (dialing DIAL_PREFIX first,
# if set).
make_pairs() {
  echo "SEQUENTIAL" > "$WORK/callees.csv"
  echo "SEQUENTIAL" > "$WORK/callers.csv"
  for i in $(seq 1 "$1"); do
    callee=$((100000 + i)) caller=$((200000 + i))
    echo "$callee;[authentication username=$callee password=bench-secret-$callee]" >> "$WORK/callees.csv"
    echo "$caller;${DIAL_PREFIX:-}$callee;[authentication username=$caller password=bench-secret-$caller]" >> "$WORK/callers.csv"
    printf '{"number":"%s","secret":"bench-secret-%s"}\n{"number":"%s","secret":"bench-secret-%s"}\n' "$callee" "$callee" "$caller" "$caller"
  done | api_post extensions
}
