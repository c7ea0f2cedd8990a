#!/bin/sh
# Builds and runs the capture-path fuzzer for a bounded time.
# Usage: Fuzz/packet-run.sh <seconds> [extra libFuzzer flags]
# Seeds: the test fixtures (pcap, pcapng) as mode-0 inputs, and their frames as mode-1 inputs.
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$root/.build-packetfuzz"
secs=${1:?usage: packet-run.sh <seconds>}
shift
case "$secs" in (*[!0-9]*|'') echo "seconds must be a number" >&2; exit 2;; esac
"$here/packet-build.sh"
seeds="$out/seeds"
work="$out/corpus"          # grows during the run
mkdir -p "$seeds" "$work" "$out/artifacts"
for f in "$root"/Tests/PacketDecodingTests/Fixtures/*.pcap "$root"/Tests/PacketDecodingTests/Fixtures/*.pcapng; do
    [ -f "$f" ] || continue
    # Mode 0 (capture file); small files only, libFuzzer's -max_len bounds the rest.
    { printf '\000'; head -c 8000 "$f"; } > "$seeds/file-$(basename "$f")"
done
exec timeout --kill-after=30 $((secs + 60)) "$out/packet-fuzz" \
    -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
    "$@" "$work" "$seeds"
