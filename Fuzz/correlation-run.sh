#!/usr/bin/env bash
# Runs the SIPCorrelation fuzzer for a bounded time: Fuzz/correlation-run.sh <seconds> [extra libFuzzer flags]
# Seeds: Fuzz/CorrelationFuzz/seeds/*.bin (exchanges in the target's chunk format) and the
# RFC 4475 torture messages. Grown corpus: .build-correlationfuzz/corpus; crashes:
# .build-correlationfuzz/artifacts/.
set -euo pipefail
seconds="${1:?usage: $0 <seconds> [libFuzzer flags]}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-correlationfuzz"
[ -x "$out/correlation-fuzz" ] || "$root/Fuzz/correlation-build.sh"
mkdir -p "$out/corpus" "$out/artifacts"
cp -n "$root"/Fuzz/CorrelationFuzz/seeds/*.bin "$out/corpus/" 2>/dev/null || true
cp -n "$root"/Tests/SIPMessageTests/Fixtures/rfc4475/*.dat "$out/corpus/" 2>/dev/null || true
exec "$out/correlation-fuzz" "$out/corpus" \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=16384 \
    -dict="$root/Fuzz/SIPFuzz/sip.dict" -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
