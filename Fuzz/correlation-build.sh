#!/usr/bin/env bash
# Builds the SIPCorrelation libFuzzer target (no SwiftPM): NetworkAddress, SIPMessage,
# WardenCore, PacketDecoding and SIPCorrelation each compiled as a static module with
# libFuzzer coverage and AddressSanitizer, then Fuzz/CorrelationFuzz/main.swift on top.
# Output: .build-correlationfuzz/correlation-fuzz
# `correlation-build.sh bench` instead builds the release throughput benchmark
# (Fuzz/CorrelationFuzz/Bench/main.swift, no sanitizers): .build-correlationfuzz/bench/correlation-bench
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-correlationfuzz"
sanitize=(-sanitize=fuzzer,address)
main="$root/Fuzz/CorrelationFuzz/main.swift"
product=correlation-fuzz
if [ "${1:-}" = bench ]; then
    out="$out/bench"
    sanitize=()
    main="$root/Fuzz/CorrelationFuzz/Bench/main.swift"
    product=correlation-bench
fi
mkdir -p "$out"
flags=(-O "${sanitize[@]}" -parse-as-library -swift-version 6
       -enable-upcoming-feature ExistentialAny -enable-upcoming-feature InternalImportsByDefault
       -I "$out" -L "$out")
build_module() {
    local name="$1"; shift
    swiftc "${flags[@]}" -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" \
        -emit-library -static -o "$out/lib$name.a" "$root/Sources/$name"/*.swift "$@"
}
build_module NetworkAddress
build_module SIPMessage
build_module WardenCore
build_module PacketDecoding
build_module SIPCorrelation
swiftc "${flags[@]}" -module-name CorrelationMain -use-ld=lld "$main" \
    -lSIPCorrelation -lPacketDecoding -lWardenCore -lSIPMessage -lNetworkAddress \
    -o "$out/$product"
echo "built $out/$product"
