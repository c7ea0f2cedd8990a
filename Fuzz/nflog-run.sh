#!/usr/bin/env bash
# Builds and runs the NFLOG report parser fuzzer for a bounded time:
#   Fuzz/nflog-run.sh <seconds> [libFuzzer flags]
# Seeds: Fuzz/corpus/nflog (real NFULNL_MSG_PACKET datagrams, IPv4 and IPv6).
# Grown corpus: .build-nflogfuzz/corpus; crashes: .build-nflogfuzz/artifacts/.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
seconds="${1:?usage: $0 <seconds> [libFuzzer flags]}"
shift
case "$seconds" in (*[!0-9]*|'') echo "seconds must be a number" >&2; exit 2;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-nflogfuzz"
"$root/Fuzz/nflog-build.sh"
mkdir -p "$out/corpus" "$out/artifacts"
exec timeout --kill-after=30 $((seconds + 60)) "$out/nflog-fuzz" "$out/corpus" "$root/Fuzz/corpus/nflog" \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=2048 \
    -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
