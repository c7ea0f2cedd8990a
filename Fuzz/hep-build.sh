#!/usr/bin/env bash
# Builds the HEP decoder libFuzzer target (no SwiftPM): NetworkAddress, WardenCore,
# PacketDecoding's WirePayload + HEP files and Fuzz/HEPFuzz/main.swift compiled as one
# module with libFuzzer and AddressSanitizer. Output: .build-hepfuzz/hep-fuzz
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-hepfuzz"
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
# One module: imports of our own modules must go.
for f in "$root"/Sources/NetworkAddress/*.swift "$root"/Sources/WardenCore/*.swift \
         "$root"/Sources/PacketDecoding/WirePayload.swift "$root"/Sources/PacketDecoding/HEP*.swift; do
    sed -E -e 's/^(public )?import (NetworkAddress|WardenCore)$//' "$f" > "$src/$(basename "$(dirname "$f")")_$(basename "$f")"
done
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -use-ld=lld \
    -swift-version 6 -enable-upcoming-feature ExistentialAny \
    -module-name HEPFuzz "$src"/*.swift "$root/Fuzz/HEPFuzz/main.swift" -o "$out/hep-fuzz"
echo "built $out/hep-fuzz"
