#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real Kamailio (Debian package, the lab's config with log_stderror=no) logging through
# syslog(3) into a private journald (journal.sh); `sipwarden run --journal kamailio` reads
# it and bans a client that sends wrong passwords (legit-client.py --password wrong).
# Own namespaces (swjk-*) and a temporary directory: it does not touch the swlab-* lab.
#   integration/e2e/tools/journal-kamailio.sh [PATH/TO/sipwarden]     (root)
set -uo pipefail
WT=$(cd "$(dirname "$0")/../../.." && pwd)
JSH=$WT/integration/e2e/tools/journal.sh
BIN=$(readlink -f "${1:-$WT/.build/debug/sipwarden}")
D=$(mktemp -d /tmp/swjk.XXXXXX)
P=swjk-pbx-$$; C=swjk-cli-$$
kpid=; spid=
cleanup() {
  [ -n "$spid" ] && kill -TERM $spid 2>/dev/null && wait $spid 2>/dev/null
  [ -s "$D/kam.pid" ] && kill -TERM $(cat "$D/kam.pid") 2>/dev/null; sleep 0.3
  [ -n "$kpid" ] && kill -TERM $kpid 2>/dev/null; wait $kpid 2>/dev/null
  "$JSH" stop "$D/jd"; ip netns del $P 2>/dev/null; ip netns del $C 2>/dev/null; rm -rf "$D"
}
trap cleanup EXIT
ip netns add $P; ip netns add $C
ip link add swjk0 netns $P type veth peer name swjk1 netns $C
ip -n $P addr add 198.18.0.1/24 dev swjk0; ip -n $C addr add 198.18.0.3/24 dev swjk1
for n in $P $C; do ip -n $n link set lo up; done
ip -n $P link set swjk0 up; ip -n $C link set swjk1 up
"$JSH" start "$D/jd" >/dev/null
mkdir -p "$D/dbtext"; cp $WT/integration/e2e/conf/dbtext/* "$D/dbtext/"
sed 's/^log_stderror=yes/log_stderror=no/' $WT/integration/e2e/conf/kamailio.cfg > "$D/kamailio.cfg"
"$JSH" exec "$D/jd" ip netns exec $P kamailio -DD -f "$D/kamailio.cfg" -A "SWLAB_DB=\"text://$D/dbtext\"" -P "$D/kam.pid" -Y "$D" -m 64 -M 8 </dev/null >"$D/kam.out" 2>&1 &
kpid=$!
for i in $(seq 100); do grep -qF 198.18.0.1:5060 <<<"$(ip netns exec $P ss -lun)" && break; sleep 0.05; done
"$JSH" exec "$D/jd" ip netns exec $P "$BIN" run --journal kamailio --state "$D/state" > "$D/sw.out" 2>&1 &
spid=$!
for i in $(seq 100); do grep -q "sipwarden ready" "$D/sw.out" && break; sleep 0.1; done
t0=$(date +%s%N)
for i in 1 2 3 4 5 6 7 8; do ip netns exec $C python3 $WT/integration/e2e/legit-client.py --password wrong --txn-timeout 1 >/dev/null 2>&1; done
sleep 1
echo "--- journal (identifier kamailio):"; "$JSH" exec "$D/jd" journalctl -q -t kamailio -o short-precise | grep SIPWARDEN | head -3
echo "--- sipwarden:"; grep -E "ready|ban |reading" "$D/sw.out"
echo "--- kernel set:"; ip netns exec $P nft list set inet sipwarden host4 | grep elements
grep -qF 198.18.0.3 <<<"$(ip netns exec $P nft list set inet sipwarden host4)" && echo "journal-kamailio: ok (banned through the journal)" || { echo "journal-kamailio: FAIL"; cat "$D/sw.out"; exit 1; }
