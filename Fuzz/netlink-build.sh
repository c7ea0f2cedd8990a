#!/usr/bin/env bash
# Builds the Netlink codec libFuzzer target (no SwiftPM): the pure codec
# (Sources/Netlink/Codec: message walk, attribute reader and writer, no syscalls) with
# Fuzz/NetlinkFuzz/main.swift, compiled as one module with libFuzzer and AddressSanitizer.
# Output: .build-netlinkfuzz/netlink-fuzz
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-netlinkfuzz"
mkdir -p "$out"
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -use-ld=lld \
    -swift-version 6 -enable-upcoming-feature ExistentialAny \
    -module-name NetlinkFuzz "$root"/Sources/Netlink/Codec/*.swift "$root/Fuzz/NetlinkFuzz/main.swift" \
    -o "$out/netlink-fuzz"
echo "built $out/netlink-fuzz"
