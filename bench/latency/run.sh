#!/usr/bin/env bash
# Ban latency benchmark: the Nth failure line appended to a log -> the source's element
# in the kernel's nftables set, over COUNT distinct sources (default 1000).
#   bench/latency/run.sh [PATH/TO/sipwarden]      (root; release build recommended)
# Everything runs in a throwaway network namespace; nothing touches the root namespace.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-$(swift build -c release --show-bin-path)/sipwarden}
COUNT=${COUNT:-1000}
NS=swbench-lat-$$
DIR=$(mktemp -d /tmp/swbench-lat.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
: > "$DIR/lat.log"
ip netns exec "$NS" "$BIN" run --log "kamailio:$DIR/lat.log" --firewall nftables --state "$DIR/state" \
  --max-retry 5 --find-time 60s --ban-time 10m --log-level ${LOG_LEVEL:-notice} 2> "$DIR/sipwarden.err" &
pid=$!
for _ in $(seq 100); do grep -q "sipwarden ready" "$DIR/sipwarden.err" && break; sleep 0.1; done
grep -q "sipwarden ready" "$DIR/sipwarden.err" || { cat "$DIR/sipwarden.err"; exit 1; }
# DRIVER_PRIORITY=rt: the observer at real-time priority, so it never queues for a CPU
# behind the daemon's own threads (on small machines that delay is part of the figure).
observer=()
[ "${DRIVER_PRIORITY:-}" = rt ] && observer=(chrt -f 50)
timeout 600 ip netns exec "$NS" "${observer[@]}" python3 bench/latency/driver.py "$DIR/lat.log" "$COUNT" 5 "$DIR/latency.tsv"
echo "sipwarden's own measure (line batch read -> kernel call returned):"
grep -oE "latency_us=[0-9]+" "$DIR/sipwarden.err" | cut -d= -f2 | sort -n | awk '{a[NR]=$1} END {if (NR) printf "samples=%d p50_us=%d p99_us=%d max_us=%d\n", NR, a[int(NR*0.5)+1], a[int(NR*0.99)+ (NR*0.99==int(NR*0.99)?0:1)], a[NR]}'
echo "raw: $DIR"
