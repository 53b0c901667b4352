#!/usr/bin/env bash
# Conference load: CALLS callers dial into conference rooms of ROOM_SIZE
# (one room of CALLS when ROOM_SIZE is 0), each streaming 20 ms PCMU
# (a 440 Hz tone: every caller talks, the worst case for the mixer) for
# SECONDS s, through the PBX's mixer.
#
# Starts the PBX (built from this checkout) on a fresh data directory,
# creates the callers and rooms through the REST API (no PIN, no tones),
# and places the calls with sipp at RATE calls/s. Reports: calls answered
# and failed (sipp, and the PBX's counters), RTP loss on the way in
# (pbx_rtp_lost_total over packets+lost: the PBX's endpoints count what
# the callers sent and did not arrive), the mixer's ticks, late ticks
# (fired over 10 ms late or took longer than 20 ms: what the callers hear
# late or not at all) and mean tick work, and the PBX's CPU with every
# caller in.
#
# Usage: bench/conference.sh    (defaults below; override by env)
#   CALLS=100  ROOM_SIZE=0  RATE=50  SECS=20
#   PBX_BIN=path    run this binary instead of building the checkout
#   KEEP=dir        keep the work folder (logs, sipp stats) in dir
cd "$(dirname "$0")/.."
CALLS=${CALLS:-100}
ROOM_SIZE=${ROOM_SIZE:-0}
RATE=${RATE:-50}
SECS=${SECS:-20}
SIP_PORT=${SIP_PORT:-27060}
HTTP_PORT=${HTTP_PORT:-29180}
. bench/lib.sh
start_pbx
[ "$ROOM_SIZE" -gt 0 ] || ROOM_SIZE=$CALLS
ROOMS=$(( (CALLS + ROOM_SIZE - 1) / ROOM_SIZE ))

echo "creating $CALLS callers and $ROOMS rooms of up to $ROOM_SIZE through the API..."
for r in $(seq 1 "$ROOMS"); do
  printf '{"number":"%s","max_participants":%s,"announce":false}\n' $((80000 + r)) "$(( ROOM_SIZE < 2 ? 2 : ROOM_SIZE ))"
done | api_post conferences
echo "SEQUENTIAL" > "$WORK/callers.csv"
for i in $(seq 1 "$CALLS"); do
  caller=$((200000 + i)) room=$((80000 + (i - 1) / ROOM_SIZE + 1))
  echo "$caller;$room;[authentication username=$caller password=bench-secret-$caller]" >> "$WORK/callers.csv"
  printf '{"number":"%s","secret":"bench-secret-%s"}\n' "$caller" "$caller"
done | api_post extensions

# One second of a 440 Hz tone at -10 dBFS in u-law, looped by sipp.
python3 - "$WORK/tone.ulaw" <<'PY'
import math, sys
def ulaw(s):
    sign = 0x80 if s < 0 else 0
    s = min(abs(s), 32635) + 0x84
    exp = max(0, s.bit_length() - 8)
    return (~(sign | (exp << 4) | ((s >> (exp + 3)) & 0x0F))) & 0xFF
open(sys.argv[1], 'wb').write(bytes(ulaw(int(10362 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(8000)))
PY

packets0=$(metric pbx_rtp_packets_total); lost0=$(metric pbx_rtp_lost_total)
ans0=$(metric 'pbx_calls_total{answered="true"}')
echo "$CALLS callers into $ROOMS rooms at $RATE calls/s, ${SECS} s each, PCMU both ways, everyone talking"
r0=$(date +%s.%N); run0=$(ticks "$PBX_PID")
(cd "$WORK" && exec sipp 127.0.0.1:$SIP_PORT -sf "$BENCH/call_uac_rtp.xml" \
  -inf "$WORK/callers.csv" -r "$RATE" -m "$CALLS" -l "$CALLS" -d $((SECS * 1000)) -i 127.0.0.1 -p 0 \
  -mp 30000 -timeout $((SECS * 2 + 60))s -nostdin \
  -trace_stat -stf "$WORK/uac-stat.csv" -fd 1 -trace_err -error_file "$WORK/uac-errors.log" >/dev/null 2>"$WORK/uac.err") &
UAC_PID=$!
EXTRA_PIDS=$UAC_PID
up=$((CALLS / RATE + 3)); window=$((SECS - up - 3))
if [ "$window" -ge 3 ]; then
  sleep "$up"
  inroom=$(metric pbx_conference_participants)
  late0=$(metric pbx_mixer_late_ticks_total); tick0=$(metric pbx_mixer_ticks_total); sum0=$(metric pbx_mixer_tick_seconds_sum)
  before=$(ticks "$PBX_PID"); t0=$(date +%s.%N)
  sleep "$window"
  t1=$(date +%s.%N); after=$(ticks "$PBX_PID")
  rss=$(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$PBX_PID/status")
  late1=$(metric pbx_mixer_late_ticks_total); tick1=$(metric pbx_mixer_ticks_total); sum1=$(metric pbx_mixer_tick_seconds_sum)
fi
wait "$UAC_PID" || true
EXTRA_PIDS=
run1=$(ticks "$PBX_PID"); r1=$(date +%s.%N)
sleep 1

ok=$(stat_col "$WORK/uac-stat.csv" 'SuccessfulCall(C)')
bad=$(stat_col "$WORK/uac-stat.csv" 'FailedCall(C)')
answered=$(( $(metric 'pbx_calls_total{answered="true"}') - ans0 ))
packets=$(( $(metric pbx_rtp_packets_total) - packets0 )); lost=$(( $(metric pbx_rtp_lost_total) - lost0 ))
echo "callers' sipp: $ok calls succeeded, $bad failed; PBX: $answered answered"
echo "RTP in: $packets packets, $lost lost ($(echo "100 * $lost / ($packets + $lost + 1)" | bc -l | xargs printf '%.4f')%)"
echo "PBX CPU over the run: $(cores "$r0" "$r1" "$run0" "$run1") cores"
if [ -n "${t0:-}" ]; then
  echo "with $inroom callers in: PBX CPU $(cores "$t0" "$t1" "$before" "$after") cores;" \
    "mixer $((tick1 - tick0)) ticks, $((late1 - late0)) late," \
    "$(echo "($sum1 - $sum0) * 1000000 / ($tick1 - $tick0)" | bc -l | xargs printf '%.0f') µs work per tick; PBX RSS $rss"
fi
[ "$bad" = 0 ] && [ "$ok" = "$CALLS" ]
