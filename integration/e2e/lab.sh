#!/bin/bash
# integration/e2e/lab.sh up|down|status - sipwarden's attack lab.
#
#   netns swlab-sw  : bridge br0 (the "switch"), no addresses
#   netns swlab-pbx : eth0 198.18.0.1/24   Kamailio udp+tcp :5060, the defender, nftables
#   netns swlab-att : eth0 198.18.0.2/24   sipvicious (svcrack, svwar)
#   netns swlab-cli : eth0 198.18.0.3/24   legit-client.py (user 101)
#
# No default routes: nothing can leave the lab. The root namespace is never
# given an interface, address or rule. `up` is idempotent and starts Kamailio
# (SIPWARDEN log format); `down` stops what the lab started (by PID) and
# deletes the namespaces.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_root

up() {
    local ns port
    mkdir -p "$SWLAB_RUN"
    for ns in $NS_SW $NS_PBX $NS_ATT $NS_CLI; do
        ns_exists "$ns" || ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        # private resolver config for `ip netns exec` (no DNS is reachable anyway)
        mkdir -p "/etc/netns/$ns"
        echo "nameserver 127.0.0.1" > "/etc/netns/$ns/resolv.conf"
    done
    ip -n $NS_SW link show br0 >/dev/null 2>&1 || ip -n $NS_SW link add br0 type bridge
    ip -n $NS_SW link set br0 type bridge stp_state 0 forward_delay 0 2>/dev/null || true
    ip -n $NS_SW link set br0 up
    # veth pairs created between the namespaces directly (never in the root ns)
    for pair in "$NS_PBX:v-pbx:$PBX_IP" "$NS_ATT:v-att:$ATT_IP" "$NS_CLI:v-cli:$CLI_IP"; do
        IFS=: read -r ns port addr <<<"$pair"
        ip -n $NS_SW link show "$port" >/dev/null 2>&1 \
            || ip -n $NS_SW link add "$port" type veth peer name eth0 netns "$ns"
        ip -n $NS_SW link set "$port" master br0 up
        ip -n "$ns" link set eth0 up
        grep -qF " $addr/" <<<"$(ip -n "$ns" addr show dev eth0)" || ip -n "$ns" addr add "$addr/24" dev eth0
    done
    ip netns exec $NS_ATT ping -c1 -W2 "$PBX_IP" >/dev/null || die "attacker cannot reach pbx"
    ip netns exec $NS_CLI ping -c1 -W2 "$PBX_IP" >/dev/null || die "client cannot reach pbx"
    kam_start kamailio
    echo "up=ok pbx=$PBX_IP attacker=$ATT_IP client=$CLI_IP kamailio_pid=$(kam_pid) log=$KAM_LOG"
}

down() {
    local ns pid
    f2b_stop
    kam_stop
    journal_stop
    for ns in $NS_ATT $NS_CLI $NS_PBX $NS_SW; do
        ns_exists "$ns" || continue
        # anything still running in a lab namespace was started by the lab scripts
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            log "stopping leftover pid $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-80)) in $ns"
            kill_pid "$pid" 5
        done
        ip netns del "$ns"
        rm -rf "/etc/netns/$ns"
    done
    rm -rf "$SWLAB_RUN"
    echo "down=ok"
}

status() {
    local ns rc=0
    for ns in $NS_SW $NS_PBX $NS_ATT $NS_CLI; do
        if ns_exists "$ns"; then echo "netns $ns: up"; else echo "netns $ns: missing"; rc=1; fi
    done
    local kp; kp=$(kam_pid)
    if [ -n "$kp" ] && kill -0 "$kp" 2>/dev/null; then echo "kamailio: running pid $kp"; else echo "kamailio: stopped"; rc=1; fi
    if ns_exists $NS_PBX; then
        echo "nft tables in $NS_PBX: $(pbx_nft list tables 2>/dev/null | tr '\n' ';')"
    fi
    return $rc
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
