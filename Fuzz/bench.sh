#!/bin/sh
# Measures LogDialects.parse throughput (release, one core) on a synthetic mixed log.
# Usage: Fuzz/bench.sh [lines]
# SPDX-License-Identifier: GPL-2.0-or-later
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out="$root/.build-dialectfuzz"
src="$out/bench-src"
rm -rf "$src"
mkdir -p "$src"
for f in "$root"/Sources/NetworkAddress/*.swift "$root"/Sources/WardenCore/*.swift "$root"/Sources/LogFormats/*.swift; do
    sed -E -e 's/^(public )?import (NetworkAddress|WardenCore|LogFormats)$//' "$f" > "$src/$(basename "$(dirname "$f")")_$(basename "$f")"
done
cp "$here/DialectBench/main.swift" "$src/main.swift"
${SWIFTC:-swiftc} -O -wmo -swift-version 6 -enable-upcoming-feature ExistentialAny -module-name DialectBench \
    "$src"/*.swift -o "$out/dialect-bench"
exec "$out/dialect-bench" "$@"
