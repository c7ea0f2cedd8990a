#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sends SIP over UDP through sipwarden's inline admission (NFQUEUE), in the network
# namespace this script runs in (tests run it only inside namespaces they create).
#
#   scripts/inline-rules.sh install QUEUE [PORTS] [--fail-closed]
#   scripts/inline-rules.sh remove  QUEUE [PORTS]
#   scripts/inline-rules.sh status
#
# PORTS: comma-separated ports or ranges (5060, 5060,5080, 5060-5061), at most 15 entries;
# default 5060. Installs, for IPv4 (iptables-nft) and IPv6 (ip6tables-nft):
#   chain SIPWARDEN_INLINE_IN : udp dport PORTS (not from lo) -> NFQUEUE QUEUE [--queue-bypass]
#   chain SIPWARDEN_INLINE_OUT: udp sport PORTS (not to lo)   -> NFQUEUE QUEUE [--queue-bypass]
# jumped to from the top of INPUT and OUTPUT. Requests are judged on the way in; the PBX's
# responses on the way out release (or count as failures) what was admitted.
# --queue-bypass (the default) lets traffic pass when no program is bound to the queue:
# the PBX keeps working if sipwarden stops. --fail-closed omits it: nothing reaches the
# PBX unjudged, and nothing at all while sipwarden is down.
# Why iptables-nft: some kernels (this project's CI among them) lack nft's `queue`
# expression, while the xt NFQUEUE target works everywhere; the script says which it found.
set -euo pipefail

usage() {
    echo "usage: $0 install|remove QUEUE [PORTS] [--fail-closed] | status" >&2
    exit 2
}

IPT4=${IPTABLES:-iptables-nft}
IPT6=${IP6TABLES:-ip6tables-nft}
CHAIN_IN=SIPWARDEN_INLINE_IN
CHAIN_OUT=SIPWARDEN_INLINE_OUT

[[ $# -ge 1 ]] || usage
action=$1
shift

if [[ $action == status ]]; then
    for ipt in "$IPT4" "$IPT6"; do
        echo "== $ipt"
        "$ipt" -w -S "$CHAIN_IN" 2>/dev/null || echo "(no $CHAIN_IN)"
        "$ipt" -w -S "$CHAIN_OUT" 2>/dev/null || echo "(no $CHAIN_OUT)"
    done
    exit 0
fi

[[ $# -ge 1 ]] || usage
queue=$1
shift
ports=5060
bypass=(--queue-bypass)
for arg in "$@"; do
    case $arg in
        --fail-closed) bypass=() ;;
        --*) usage ;;
        *) ports=$arg ;;
    esac
done

[[ $queue =~ ^[0-9]+$ ]] && ((queue <= 65535)) || { echo "inline-rules: QUEUE must be 0..65535, got '$queue'" >&2; exit 2; }
[[ $ports =~ ^[0-9]+([-:][0-9]+)?(,[0-9]+([-:][0-9]+)?)*$ ]] || { echo "inline-rules: bad PORTS '$ports' (e.g. 5060 or 5060,5080 or 5060-5061)" >&2; exit 2; }
ports=${ports//-/:}
IFS=, read -r -a entries <<<"$ports"
((${#entries[@]} <= 15)) || { echo "inline-rules: at most 15 port entries" >&2; exit 2; }
for entry in "${entries[@]}"; do
    IFS=: read -r lo hi <<<"$entry"
    hi=${hi:-$lo}
    ((lo >= 1 && lo <= 65535 && hi >= lo && hi <= 65535)) || { echo "inline-rules: bad port entry '$entry'" >&2; exit 2; }
done

have() { command -v "$1" >/dev/null 2>&1; }
have "$IPT4" || { echo "inline-rules: $IPT4 not found (Debian: apt-get install iptables)" >&2; exit 1; }

# What does this kernel offer? (informational: the xt target is used either way)
nft_queue="unknown (nft not installed)"
if have nft; then
    if printf 'table inet sw_inline_probe {\n chain c {\n queue num %s bypass\n }\n}\n' "$queue" | nft -c -f - >/dev/null 2>&1; then
        nft_queue="available"
    else
        nft_queue="not available in this kernel"
    fi
fi
if [[ -e /proc/net/netfilter/nfnetlink_queue ]]; then nfq="present"; else nfq="not loaded yet (loads on first use)"; fi

remove_family() {
    local ipt=$1
    local n
    for pair in "INPUT $CHAIN_IN" "OUTPUT $CHAIN_OUT"; do
        set -- $pair
        for ((n = 0; n < 16; n++)); do
            "$ipt" -w -C "$1" -j "$2" 2>/dev/null || break
            "$ipt" -w -D "$1" -j "$2"
        done
        if "$ipt" -w -S "$2" >/dev/null 2>&1; then
            "$ipt" -w -F "$2"
            "$ipt" -w -X "$2"
        fi
    done
}

install_family() {
    local ipt=$1
    remove_family "$ipt"
    "$ipt" -w -N "$CHAIN_IN"
    "$ipt" -w -N "$CHAIN_OUT"
    "$ipt" -w -A "$CHAIN_IN" ! -i lo -p udp -m multiport --dports "$ports" -j NFQUEUE --queue-num "$queue" "${bypass[@]}"
    "$ipt" -w -A "$CHAIN_OUT" ! -o lo -p udp -m multiport --sports "$ports" -j NFQUEUE --queue-num "$queue" "${bypass[@]}"
    "$ipt" -w -I INPUT 1 -j "$CHAIN_IN"
    "$ipt" -w -I OUTPUT 1 -j "$CHAIN_OUT"
}

families=("$IPT4")
if have "$IPT6"; then families+=("$IPT6"); else echo "inline-rules: $IPT6 not found: IPv6 not queued" >&2; fi

case $action in
    install)
        for ipt in "${families[@]}"; do install_family "$ipt"; done
        echo "inline-rules: kernel: nfnetlink_queue $nfq; nft queue statement: $nft_queue"
        echo "inline-rules: installed with ${families[*]} (xt NFQUEUE target, works with or without the nft queue statement):"
        echo "  INPUT  udp dport $ports (not lo) -> NFQUEUE $queue ${bypass[*]:-(fail-closed: no bypass)}"
        echo "  OUTPUT udp sport $ports (not lo) -> NFQUEUE $queue ${bypass[*]:-(fail-closed: no bypass)}"
        if ((${#bypass[@]})); then
            echo "  while no program is bound to queue $queue, SIP traffic passes unjudged (fail-open)"
        else
            echo "  while no program is bound to queue $queue, SIP traffic is DROPPED (fail-closed)"
        fi
        ;;
    remove)
        for ipt in "${families[@]}"; do remove_family "$ipt"; done
        echo "inline-rules: removed $CHAIN_IN/$CHAIN_OUT (${families[*]})"
        ;;
    *) usage ;;
esac
