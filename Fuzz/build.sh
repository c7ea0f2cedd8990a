#!/bin/sh
# Builds the libFuzzer target for the log dialect parsers (no SwiftPM needed).
# Usage: Fuzz/build.sh            -> Fuzz/.build/dialect-fuzz
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$root/.build-dialectfuzz"
mkdir -p "$out"
SWIFTC=${SWIFTC:-swiftc}
# NetworkAddress, WardenCore and LogFormats become one module here, so the imports of our
# own modules must go: strip them into a temporary copy.
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
for f in "$root"/Sources/NetworkAddress/*.swift "$root"/Sources/WardenCore/*.swift "$root"/Sources/LogFormats/*.swift; do
    sed -E -e 's/^(public )?import (NetworkAddress|WardenCore|LogFormats)$//' "$f" > "$src/$(basename "$(dirname "$f")")_$(basename "$f")"
done
"$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld \
    -swift-version 6 -enable-upcoming-feature ExistentialAny \
    -module-name DialectFuzz \
    "$src"/*.swift "$here/DialectFuzz/main.swift" \
    -o "$out/dialect-fuzz"
echo "built $out/dialect-fuzz"
