#!/usr/bin/env bash
# Two real softphones (baresip) through the PBX, run by hand.
#
# Starts the PBX on a fresh data directory, creates extensions 101 and 102
# through the REST API, and runs two baresip instances with their own
# config directories: each registers, sends a sine tone (ausine: 101 at
# 440 Hz, 102 at 1000 Hz) and dumps what it sends and hears with the
# sndfile module (WAV files; baresip 1.0's aufile is a source only). 101 dials 102 through
# ctrl_tcp, 102 answers automatically, the call lasts CALL_SECONDS, 101
# hangs up. Then sox measures each side's decoded ("-dec") recording.
# HOLD=N: after CALL_SECONDS, 101 holds for N seconds, resumes, and the
# call goes on CALL_SECONDS more; each recording is measured per segment
# (talk, hold, resumed): 102 should hear music during the hold.
# TRANSFER=N: a third softphone, 103 (1500 Hz, answering by hand), joins.
# After N seconds of talk 101 blind-transfers 102 to 103 (menu's
# "transfer" command: REFER), 103 rings for RING seconds (default 3) and
# is answered through ctrl_tcp, 102 and 103 talk CALL_SECONDS, 103 hangs
# up. Each recording is measured per segment: 102 should hear 440 Hz
# (101), then ringback (440 + 480 Hz), then 1500 Hz (103); 103 should hear
# 1000 Hz (102). TRANSFER_FROM=102 makes the callee transfer the caller
# instead (101 then hears 1000 Hz, ringback, 1500 Hz; 103 hears 440 Hz).
# SIPTRACE=1 puts baresip's SIP trace in each out.log.
#
# Needs: baresip with account, g711, ausine, sndfile, menu (the dial command), ctrl_tcp modules; sox.
set -euo pipefail
cd "$(dirname "$0")/.."

CALL_SECONDS=${CALL_SECONDS:-5}
SIP_PORT=${SIP_PORT:-25160}
HTTP_PORT=${HTTP_PORT:-28180}
PASS=bench-admin-password
WORK=$(mktemp -d)
PIDS=()

for cmd in baresip sox curl; do command -v $cmd >/dev/null || { echo "$cmd is missing" >&2; exit 1; }; done
for m in account g711 ausine sndfile menu ctrl_tcp; do
  [ -f /usr/lib/baresip/modules/$m.so ] || { echo "baresip module $m is missing" >&2; exit 1; }
done
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$WORK/pbx" ./cmd/pbx
PBX_ADMIN_PASSWORD=$PASS "$WORK/pbx" serve --data "$WORK/data" --sip 127.0.0.1:$SIP_PORT \
  --http 127.0.0.1:$HTTP_PORT --external-ip 127.0.0.1 --log-level info 2>>"$WORK/pbx.log" &
PIDS+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -fs -X POST -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$PASS\"}" "http://127.0.0.1:$HTTP_PORT/api/v1/auth/login" |
  sed -E 's/.*"token":"([^"]+)".*/\1/')
