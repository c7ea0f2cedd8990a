#!/usr/bin/env bash
# Runs the SIPMessage fuzzer for a bounded time: Fuzz/sip-run.sh <seconds> [extra libFuzzer flags]
# Seeds: the RFC 4475 torture messages (Tests/SIPMessageTests/Fixtures/rfc4475/*.dat), and the
# external corpus's real messages (../shared/corpus/external/sip-messages: pjsip's fuzz seeds,
# kamailio's test messages) when present.
# Grown corpus: .build-sipfuzz/corpus; crashes: .build-sipfuzz/artifacts/.
set -euo pipefail
seconds="${1:?usage: $0 <seconds> [libFuzzer flags]}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-sipfuzz"
[ -x "$out/sip-fuzz" ] || "$root/Fuzz/sip-build.sh"
mkdir -p "$out/corpus" "$out/artifacts"
cp -n "$root"/Tests/SIPMessageTests/Fixtures/rfc4475/*.dat "$root"/Tests/SIPMessageTests/Fixtures/rfc4475/extra/*.dat "$out/corpus/" 2>/dev/null || true
external="$root/../shared/corpus/external/sip-messages"
if [ -d "$external" ]; then
    for f in "$external"/*/*.sip; do cp -n "$f" "$out/corpus/external-$(basename "$(dirname "$f")")-$(basename "$f")"; done
fi
exec "$out/sip-fuzz" "$out/corpus" \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
    -dict="$root/Fuzz/SIPFuzz/sip.dict" -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
