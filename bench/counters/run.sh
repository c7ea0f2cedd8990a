#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Cost of reading the ban sets' per-element counters (issue 11, item 5): fills the four
# ban sets of a sipwarden-shaped table with COUNT host bans (default 10000, plus 100
# prefixes) in a throwaway namespace, then dumps them ROUNDS times (default 50) with the
# Netlink module's NFT_MSG_GETSETELEM dump and decoder, optimised (-O), and compares with
# `nft -j list table` (libnftables' JSON read-back). Root.
#   bench/counters/run.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
COUNT=${COUNT:-10000}
ROUNDS=${ROUNDS:-50}
out="$root/.build-counterbench"
mkdir -p "$out"
swiftc -O -parse-as-library -swift-version 6 -module-name CounterBench \
    "$root"/Sources/Netlink/Codec/*.swift "$root"/Sources/Netlink/Socket/*.swift "$root/bench/counters/main.swift" \
    -o "$out/counter-bench"
NS=traffic-bench-$$
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
ip netns add "$NS"
t=sipwarden
{
  echo "add table inet $t"
  echo "add set inet $t host4 { type ipv4_addr; flags timeout; counter; }"
  echo "add set inet $t host6 { type ipv6_addr; flags timeout; counter; }"
  echo "add set inet $t ban4 { type ipv4_addr; flags interval, timeout; counter; }"
  echo "add set inet $t ban6 { type ipv6_addr; flags interval, timeout; counter; }"
  python3 - "$COUNT" <<'PY'
import sys
n = int(sys.argv[1])
for start in range(0, n, 1000):
    items = ", ".join(f"198.18.{(i >> 8) & 255}.{i & 255} timeout 3600s" for i in range(start, min(n, start + 1000)))
    print(f"add element inet sipwarden host4 {{ {items} }}")
print("add element inet sipwarden ban4 { " + ", ".join(f"198.19.{i}.0/24 timeout 3600s" for i in range(100)) + " }")
PY
} > "$out/fill.nft"
ip netns exec "$NS" nft -f "$out/fill.nft"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
ip netns exec "$NS" "$out/counter-bench" "$t" "$ROUNDS"
start=$(date +%s%N)
for _ in 1 2 3 4 5; do ip netns exec "$NS" nft -j list table inet "$t" > /dev/null; done
echo "nft -j list table (libnftables JSON), mean of 5: $(( ($(date +%s%N) - start) / 5000 )) us"
