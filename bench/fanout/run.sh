#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cost of publishing an enforced ban to the fan-out, on the sensor's thread (release,
# one module, no SwiftPM):   bench/fanout/run.sh [consumers, default 3]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.build-fanoutbench"
src="$out/src"
rm -rf "$src"
mkdir -p "$src"
for m in NetworkAddress WardenCore DedicatedThreads BanFanOut; do
    for f in "$root"/Sources/$m/*.swift; do
        sed -E 's/^(public )?import (NetworkAddress|WardenCore|DedicatedThreads|BanFanOut)$//' "$f" > "$src/${m}_$(basename "$f")"
    done
done
cp "$root/bench/fanout/main.swift" "$src/main.swift"
${SWIFTC:-swiftc} -O -wmo -swift-version 6 -enable-upcoming-feature ExistentialAny -module-name FanOutBench \
    "$src"/*.swift -o "$out/fanout-bench"
exec "$out/fanout-bench" "$@"
