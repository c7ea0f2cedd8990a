#!/usr/bin/env bash
# Builds the NFLOG report parser libFuzzer target (no SwiftPM): NetworkAddress, the Netlink
# codec (Sources/Netlink/Codec, no syscalls) and Sensors/NFLogMessage.swift with
# Fuzz/NFLogFuzz/main.swift, compiled as one module with
# libFuzzer and AddressSanitizer. Output: .build-nflogfuzz/nflog-fuzz
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-nflogfuzz"
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
# One module: imports of our own modules must go.
for f in "$root"/Sources/NetworkAddress/*.swift "$root"/Sources/Netlink/Codec/*.swift "$root"/Sources/Sensors/NFLogMessage.swift; do
    sed -E -e 's/^(public )?import (NetworkAddress|Netlink)$//' "$f" > "$src/$(basename "$(dirname "$f")")_$(basename "$f")"
done
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -use-ld=lld \
    -swift-version 6 -enable-upcoming-feature ExistentialAny \
    -module-name NFLogFuzz "$src"/*.swift "$root/Fuzz/NFLogFuzz/main.swift" -o "$out/nflog-fuzz"
echo "built $out/nflog-fuzz"
