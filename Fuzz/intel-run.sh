#!/usr/bin/env bash
# Builds and runs the intelligence parsers' fuzzer for a bounded time:
#   Fuzz/intel-run.sh <seconds> [libFuzzer flags]
# Seeds: Fuzz/corpus/intel (small hand-written files of every format) and, read in place,
# the published samples in ../shared/corpus/ranges when present.
# Grown corpus: .build-intelfuzz/corpus; crashes: .build-intelfuzz/artifacts/.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
seconds="${1:?usage: $0 <seconds> [libFuzzer flags]}"
shift
case "$seconds" in (*[!0-9]*|'') echo "seconds must be a number" >&2; exit 2;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-intelfuzz"
"$root/Fuzz/intel-build.sh"
mkdir -p "$out/corpus" "$out/artifacts"
seeds=("$root/Fuzz/corpus/intel")
[ -d "$root/../shared/corpus/ranges" ] && seeds+=("$root/../shared/corpus/ranges")
exec timeout --kill-after=30 $((seconds + 60)) "$out/intel-fuzz" "$out/corpus" "${seeds[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -dict="$root/Fuzz/IntelFuzz/intel.dict" \
    -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
