#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs a command inside a throwaway network namespace, so that tests may create nftables
# tables, veth pairs and sockets without touching the host's network or firewall.
#
#   scripts/test-in-netns.sh swift test --scratch-path .build-firewall --filter FirewallTests
#
# Creates sw-test-$$ (the namespace the command runs in) and sw-test-$$-peer (a second,
# empty namespace the traffic tests may wire to the first with a veth pair; its name is
# passed in SIPWARDEN_PEER_NETNS). Both are deleted on exit, whatever happens. Needs root.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

# SIPWARDEN_NETNS_PREFIX (default sw-test) names the namespaces, e.g. one per helper.
ns="${SIPWARDEN_NETNS_PREFIX:-sw-test}-$$"
peer="${ns}-peer"

cleanup() {
    ip netns delete "$peer" 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$ns"
ip netns add "$peer"
ip -n "$ns" link set lo up
ip -n "$peer" link set lo up

set +e
SIPWARDEN_PEER_NETNS="$peer" ip netns exec "$ns" "$@"
status=$?
set -e
exit "$status"
