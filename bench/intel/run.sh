#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The intelligence store on a full-size iptoasn table (release, one module, no SwiftPM):
#   bench/intel/run.sh [TABLE]
# Without TABLE, generates an ip2asn-combined.tsv of the real size and format (520 k IPv4 +
# 140 k IPv6 rows, ~25 % "Not routed", ranges not aligned to CIDR, ~80 k AS names) once into
# .build-intelbench/. Each measurement runs in its own process (load: time and RSS delta;
# lookup: single-threaded lookups/s, CPU time).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.build-intelbench"
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
for m in NetworkAddress WardenCore IntelStore; do
    for f in "$root"/Sources/$m/*.swift; do
        sed -E 's/^(public )?import (NetworkAddress|WardenCore|IntelStore)$//' "$f" > "$src/${m}_$(basename "$f")"
    done
done
cp "$root/bench/intel/main.swift" "$src/main.swift"
${SWIFTC:-swiftc} -O -wmo -swift-version 6 -enable-upcoming-feature ExistentialAny -module-name IntelBench \
    "$src"/*.swift -o "$out/intel-bench"
table="${1:-$out/ip2asn-combined.tsv}"
[ -f "$table" ] || "$out/intel-bench" generate "$table"
wc -l "$table"
"$out/intel-bench" load "$table"
"$out/intel-bench" load "$table"
"$out/intel-bench" lookup "$table" 20
