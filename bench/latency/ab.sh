#!/usr/bin/env bash
# A/B of the ban latency benchmark: runs bench/latency/run.sh for each build in turn,
# ROUNDS times (default 5), alternating, and prints one Markdown table row per run.
#   bench/latency/ab.sh PATH/TO/sipwarden-A PATH/TO/sipwarden-B …   (root)
# Environment: COUNT (sources per run, default 1000), ROUNDS, and DRIVER_PRIORITY=rt to run
# the measuring driver and its `nft monitor` at real-time priority (chrt -f 50), so that
# the observer never waits for a CPU behind the daemon's threads.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
[ $# -ge 1 ] || { echo "usage: $0 BIN…" >&2; exit 2; }
percentiles() { sort -n | awk '{a[NR]=$1} END {if (NR) printf "%d / %d", a[int(NR*0.5)+1], a[int(NR*0.99)+(NR*0.99==int(NR*0.99)?0:1)]}'; }
echo "| round | build | driver p50 / p90 / p99 µs | own latency_us p50 / p99 | kernel_us p50 / p99 |"
echo "|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    out=$(bench/latency/run.sh "$bin" 2>&1) || { echo "$out" >&2; exit 1; }
    driver=$(echo "$out" | grep -m1 -oE 'p50_us=[0-9]+ p90_us=[0-9]+ p99_us=[0-9]+' | sed -E 's/p[0-9]+_us=//g; s/ / \/ /g')
    raw=$(echo "$out" | sed -n 's/^raw: //p')
    own=$(grep -oE 'latency_us=[0-9]+' "$raw/sipwarden.err" | cut -d= -f2 | percentiles)
    kernel=$(grep -oE 'kernel_us=[0-9]+' "$raw/sipwarden.err" | cut -d= -f2 | percentiles)
    echo "| $round | $bin | $driver | $own | $kernel |"
    rm -rf "$raw"
  done
done
