#!/usr/bin/env bash
# Builds the answers' parse-path libFuzzer target (no SwiftPM): NetworkAddress and
# Sources/Abuse/Mail compiled as one module with Fuzz/MailFuzz/main.swift, libFuzzer and
# AddressSanitizer. Output: .build-mailfuzz/mail-fuzz
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build-mailfuzz"
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
# One module: imports of our own modules must go.
for f in "$root"/Sources/NetworkAddress/*.swift "$root"/Sources/Abuse/Mail/*.swift; do
    sed -E -e 's/^(public )?import (NetworkAddress|WardenCore|Abuse)$//' "$f" > "$src/$(basename "$(dirname "$f")")_$(basename "$f")"
done
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -use-ld=lld \
    -swift-version 6 -enable-upcoming-feature ExistentialAny \
    -module-name MailFuzz "$src"/*.swift "$root/Fuzz/MailFuzz/main.swift" -o "$out/mail-fuzz"
echo "built $out/mail-fuzz"
