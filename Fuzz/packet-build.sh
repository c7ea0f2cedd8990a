#!/bin/sh
# Builds the libFuzzer target for the capture path (no SwiftPM needed).
# Usage: Fuzz/packet-build.sh         -> .build-packetfuzz/packet-fuzz
#        Fuzz/packet-build.sh bench   -> .build-packetfuzz/packet-bench (release, no sanitizers)
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$root/.build-packetfuzz"
mkdir -p "$out"
SWIFTC=${SWIFTC:-swiftc}
# NetworkAddress, WardenCore and PacketDecoding become one module here: drop the imports of
# our own modules in a temporary copy. (The HEP files belong to another fuzz target.)
src="$out/src${1:+-$1}"
rm -rf "$src"
mkdir -p "$src"
for f in "$root"/Sources/NetworkAddress/*.swift "$root"/Sources/WardenCore/*.swift "$root"/Sources/PacketDecoding/*.swift; do
    case "$(basename "$f")" in (HEP*) continue;; esac
    sed -E -e 's/^(public )?import (NetworkAddress|WardenCore)$//' "$f" > "$src/$(basename "$(dirname "$f")")_$(basename "$f")"
done
if [ "${1:-}" = bench ]; then
    "$SWIFTC" -O -wmo -parse-as-library -swift-version 6 -enable-upcoming-feature ExistentialAny \
        -module-name PacketBench \
        "$src"/*.swift "$here/PacketFuzz/bench/main.swift" \
        -o "$out/packet-bench"
    echo "built $out/packet-bench"
    exit 0
fi
"$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld \
    -swift-version 6 -enable-upcoming-feature ExistentialAny \
    -module-name PacketFuzz \
    "$src"/*.swift "$here/PacketFuzz/main.swift" \
    -o "$out/packet-fuzz"
echo "built $out/packet-fuzz"
