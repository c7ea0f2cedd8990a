#!/usr/bin/env bash
# Builds and runs the Netlink codec fuzzer for a bounded time:
#   Fuzz/netlink-run.sh <seconds> [libFuzzer flags]
# Seeds: Fuzz/corpus/nflog (real NFULNL_MSG_PACKET datagrams) and Fuzz/corpus/netlink
# (acknowledgements, errors, a multipart reply, an nf_tables batch).
# Grown corpus: .build-netlinkfuzz/corpus; crashes: .build-netlinkfuzz/artifacts/.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
seconds="${1:?usage: $0 <seconds> [libFuzzer flags]}"
shift
case "$seconds" in (*[!0-9]*|'') echo "seconds must be a number" >&2; exit 2;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-netlinkfuzz"
"$root/Fuzz/netlink-build.sh"
mkdir -p "$out/corpus" "$out/artifacts"
exec timeout --kill-after=30 $((seconds + 60)) "$out/netlink-fuzz" "$out/corpus" "$root/Fuzz/corpus/netlink" "$root/Fuzz/corpus/nflog" \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=4096 \
    -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
