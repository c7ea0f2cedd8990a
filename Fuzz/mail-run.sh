#!/usr/bin/env bash
# Builds and runs the answers' parse-path fuzzer for a bounded time:
#   Fuzz/mail-run.sh <seconds> [libFuzzer flags]
# Seeds: Fuzz/corpus/mail (small hand-written answers) and, read in place, the real mail in
# ../shared/corpus/mail when present. Grown corpus: .build-mailfuzz/corpus; crashes:
# .build-mailfuzz/artifacts/.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
seconds="${1:?usage: $0 <seconds> [libFuzzer flags]}"
shift
case "$seconds" in (*[!0-9]*|'') echo "seconds must be a number" >&2; exit 2;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-mailfuzz"
"$root/Fuzz/mail-build.sh"
mkdir -p "$out/corpus" "$out/artifacts"
seeds=("$root/Fuzz/corpus/mail")
[ -d "$root/../shared/corpus/mail" ] && seeds+=("$root/../shared/corpus/mail")
exec timeout --kill-after=30 $((seconds + 60)) "$out/mail-fuzz" "$out/corpus" "${seeds[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -dict="$root/Fuzz/MailFuzz/mail.dict" \
    -artifact_prefix="$out/artifacts/" -print_final_stats=1 "$@"
