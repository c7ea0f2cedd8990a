#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The ban path's kernel call into a set without and with `counter` (issue 11, item 5),
# alternating, COUNT bans each (default 1000), PAUSE_US between bans (default 5000), in a
# throwaway namespace; both sets already hold 10 k elements. Root.
#   bench/counters/insert.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
COUNT=${COUNT:-1000}
PAUSE_US=${PAUSE_US:-5000}
out="$root/.build-counterbench"
mkdir -p "$out"
swiftc -O -parse-as-library -swift-version 6 -module-name InsertBench \
    "$root"/Sources/Netlink/Codec/*.swift "$root"/Sources/Netlink/Socket/*.swift "$root/bench/counters/insert.swift" \
    -o "$out/insert-bench"
NS=traffic-insert-$$
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
ip netns add "$NS"
{
  echo "add table inet plain"
  echo "add set inet plain host4 { type ipv4_addr; flags timeout; }"
  echo "add table inet counted"
  echo "add set inet counted host4 { type ipv4_addr; flags timeout; counter; }"
  python3 - <<'PY'
for t in ("plain", "counted"):
    for start in range(0, 10000, 1000):
        items = ", ".join(f"198.19.{(i >> 8) & 255}.{i & 255} timeout 3600s" for i in range(start, start + 1000))
        print(f"add element inet {t} host4 {{ {items} }}")
PY
} > "$out/insert.nft"
ip netns exec "$NS" nft -f "$out/insert.nft"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
ip netns exec "$NS" "$out/insert-bench" "$COUNT" "$PAUSE_US"
