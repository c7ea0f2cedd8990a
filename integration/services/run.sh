#!/usr/bin/env bash
# The daemon as a group of services (docs/SERVICES.md), against a running daemon in
# network namespaces this script creates (svc-*): SIGHUP reloads every service (max-retry
# changes for the log path and for inline admission alike; a restart-only change is
# named), SIGTERM and SIGINT stop it gracefully (exit 0, state flushed, rules removed), a
# service that cannot start stops the others and exits 1; `intel update` from a local
# mirror followed by SIGHUP changes what the running daemon's intelligence store answers.
# Usage: integration/services/run.sh PATH/TO/sipwarden   Ends with "N passed, N failed".
set -uo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
HERE=$(cd "$(dirname "$0")" && pwd)
P=${SVC_NETNS_PREFIX:-svc}; NS=$P-$$-pbx; CLI=$P-$$-cli   # SVC_NETNS_PREFIX: namespaces of your own
DIR=$(mktemp -d /tmp/svc.XXXXXX)
PIDS=()
pass=0; fail=0
cleanup() {
  local p; for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null; ip netns del "$CLI" 2>/dev/null; rm -rf "$DIR"
}
trap cleanup EXIT
[ -n "${SVC_KEEP_LOG:-}" ] && trap 'cp "$DIR/d.out" "$SVC_KEEP_LOG"; cleanup' EXIT
ip netns add "$NS"; ip netns add "$CLI"
ip -n "$NS" link set lo up; ip -n "$CLI" link set lo up
ip link add "svc$$a" netns "$NS" type veth peer name "svc$$b" netns "$CLI"
ip -n "$NS" addr add 198.18.40.1/24 dev "svc$$a"; ip -n "$NS" link set "svc$$a" up
ip -n "$CLI" addr add 198.18.40.2/24 dev "svc$$b"; ip -n "$CLI" addr add 198.18.40.3/24 dev "svc$$b"
ip -n "$CLI" link set "svc$$b" up

