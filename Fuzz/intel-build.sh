#!/usr/bin/env bash
# Builds the intelligence parsers' libFuzzer target (no SwiftPM): NetworkAddress, WardenCore and
# IntelStore compiled as one module with Fuzz/IntelFuzz/main.swift, libFuzzer and AddressSanitizer.
# Output: .build-intelfuzz/intel-fuzz
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-intelfuzz"
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
# One module: imports of our own modules must go.
for f in "$root"/Sources/NetworkAddress/*.swift "$root"/Sources/WardenCore/*.swift "$root"/Sources/IntelStore/*.swift; do
    sed -E -e 's/^(public )?import (NetworkAddress|WardenCore|IntelStore)$//' "$f" > "$src/$(basename "$(dirname "$f")")_$(basename "$f")"
done
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -use-ld=lld \
    -swift-version 6 -enable-upcoming-feature ExistentialAny \
    -module-name IntelFuzz "$src"/*.swift "$root/Fuzz/IntelFuzz/main.swift" -o "$out/intel-fuzz"
echo "built $out/intel-fuzz"
