#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Ban latency through the systemd journal: the Nth failure sent with syslog(3) (as a PBX
# logging to the journal does) -> journald -> `sipwarden run --journal kamailio` -> the
# source's element in the kernel's nftables set, over COUNT distinct sources.
#   bench/latency/journal.sh [PATH/TO/sipwarden]      (root; release build recommended)
# A private journald (integration/e2e/tools/journal.sh, its own mount namespace) and a throwaway
# network namespace: nothing touches the root namespace's journal, /dev/log or firewall.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(readlink -f "${1:-$(swift build -c release --show-bin-path)/sipwarden}")
COUNT=${COUNT:-300}
NS=swbench-jlat-$$
DIR=$(mktemp -d /tmp/swbench-jlat.XXXXXX)
JSH=integration/e2e/tools/journal.sh
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  "$JSH" stop "$DIR/journald" || true
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
"$JSH" start "$DIR/journald" >/dev/null
"$JSH" exec "$DIR/journald" ip netns exec "$NS" "$BIN" run --journal kamailio --firewall nftables --state "$DIR/state" \
  --max-retry 5 --find-time 60s --ban-time 10m --log-level ${LOG_LEVEL:-notice} 2> "$DIR/sipwarden.err" &
pid=$!
for _ in $(seq 100); do grep -q "sipwarden ready" "$DIR/sipwarden.err" && break; sleep 0.1; done
grep -q "sipwarden ready" "$DIR/sipwarden.err" || { cat "$DIR/sipwarden.err"; exit 1; }
timeout 600 "$JSH" exec "$DIR/journald" ip netns exec "$NS" python3 "$PWD/bench/latency/driver.py" syslog: "$COUNT" 5 "$DIR/latency.tsv"
echo "sipwarden's own measure (entry batch read -> kernel call returned):"
grep -oE "latency_us=[0-9]+" "$DIR/sipwarden.err" | cut -d= -f2 | sort -n | awk '{a[NR]=$1} END {if (NR) printf "samples=%d p50_us=%d p99_us=%d max_us=%d\n", NR, a[int(NR*0.5)+1], a[int(NR*0.99)+ (NR*0.99==int(NR*0.99)?0:1)], a[NR]}'
echo "raw: $DIR"
