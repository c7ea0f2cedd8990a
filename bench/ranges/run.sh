#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Range blocks in the kernel (docs/RANGES.md, docs/BENCHMARKS.md): loading 10 k prefixes
# and refreshing 1 % of them, each one nfnetlink transaction. Release, one module, no
# SwiftPM (a do-nothing Logger stands in for swift-log). Needs root and a throwaway namespace:
#   ip netns add rs-bench && ip netns exec rs-bench bench/ranges/run.sh; ip netns delete rs-bench
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.build-rangesbench"
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
strip='s/^(public |internal )?import (NetworkAddress|AddressRanges|Netlink|WardenCore|Logging)$//'
for dir in NetworkAddress AddressRanges Netlink/Codec Netlink/Socket WardenCore Firewall; do
    for f in "$root"/Sources/$dir/*.swift; do
        sed -E "$strip" "$f" > "$src/$(echo "$dir" | tr / _)_$(basename "$f")"
    done
done
cp "$root/bench/ranges/LoggerStub.swift" "$src/LoggerStub.swift"
cp "$root/bench/ranges/main.swift" "$src/main.swift"
${SWIFTC:-swiftc} -O -wmo -swift-version 6 -module-name RangesBench -I "$root/Sources/CNFTables" -lnftables \
    "$src"/*.swift -o "$out/ranges-bench" 2>&1 | grep -v warning || true
exec "$out/ranges-bench" "$@"