check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$DIR/out" 2>"$DIR/err"; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$DIR/out" "$DIR/err" | head -20; fi
}
contains() { grep -qE -- "$1" "$2" || { echo "missing /$1/ in $2:" >&2; tail -20 "$2" >&2; return 1; }; }
wait_for() { local i; for i in $(seq 100); do "$@" 2>/dev/null && return 0; sleep 0.1; done; "$@"; }
banned() { ip netns exec "$NS" nft list set inet sipwarden host4 > "$DIR/set" 2>&1; grep -qF "$1" "$DIR/set" || { cat "$DIR/set" >&2; return 1; }; }
not_banned() { ! banned "$1"; }
received() { # source: credentialed REGISTERs the PBX saw from it
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$DIR/counts.json" "$1"; }
equals() { [ "$1" = "$2" ] || { echo "got '$1', expected '$2'" >&2; return 1; }; }
fail_lines() { # count source [log file]
  local i; for i in $(seq "$1"); do
    echo "0(1) NOTICE: <script>: SIPWARDEN event=auth_failed ts=$(date +%s).000001 src=$2 sport=5060 proto=udp method=REGISTER user=\"10$i\" ua=\"x\"" >> "${3:-$DIR/k.log}"
  done; }
config() { # max-retry inline-queue
  printf 'logs: ["kamailio:%s"]\nstate: %s\ninline:\n  queue: %s\ndetection:\n  max-retry: %s\n' "$DIR/k.log" "$DIR/state" "$2" "$1" > "$DIR/svc.yaml"
}

# --- a daemon with a log source and inline admission in front of a toy PBX ----------------
: > "$DIR/k.log"
ip netns exec "$NS" python3 "$HERE/sip.py" pbx 198.18.40.1 120 "$DIR/counts.json" &
PIDS+=($!)
config 5 4713
ip netns exec "$NS" "$BIN" run --config "$DIR/svc.yaml" > "$DIR/d.out" 2>&1 &
D=$!; PIDS+=($D)
check "ready" wait_for grep -q "sipwarden ready" "$DIR/d.out"
check "ready names every source, in start order" contains "watching=log:$DIR/k.log inline:4713" "$DIR/d.out"
check "the kernel table was reconciled before ready" awk '/reconciled kernel bans/ { r = NR } /sipwarden ready/ { ok = r > 0 } END { exit !ok }' "$DIR/d.out"

# Before the reload: max-retry 5 on both paths.
fail_lines 2 198.18.0.50
ip netns exec "$CLI" python3 "$HERE/sip.py" client 198.18.40.2 198.18.40.1 8 > "$DIR/c1" 2>&1
check "inline, max-retry 5: the PBX sees 5 of 8 credentialed requests" equals "$(received 198.18.40.2)" 5
check "inline, max-retry 5: the source is banned" wait_for banned 198.18.40.2
check "log, max-retry 5: 2 failures do not ban" not_banned 198.18.0.50

# SIGHUP: max-retry 2, and a restart-only change (the inline queue).
config 2 4714
kill -HUP "$D"
check "SIGHUP: reloaded with the new max-retry" wait_for contains "max_retry=2 .*SIGHUP: configuration reloaded" "$DIR/d.out"
check "SIGHUP: inline admission takes max-retry 2" wait_for contains "max_retry=2 .*inline: admission policy replaced" "$DIR/d.out"
check "SIGHUP: the inline queue change needs a restart, and says so" contains "apply only after a restart: inline" "$DIR/d.out"
fail_lines 2 198.18.0.51
check "log, max-retry 2: 2 failures ban" wait_for banned 198.18.0.51
ip netns exec "$CLI" python3 "$HERE/sip.py" client 198.18.40.3 198.18.40.1 8 > "$DIR/c2" 2>&1
check "inline, max-retry 2: the PBX sees 2 of 8 credentialed requests" equals "$(received 198.18.40.3)" 2
check "inline, max-retry 2: the source is banned" wait_for banned 198.18.40.3
check "the inline queue kept running on its restart-only setting" contains "queue-num 4713" <(ip netns exec "$NS" iptables-nft -S SIPWARDEN_INLINE_IN)

# A file that does not load changes nothing.
printf 'detection:\n  max-retry: [\n' > "$DIR/svc.yaml"
kill -HUP "$D"
check "SIGHUP with a broken file: refused" wait_for contains "configuration not reloaded, the running one stays in force" "$DIR/d.out"
fail_lines 2 198.18.0.52
check "SIGHUP with a broken file: max-retry 2 still in force" wait_for banned 198.18.0.52

# SIGTERM: the group stops every service, in reverse order, and exits 0.
kill -TERM "$D"; wait "$D"; rc=$?
check "SIGTERM: exit status 0" equals "$rc" 0
check "SIGTERM: says so" contains "stopping on signal 15" "$DIR/d.out"
check "SIGTERM: the stopped line counts the bans" contains "bans=4 .*stopped" "$DIR/d.out"
check "SIGTERM: inline counters in the stopped line" contains "inline_dropped_budget=[0-9]+ .*stopped" "$DIR/d.out"
check "SIGTERM: the inline rules are removed" bash -c "! ip netns exec $NS iptables-nft -S SIPWARDEN_INLINE_IN >/dev/null 2>&1"
check "SIGTERM: the pid file is removed" test ! -e "$DIR/state/sipwarden.pid"
check "SIGTERM: every ban is in the ledger (flushed)" bash -c "'$BIN' bans list --firewall dry-run --state '$DIR/state' | grep -cE '198\\.18\\.(0\\.5[12]|40\\.[23]) ' | grep -qx 4"
check "SIGTERM: kernel bans outlive the daemon" banned 198.18.0.51

# SIGINT stops gracefully too.
ip netns exec "$NS" "$BIN" run --log "kamailio:$DIR/k.log" --firewall dry-run --state "$DIR/s2" > "$DIR/i.out" 2>&1 &
D=$!; PIDS+=($D)
check "second daemon ready" wait_for grep -q "sipwarden ready" "$DIR/i.out"
kill -INT "$D"; wait "$D"; rc=$?
check "SIGINT: exit status 0" equals "$rc" 0
check "SIGINT: says so, and stops" bash -c "grep -q 'stopping on signal 2' '$DIR/i.out' && grep -q ' stopped' '$DIR/i.out'"

# A service that cannot start: the services already up are stopped, exit 1.
ip netns exec "$NS" "$BIN" run --log "kamailio:$DIR/k.log" --capture nosuch0 --firewall dry-run --state "$DIR/s3" > "$DIR/f.out" 2>&1
rc=$?
check "a sensor that cannot start: exit status 1" equals "$rc" 1
check "a sensor that cannot start: names it" contains "cannot capture on nosuch0" "$DIR/f.out"
check "a sensor that cannot start: never ready" bash -c "! grep -q 'sipwarden ready' '$DIR/f.out'"
check "a sensor that cannot start: the pid file is removed" test ! -e "$DIR/s3/sipwarden.pid"

# --- intel update → the running daemon's store --------------------------------------------
# A local mirror (iptoasn's TSV format) in the namespace; the daemon's bans carry the AS the
# store knew. After `intel update` fetched a changed table and SIGHUP, a new ban carries the
# new AS and the earlier one keeps the AS it was banned with.
mkdir -p "$DIR/www"
ip2asn() { printf '198.18.0.0\t198.18.0.255\t%s\tZZ\t%s\n198.18.1.0\t198.18.1.255\t64499\tZZ\tOTHER-AS\n' "$1" "$2" > "$DIR/www/ip2asn.tsv"
  touch -d "$3" "$DIR/www/ip2asn.tsv"; }   # Last-Modified: each copy newer than the last
ip2asn 64500 FIRST-AS "2026-01-01 00:00:00"
ip netns exec "$NS" python3 -m http.server 8731 --bind 127.0.0.1 --directory "$DIR/www" > "$DIR/http.out" 2>&1 &
PIDS+=($!)
: > "$DIR/k4.log"
printf 'logs: ["kamailio:%s"]\nstate: %s\nfirewall: dry-run\nintel:\n  auto-update: false\n  sources:\n    ip2asn: { url: "http://127.0.0.1:8731/ip2asn.tsv" }\n    only: [ip2asn]\n' \
  "$DIR/k4.log" "$DIR/s4" > "$DIR/i4.yaml"
ban_asn() { # source: the AS its ban carries, through the running daemon's API
  ip netns exec "$NS" "$BIN" bans list --json --config "$DIR/i4.yaml" > "$DIR/bans.json" || return 1
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if any(sys.argv[2] + "/" in str(v) or str(v) == sys.argv[2] for v in o.values()): print(o.get("asn")); break' "$DIR/bans.json" "$1"; }
ban_asn_is() { [ "$(ban_asn "$1")" = "$2" ] || { echo "ban of $1 carries AS '$(ban_asn "$1")', expected $2" >&2; cat "$DIR/bans.json" >&2; return 1; }; }
check "intel update: fetches the mirror" wait_for ip netns exec "$NS" "$BIN" intel update --config "$DIR/i4.yaml"
ip netns exec "$NS" "$BIN" run --config "$DIR/i4.yaml" > "$DIR/n.out" 2>&1 &
D=$!; PIDS+=($D)
check "intel daemon ready" wait_for grep -q "sipwarden ready" "$DIR/n.out"
fail_lines 5 198.18.0.60 "$DIR/k4.log"
check "intel: a ban carries the AS of the first table" wait_for ban_asn_is 198.18.0.60 64500
ip2asn 64501 SECOND-AS "2026-02-01 00:00:00"
check "intel update: the changed table is fetched" ip netns exec "$NS" "$BIN" intel update --config "$DIR/i4.yaml"
check "intel update: the stored copy is the new one" grep -q SECOND-AS "$DIR/s4/intel/ip2asn.ip2asn"
kill -HUP "$D"
check "intel: SIGHUP reloaded" wait_for contains "SIGHUP: configuration reloaded" "$DIR/n.out"
fail_lines 5 198.18.0.61 "$DIR/k4.log"
check "intel: after update and SIGHUP a new ban carries the new AS" wait_for ban_asn_is 198.18.0.61 64501
check "intel: the earlier ban keeps the AS it was banned with" ban_asn_is 198.18.0.60 64500
check "intel: the ban line names the new AS" bash -c "grep -E 'ban 198\\.18\\.0\\.61' '$DIR/n.out' | grep -q 'asn=64501'"
kill -TERM "$D"; wait "$D"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
