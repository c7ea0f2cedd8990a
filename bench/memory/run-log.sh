#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Peak RSS of the daemon reading a flood log (docs/BENCHMARKS.md, "Memory under a
# spoofed-source flood"): dry-run firewall, default settings, the flood appended to the
# watched file at once. Usage: bench/memory/run-log.sh SIPWARDEN FLOOD.log
set -eu
bin=$1
flood=$2
dir=$(mktemp -d /tmp/sw-det-mem.XXXXXX)
: > "$dir/watched.log"
"$bin" run --firewall dry-run --state "$dir/state" --log "asterisk:$dir/watched.log" > "$dir/daemon.out" 2>&1 &
pid=$!
sleep 3
size=$(stat -c %s "$flood")
start=$(date +%s)
cat "$flood" >> "$dir/watched.log"
# Done when the daemon has read the whole file.
while [ "$(awk '/^rchar/ {print $2}' "/proc/$pid/io")" -lt "$size" ]; do sleep 1; done
sleep 3
echo "read $size bytes in $(( $(date +%s) - start )) s"
grep -E 'VmHWM|VmRSS' "/proc/$pid/status"
kill -TERM "$pid"
wait "$pid" || true
grep stopped "$dir/daemon.out" || tail -3 "$dir/daemon.out"
rm -rf "$dir"
