#!/usr/bin/env bash
# SIPMessage decoding speed on one core (release build, no SwiftPM):
#   bench/sip-parse/run.sh [rounds]            messages/s for a REGISTER+Authorization / 401 / INVITE+SDP mix
#   bench/sip-parse/run.sh --classify [DIR]    RFC 4475 classification table (Markdown)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.build-sipbench"
mkdir -p "$out"
swiftc -O -wmo -parse-as-library -module-name SIPBench \
    "$root"/Sources/SIPMessage/*.swift "$root/bench/sip-parse/main.swift" -o "$out/sip-parse"
if [ "${1:-}" = "--classify" ]; then
    exec "$out/sip-parse" --classify "${2:-$root/Tests/SIPMessageTests/Fixtures/rfc4475}"
fi
exec taskset -c 0 "$out/sip-parse" "$@"
