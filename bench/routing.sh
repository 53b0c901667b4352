#!/usr/bin/env bash
# Does routing through the dial plan cost call set-up rate? Runs
# bench/calls.sh three times in one go, on one machine, side by side:
#   1. BASE (a commit before the dial plan; default the parent of the
#      routing work) with callers dialing extensions,
#   2. this checkout with callers dialing extensions (numbering plan),
#   3. this checkout with callers dialing 8+extension through a 1,000-rule
#      dial plan whose last rule strips the 8 and routes the number.
# Usage: bench/routing.sh   (RATES, SECONDS_PER_STEP, CALLEES as calls.sh;
#   BASE=git-ref; RTP_CALLS is forced to 0: set-up rate only)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-8bd19b6}
export RATES=${RATES:-500} SECONDS_PER_STEP=${SECONDS_PER_STEP:-10} CALLEES=${CALLEES:-500} RTP_CALLS=0
WORK=$(mktemp -d)
trap 'git worktree remove --force "$WORK/base" 2>/dev/null || true; rm -rf "$WORK"' EXIT

git worktree add --detach "$WORK/base" "$BASE" >/dev/null 2>&1
(cd "$WORK/base" && CGO_ENABLED=0 go build -o "$WORK/pbx-base" ./cmd/pbx)
CGO_ENABLED=0 go build -o "$WORK/pbx-new" ./cmd/pbx

# 999 rules that do not match the dialed numbers (patterns and exact
# numbers mixed), then the one that does.
{
  echo "context internal {"
  for i in $(seq 0 499); do
    printf '    rule _6%03dXXX {\n        dial number:%d\n    }\n' "$i" "$((100000 + i % 100 + 1))"
    printf '    rule 7%06d {\n        dial number:%d\n    }\n' "$i" "$((100000 + i % 100 + 1))"
  done | head -n -3
  printf '    rule _8X. {\n        strip 1\n        dial number:${number}\n    }\n'
  echo "}"
} > "$WORK/plan.txt"
echo "generated plan: $(grep -c '^    rule' "$WORK/plan.txt") rules"

echo "=== 1. base $BASE, dialing extensions"
PBX_BIN="$WORK/pbx-base" bench/calls.sh
echo "=== 2. this checkout, dialing extensions (numbering plan)"
PBX_BIN="$WORK/pbx-new" bench/calls.sh
echo "=== 3. this checkout, dialing 8+extension through the 1,000-rule plan"
PBX_BIN="$WORK/pbx-new" DIALPLAN="$WORK/plan.txt" DIAL_PREFIX=8 bench/calls.sh
