#!/usr/bin/env bash
# Builds and runs the HEP decoder fuzzer for a bounded time: Fuzz/hep-run.sh <seconds> [libFuzzer flags]
# Seeds: the Kamailio HEP fixtures (Tests/PacketDecodingTests/HEPFixtures/*.bin).
# Grown corpus: .build-hepfuzz/corpus; crashes: .build-hepfuzz/artifacts/.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
seconds="${1:?usage: $0 <seconds> [libFuzzer flags]}"
shift
case "$seconds" in (*[!0-9]*|'') echo "seconds must be a number" >&2; exit 2;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-hepfuzz"
"$root/Fuzz/hep-build.sh"
mkdir -p "$out/corpus" "$out/artifacts"
cp -n "$root"/Tests/PacketDecodingTests/HEPFixtures/*.bin "$out/corpus/" 2>/dev/null || true
exec timeout --kill-after=30 $((seconds + 60)) "$out/hep-fuzz" "$out/corpus" \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=4096 \
    -dict="$root/Fuzz/HEPFuzz/hep.dict" -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