api() { curl -fs -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
PHONES="101 102"
[ -z "${TRANSFER:-}" ] || PHONES="101 102 103"
NPHONES=$(echo $PHONES | wc -w)
for n in $PHONES; do
  api -o /dev/null -X POST -d "{\"number\":\"$n\",\"secret\":\"softphone-secret-$n\"}" "http://127.0.0.1:$HTTP_PORT/api/v1/extensions"
done

# phone NUMBER SIP_PORT CTRL_PORT EXTRA_ACCOUNT_PARAMS
phone() { # the SIP port +1 and +2 are taken by baresip for TCP/TLS
  local dir="$WORK/baresip-$1"
  mkdir -p "$dir/rec"
  cat > "$dir/config" <<CONF
poll_method		epoll
sip_listen		127.0.0.1:$2
sip_transports		udp
audio_path		/usr/share/baresip
audio_source		ausine,$4
ausrc_srate		48000
auplay_srate		48000
ausrc_channels		2
rtp_ports		$((40000 + $2 % 1000 * 10))-$((40009 + $2 % 1000 * 10))
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			sndfile.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$3
snd_path		$dir/rec
CONF
  echo "<sip:$1@127.0.0.1:$SIP_PORT;transport=udp>;auth_pass=softphone-secret-$1;regint=300;audio_codecs=PCMU$5" > "$dir/accounts"
  touch "$dir/contacts"
  (cd "$dir" && exec baresip ${SIPTRACE:+-s} -f "$dir" >"$dir/out.log" 2>&1) &
  PIDS+=($!)
}
phone 101 25161 25171 440 ""
phone 102 25165 25172 1000 ";answermode=auto"
[ -z "${TRANSFER:-}" ] || phone 103 25168 25173 1500 ""

registered() { curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^pbx_registrations /{print $2}'; }
for _ in $(seq 100); do [ "$(registered)" = "$NPHONES" ] && break; sleep 0.1; done
[ "$(registered)" = "$NPHONES" ] || { echo "the softphones did not register; see $WORK (KEEP=1)" >&2; tail -n 20 "$WORK"/baresip-*/out.log >&2; exit 1; }

ctrl() { # port command params: a ctrl_tcp netstring
  local json="{\"command\":\"$2\",\"params\":\"$3\",\"token\":\"t\"}"
  exec 3<>"/dev/tcp/127.0.0.1/$1"; printf '%d:%s,' "${#json}" "$json" >&3; timeout 2 head -c 300 <&3 || true; exec 3>&-; echo
}
echo "101 dials 102..."
ctrl 25171 dial "sip:102@127.0.0.1:$SIP_PORT"
if [ -n "${TRANSFER:-}" ]; then
  RING=${RING:-3}
  XFER=${TRANSFER_FROM:-101} # the transferor; the other one stays
  XFER_CTRL=25171 STAYS=102 STAYS_TONE=1000
  [ "$XFER" = 101 ] || XFER_CTRL=25172 STAYS=101 STAYS_TONE=440
  sleep "$TRANSFER" # a manual check, not a test: each phase simply lasts this long
  echo "calls up: $(api "http://127.0.0.1:$HTTP_PORT/api/v1/calls" | head -c 400)"
  echo "$XFER transfers $STAYS to 103..."; ctrl $XFER_CTRL transfer "sip:103@127.0.0.1:$SIP_PORT"
  sleep "$RING"
  echo "while 103 rings: $(api "http://127.0.0.1:$HTTP_PORT/api/v1/calls" | head -c 600)"
  echo "103 answers..."; ctrl 25173 accept ""
  sleep "$CALL_SECONDS"
  echo "after the transfer: $(api "http://127.0.0.1:$HTTP_PORT/api/v1/calls" | head -c 600)"
  echo "$XFER's calls: $(ctrl $XFER_CTRL listcalls "")"
  echo "103 hangs up..."; ctrl 25173 hangup ""
  sleep 1
  echo "after the hang-up: $(api "http://127.0.0.1:$HTTP_PORT/api/v1/calls" | head -c 300)"
  echo
  echo "what each baresip said about the transfer and its calls:"
  for n in $PHONES; do
    echo " $n:"
    sed -E 's/\[[0-9:]+\] audio=[^)]*\) *//g' "$WORK/baresip-$n/out.log" |
      grep -aiE "transfer|refer|sipfrag|call closed|terminated|established|incoming call" | grep -av "^Allow" | sed 's/^/    /' | head -n 30
  done
else
  sleep "$CALL_SECONDS" # a manual check, not a test: the call simply lasts this long
  echo "calls up: $(api "http://127.0.0.1:$HTTP_PORT/api/v1/calls" | head -c 400)"
  if [ -n "${HOLD:-}" ]; then
    # 101 presses hold for HOLD seconds, then resumes: 102 should hear the
    # PBX's music on hold in between (see the per-segment analysis below).
    echo "101 holds..."; ctrl 25171 hold ""
    sleep "$HOLD"
    echo "during hold: $(api "http://127.0.0.1:$HTTP_PORT/api/v1/calls" | head -c 600)"
    echo "101 resumes..."; ctrl 25171 resume ""
    sleep "$CALL_SECONDS"
  fi
  ctrl 25171 hangup ""
  sleep 1
fi

echo
echo "recordings (sndfile dumps: -dec is what the phone heard):"
ls -l "$WORK"/baresip-*/rec/
# segment FILE START LENGTH: RMS and dominant frequency of part of a recording
segment() {
  local p r
  p=$(sox "$1" -n trim "$2" "$3" stat -freq 2>&1 | awk 'NF==2 && $1+0>50 {if ($2>m) {m=$2; f=$1}} END {printf "%.0f", f}')
  r=$(sox "$1" -n trim "$2" "$3" stat 2>&1 | awk '/RMS     amplitude/{print $3}')
  echo "RMS $r, dominant ${p} Hz"
}
for n in $PHONES; do
  for f in "$WORK/baresip-$n"/rec/*dec*.wav; do
    [ -f "$f" ] || { echo "$n: no decoded recording" >&2; continue; }
    # The dominant frequency of the recording, by sox's "stat -freq" spectrum.
    peak=$(sox "$f" -n trim 0.5 1 stat -freq 2>&1 | awk 'NF==2 && $1+0>50 {if ($2>m) {m=$2; f=$1}} END {printf "%.0f", f}')
    rms=$(sox "$f" -n stat 2>&1 | awk '/RMS     amplitude/{print $3}')
    echo "$n heard: $(soxi -D "$f") s, RMS $rms, dominant frequency ${peak} Hz ($f)"
    if [ -n "${HOLD:-}" ]; then
      for seg in "0.5 $((CALL_SECONDS - 1))" "$((CALL_SECONDS + 1)) $((HOLD - 2))" "$((CALL_SECONDS + HOLD + 1)) $((CALL_SECONDS - 2))"; do
        set -- $seg
        echo "  $n from ${1}s for ${2}s: $(segment "$f" "$1" "$2")"
      done
    fi
    if [ -n "${TRANSFER:-}" ] && [ "$n" = "$STAYS" ]; then
      echo "  $n talking with $XFER (want $((1440 - STAYS_TONE)) Hz): $(segment "$f" 0.5 $((TRANSFER - 1)))"
      echo "  $n while 103 rings (want ringback, 440 + 480 Hz): $(segment "$f" $((TRANSFER + 1)) $((RING - 1)))"
      echo "  $n talking with 103 (want 1500 Hz): $(segment "$f" $((TRANSFER + RING + 1)) $((CALL_SECONDS - 2)))"
    fi
    if [ -n "${TRANSFER:-}" ] && [ "$n" = 103 ]; then
      echo "  103 talking with $STAYS (want $STAYS_TONE Hz): $(segment "$f" 0.5 $((CALL_SECONDS - 1)))"
    fi
  done
done
CDRS=1
[ -z "${TRANSFER:-}" ] || CDRS=3
echo "last CDRs: $(api "http://127.0.0.1:$HTTP_PORT/api/v1/cdr?limit=$CDRS" | head -c 1500)"
