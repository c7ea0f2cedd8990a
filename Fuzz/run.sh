#!/bin/sh
# Builds and runs the dialect fuzzer for a bounded time.
# Usage: Fuzz/run.sh <seconds> [extra libFuzzer flags]
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$root/.build-dialectfuzz"
secs=${1:?usage: run.sh <seconds>}
shift
case "$secs" in (*[!0-9]*|'') echo "seconds must be a number" >&2; exit 2;; esac
"$here/build.sh"
work="$out/corpus"          # grows during the run; the committed seeds stay untouched
mkdir -p "$work" "$out/artifacts"
exec timeout --kill-after=30 $((secs + 60)) "$out/dialect-fuzz" \
    -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
    -dict="$here/DialectFuzz/dialects.dict" \
    "$@" "$work" "$here/corpus/dialects"
