#!/usr/bin/env bash
# Builds the SIPMessage libFuzzer target (no SwiftPM): the module sources and
# Fuzz/SIPFuzz/main.swift compiled as one module with libFuzzer and AddressSanitizer.
# Output: .build-sipfuzz/sip-fuzz
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-sipfuzz"
mkdir -p "$out"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name SIPFuzz -use-ld=lld \
    "$root"/Sources/SIPMessage/*.swift "$root/Fuzz/SIPFuzz/main.swift" \
    -o "$out/sip-fuzz"
echo "built $out/sip-fuzz"
