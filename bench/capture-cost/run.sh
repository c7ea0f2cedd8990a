#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# CPU the capture sensor spends per packet of a UDP flood from a source that is already
# banned (issue 8, item 8). Two throwaway namespaces, sw-wire-a (the daemon, 198.18.200.1)
# and sw-wire-b (the flooder, 198.18.200.2), joined by a veth pair; the flooder is banned
# by hand first, then `sipwarden run --capture` starts, then a bounded flood is sent.
#
#   bench/capture-cost/run.sh nftables|dry-run [COUNT] [SECONDS]
#
# nftables: the ban is in the kernel and in the capture filter's banned-source map.
# dry-run:  nothing is attached or dropped (dry-run never attaches the kernel filter):
#           every packet goes through the sensor as before the filter existed.
# Prints the daemon's CPU time (utime+stime of all its threads, from /proc) during the
# flood, the packets that arrived on the daemon's interface, and µs per packet; with
# nftables also the kernel filter's own run time per packet (sysctl
# kernel.bpf_stats_enabled is set to 1 for the run and restored afterwards).
# Needs root and a release build (swift build -c release --product sipwarden).
set -euo pipefail
mode="${1:?usage: $0 nftables|dry-run [COUNT] [SECONDS]}"
count="${2:-1000000}"
seconds="${3:-20}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/.build/release/sipwarden"
[ -x "$bin" ] || { echo "build first: swift build -c release --product sipwarden" >&2; exit 2; }
work="$(mktemp -d /tmp/sw-wire-bench.XXXXXX)"
gcc -O2 -o "$work/flood" "$root/bench/capture-cost/flood.c"
gcc -O2 -o "$work/filter-stats" "$root/bench/capture-cost/filter-stats.c"
stats_before=$(cat /proc/sys/kernel/bpf_stats_enabled)
a=sw-wire-a b=sw-wire-b
daemon=""
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
    ip netns delete "$a" 2>/dev/null || true
    ip netns delete "$b" 2>/dev/null || true
    echo "$stats_before" >/proc/sys/kernel/bpf_stats_enabled
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add sw-wire-va netns "$a" type veth peer name sw-wire-vb netns "$b"
ip -n "$a" addr add 198.18.200.1/24 dev sw-wire-va
ip -n "$b" addr add 198.18.200.2/24 dev sw-wire-vb
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set sw-wire-va up
ip -n "$b" link set sw-wire-vb up

echo 1 >/proc/sys/kernel/bpf_stats_enabled
"$work/filter-stats" | awk '{ print $1 }' | sort >"$work/programs-before"
ip netns exec "$a" "$bin" bans add 198.18.200.2 --state "$work/state" --firewall "$mode" --ban-time 1h >/dev/null
ip netns exec "$a" "$bin" run --capture sw-wire-va:5060 --firewall "$mode" --state "$work/state" \
    --log-level notice >"$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do grep -q "sipwarden ready" "$work/daemon.log" && break; sleep 0.1; done
grep -q "sipwarden ready" "$work/daemon.log" || { cat "$work/daemon.log"; exit 1; }
sleep 1
ticks() { cat /proc/"$daemon"/task/*/stat | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t }'; }
rx() { ip netns exec "$a" cat /sys/class/net/sw-wire-va/statistics/rx_packets; }
ours() { "$work/filter-stats" | sort | join -v1 - "$work/programs-before" | awk '{ n += $2; c += $3 } END { printf "%d %d\n", n, c }'; }
read -r f0 c0 < <(ours)
t0=$(ticks); r0=$(rx)
ip netns exec "$b" timeout $((seconds + 5)) "$work/flood" 198.18.200.2 198.18.200.1 "$count" "$seconds"
sleep 6 # the sensor drains its socket, the correlator judges the last requests (4 s)
t1=$(ticks); r1=$(rx)
read -r f1 c1 < <(ours)
hz=$(getconf CLK_TCK)
awk -v t=$((t1 - t0)) -v hz="$hz" -v p=$((r1 - r0)) -v mode="$mode" 'BEGIN {
    cpu = t / hz
    printf "%s: daemon CPU %.2f s for %d packets on its interface: %.3f us/packet\n", mode, cpu, p, (p > 0 ? cpu * 1e6 / p : 0)
}'
if [ $((c1 - c0)) -gt 0 ]; then
    awk -v n=$((f1 - f0)) -v c=$((c1 - c0)) 'BEGIN { printf "kernel filter: %d runs, %.1f ns/run (eBPF, in softirq, not in the daemon'"'"'s CPU time)\n", c, n / c }'
fi
grep -iE "warning|error" "$work/daemon.log" | head -5 || true
