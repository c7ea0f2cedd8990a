#!/bin/bash
# nft-guard.sh - the only way the lab (and fail2ban's nftables action) runs nft.
# Executes /usr/sbin/nft only when the calling process is inside netns
# swlab-pbx (same nsfs inode as /run/netns/swlab-pbx); refuses otherwise, so no
# lab rule can ever reach the root namespace's ruleset.
if [ -e /run/netns/swlab-pbx ] && [ /proc/self/ns/net -ef /run/netns/swlab-pbx ]; then
    exec /usr/sbin/nft "$@"
fi
echo "nft-guard: refusing to run nft outside netns swlab-pbx" >&2
exit 99
