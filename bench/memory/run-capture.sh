#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Peak RSS of the daemon capturing a spoofed-source flood (docs/BENCHMARKS.md): two
# throwaway namespaces sw-det-s (sender) and sw-det-d (daemon) joined by a veth pair;
# tcpreplay sends the capture at full speed, the daemon (dry-run firewall, defaults)
# captures on its end. Usage: bench/memory/run-capture.sh SIPWARDEN FLOOD.pcap
set -eu
bin=$1
pcap=$2
dir=$(mktemp -d /tmp/sw-det-mem.XXXXXX)
cleanup() {
    ip netns del sw-det-s 2>/dev/null || true
    ip netns del sw-det-d 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
ip netns add sw-det-s
ip netns add sw-det-d
ip link add sw-det-a netns sw-det-s address 02:00:00:00:00:01 type veth peer name sw-det-b netns sw-det-d address 02:00:00:00:00:02
ip -n sw-det-s link set sw-det-a up
ip -n sw-det-d link set lo up
ip -n sw-det-d link set sw-det-b up
ip -n sw-det-d addr add 198.18.0.1/15 dev sw-det-b
ip -n sw-det-d addr add 2001:2::1/48 dev sw-det-b nodad
ip netns exec sw-det-d "$bin" run --firewall dry-run --state "$dir/state" --capture sw-det-b:5060 > "$dir/daemon.out" 2>&1 &
pid=$!
sleep 3
start=$(date +%s)
ip netns exec sw-det-s timeout 900 tcpreplay --topspeed -q -i sw-det-a "$pcap" 2>&1 | grep -E "Actual|Rated|Failed" || true
sleep 5
echo "sent in $(( $(date +%s) - start )) s"
grep -E 'VmHWM|VmRSS' "/proc/$pid/status"
kill -TERM "$pid"
wait "$pid" || true
grep -E "stopped|capture" "$dir/daemon.out" | tail -4
