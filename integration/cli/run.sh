#!/usr/bin/env bash
# Command-line contract tests: exit codes, error messages, `events`, `replay`, and
# `bans add|list|remove` + `status` against real nftables inside a throwaway network
# namespace (never the root namespace). Usage: integration/cli/run.sh PATH/TO/sipwarden
# Ends with "N passed, N failed".
set -uo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
NS=swcli-$$
DIR=$(mktemp -d /tmp/swcli.XXXXXX)
pass=0; fail=0
cleanup() {
  [ -x "$(dirname "$0")/../e2e/tools/journal.sh" ] && "$(dirname "$0")/../e2e/tools/journal.sh" stop "$DIR/journald" 2>/dev/null
  ip netns del "$NS" 2>/dev/null || true; rm -rf "$DIR"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$DIR/out" 2>"$DIR/err"; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$DIR/out" "$DIR/err" | head -20; fi
}
exits() { # expected-status command...
  local want=$1; shift
  "$@" >"$DIR/o" 2>"$DIR/e"; local got=$?
  cat "$DIR/o"; cat "$DIR/e" >&2
  [ "$got" = "$want" ] || { echo "exit status $got, expected $want" >&2; return 1; }
}
contains() { grep -qF -- "$1" "$2" || { echo "missing '$1' in $2:" >&2; head -5 "$2" >&2; return 1; }; }

# --- exit codes and messages -----------------------------------------------------------
printf 'detection:\n  max-retry: 5\n  max-retries: 3\n' > "$DIR/typo.yaml"
check "config typo: exit 2" exits 2 "$BIN" run --config "$DIR/typo.yaml" --firewall dry-run
check "config typo: names file, line and key" contains "typo.yaml:3: detection.max-retries: unknown key" "$DIR/e"
check "bad flag value: exit 2" exits 2 "$BIN" run --max-retry 0 --firewall dry-run
check "bad duration: exit 2" exits 2 "$BIN" run --ban-time forever --firewall dry-run
check "unknown dialect: exit 2" exits 2 "$BIN" run --log cisco:/x --firewall dry-run
check "unknown option: exit 2" exits 2 "$BIN" run --no-such-option
check "missing config file: exit 2" exits 2 "$BIN" run --config "$DIR/missing.yaml"
check "bad --allow: exit 2" exits 2 "$BIN" run --allow 198.18.0.0/99 --firewall dry-run
check "bad --flood-guard: exit 2" exits 2 "$BIN" run --flood-guard fast --firewall dry-run
check "bad --flood-guard: says what is expected" contains "'--flood-guard <off|RATE[/BURST]>': expected off, RATE or RATE/BURST" "$DIR/e"
check "bad flag value: the file's range, at the flag" bash -c "'$BIN' run --max-retry 0 --firewall dry-run 2>&1 | grep -qF 'sipwarden: --max-retry: must be between 1 and 1000, got 0'"
check "bad duration: says what is expected" bash -c "'$BIN' run --find-time soon --firewall dry-run 2>&1 | grep -qF \"'--find-time <DURATION>': expected a positive duration\""
check "bad --firewall: lists the kinds" bash -c "'$BIN' run --firewall iptables 2>&1 | grep -qF \"'nftables' and 'dry-run'\""
check "bad --log-level: exit 2" exits 2 "$BIN" run --log-level loud --firewall dry-run
check "bad --capture: exit 2" exits 2 "$BIN" run --capture "eth0:70000" --firewall dry-run
check "unreadable log dir: exit 1" exits 1 "$BIN" run --log asterisk:/nonexistent-dir/messages --firewall dry-run --state "$DIR/s0"
check "--help: exit 0" exits 0 "$BIN" --help
check "events on a missing file: exit 1" exits 1 "$BIN" events "$DIR/missing.log"

# --- events and replay ----------------------------------------------------------------
{
  for i in 1 2 3 4 5 6; do
    echo "[2025-11-24 10:00:0$i] NOTICE[77] chan_sip.c: Registration from '\"x\" <sip:10$i@198.18.0.1>' failed for '198.18.0.9:5060' - Wrong password"
  done
  echo "[2025-11-24 10:00:09] VERBOSE[77] pbx.c: nothing to see"
  echo "[2025-11-24 10:00:10] SECURITY[77] res_security_log.c: SecurityEvent=\"ChallengeSent\",EventTV=\"1\",Severity=\"Informational\",Service=\"SIP\",EventVersion=\"1\",AccountID=\"100\",SessionID=\"x\",LocalAddress=\"IPV4/UDP/198.18.0.1/5060\",RemoteAddress=\"IPV4/UDP/198.18.0.3/5060\",Challenge=\"a\""
} > "$DIR/ast.log"
check "events: exit 0" exits 0 "$BIN" events "$DIR/ast.log"
check "events: 6 JSON lines" test "$(wc -l < "$DIR/o")" = 6
check "events: fields" contains '"time":"2025-11-24T10:00:01Z","source":"198.18.0.9","port":5060,"kind":"auth_failed","user":"101"' "$DIR/o"
check "events: line numbers" contains '"line":6}' "$DIR/o"
check "replay: one ban at the 5th failure" exits 0 "$BIN" replay "$DIR/ast.log"
check "replay: when and why" contains "2025-11-24T10:00:05Z ban 198.18.0.9 for 10m rule=failures offence=1" "$DIR/o"
check "replay --json" exits 0 "$BIN" replay --json --max-retry 3 "$DIR/ast.log"
check "replay --json: evidence" contains '"network":"198.18.0.9","rule":"failures"' "$DIR/o"

PCAP="$(cd "$(dirname "$0")/../.." && pwd)/Tests/PacketDecodingTests/Fixtures/zeek-wireshark.pcap"
check "events --pcap: exit 0" exits 0 "$BIN" events --pcap "$PCAP"
check "events --pcap: the 8 credential failures of the capture" test "$(wc -l < "$DIR/o")" = 8
check "events --pcap: frame numbers" contains '"kind":"auth_failed","user":"voi18063"' "$DIR/o"
check "replay --pcap" exits 0 "$BIN" replay --pcap --max-retry 3 "$PCAP"
check "replay --pcap: ban with frames" contains "ban 192.168.1.2 for 10m rule=failures offence=1: 3 failures (auth_failed)" "$DIR/o"
check "events --dialect bogus: exit 2" exits 2 "$BIN" events --dialect bogus "$PCAP"

# --- bans and status against real nftables (inside the namespace) ---------------------
S="$DIR/state"
check "bans add" exits 0 in_ns "$BIN" bans add 198.18.7.0/24 --ban-time 1h --reason "abuse case 1" --state "$S"
check "bans add: prefix in the kernel set" bash -c "ip netns exec $NS nft list set inet sipwarden ban4 | grep -qF 198.18.7.0/24"
check "bans add host" exits 0 in_ns "$BIN" bans add 2001:2::66 --state "$S"
check "bans add host: host in the kernel set" bash -c "ip netns exec $NS nft list set inet sipwarden host6 | grep -qF 2001:2::66"
check "bans list" exits 0 in_ns "$BIN" bans list --state "$S"
check "bans list: prefix shown as in kernel" grep -qE "198.18.7.0/24 .* yes .*abuse case 1" "$DIR/o"
check "bans list --json" exits 0 in_ns "$BIN" bans list --json --state "$S"
check "bans list --json: permanent host" contains '"network":"2001:2::66","kind":"manual"' "$DIR/o"
check "bans add with host bits: exit 2" exits 2 in_ns "$BIN" bans add 198.18.7.1/24 --state "$S"
check "status" exits 0 in_ns "$BIN" status --state "$S"
check "status: counts" contains "active bans:   2" "$DIR/o"
check "status: kernel" contains "2 elements" "$DIR/o"
check "bans remove" exits 0 in_ns "$BIN" bans remove 198.18.7.0/24 --state "$S"
check "bans remove: gone from the kernel" bash -c "! ip netns exec $NS nft list set inet sipwarden ban4 | grep -q 198.18.7.0"
check "bans list after remove" exits 0 in_ns "$BIN" bans list --state "$S"
check "bans list after remove: one left" test "$(grep -c '^[0-9a-f]' "$DIR/o")" = 1
check "dry-run never touches the kernel" exits 0 in_ns "$BIN" bans add 198.18.8.8 --firewall dry-run --state "$DIR/dry"
check "dry-run: no element" bash -c "! ip netns exec $NS nft list ruleset | grep -q 198.18.8.8"

# --- a running daemon learns about `bans remove` at once ------------------------------------
LIVE="$DIR/live"; : > "$DIR/live.log"
fail_lines() { local i; for i in 1 2 3 4 5; do
  echo "0(1) NOTICE: <script>: SIPWARDEN event=auth_failed ts=$(date +%s).000001 src=198.18.0.77 sport=5060 proto=udp method=REGISTER user=\"10$i\" ua=\"x\"" >> "$DIR/live.log"
done; }
in_set77() { grep -qF 198.18.0.77 <<<"$(ip netns exec "$NS" nft list set inet sipwarden host4)"; }
wait_for() { local i; for i in $(seq 50); do "$@" && return 0; sleep 0.1; done; return 1; }
ip netns exec "$NS" "$BIN" run --log "kamailio:$DIR/live.log" --state "$LIVE" > "$DIR/live.out" 2>&1 &
LIVE_PID=$!
wait_for grep -q "sipwarden ready" "$DIR/live.out"
fail_lines
check "live daemon: 5 failures ban" wait_for in_set77
check "bans remove while the daemon runs" exits 0 in_ns "$BIN" bans remove 198.18.0.77 --state "$LIVE"
check "bans remove: tells the running daemon" contains "the running daemon (pid $LIVE_PID) applies it now" "$DIR/o"
check "live daemon: logs the operator's lift" wait_for grep -q "operator lifted the ban of 198.18.0.77" "$DIR/live.out"
check "bans remove: gone from the kernel" bash -c "! ip netns exec $NS nft list set inet sipwarden host4 | grep -qF 198.18.0.77"
fail_lines
check "live daemon: the same source is banned again at the 5th failure after the lift" wait_for in_set77
kill -TERM "$LIVE_PID"; wait "$LIVE_PID" 2>/dev/null

# --- a state directory written by 94142ec (ledger v1) is migrated and reconciled ----------
LEG="$DIR/legacy"; mkdir -p "$LEG"
cp "$(dirname "$0")/../../Tests/StorageTests/Fixtures/state-94142ec/ledger.sqlite" "$LEG/"
check "legacy state: bans list --all" exits 0 "$BIN" bans list --all --json --firewall dry-run --state "$LEG"
check "legacy state: six bans, each with its ban id" test "$(grep -c '"ban_id":"[0-9a-f-]\{36\}"' "$DIR/o")" = 6
ip netns exec "$NS" nft flush set inet sipwarden host6
: > "$DIR/leg.log"
ip netns exec "$NS" "$BIN" run --log "kamailio:$DIR/leg.log" --state "$LEG" > "$DIR/leg.out" 2>&1 &
LEG_PID=$!
check "legacy state: the daemon starts on it" wait_for grep -q "sipwarden ready" "$DIR/leg.out"
check "legacy state: its permanent ban is reconciled into the kernel" bash -c "ip netns exec $NS nft list set inet sipwarden host6 | grep -qF 2001:2::66"
# Its long timed bans too, with the time they have left (nft once refused those above ~49 days
# written as one millisecond count). Expiry times as the fixture's ledger holds them.
if [ "$(date +%s)" -lt 1798833400 ]; then
  check "legacy state: its 30-day /24 is reconciled with its time left" bash -c "ip netns exec $NS nft list set inet sipwarden ban4 | grep -qF 198.18.7.0/24"
fi
if [ "$(date +%s)" -lt 1827777400 ]; then
  check "legacy state: its 365-day host ban is reconciled with its time left" bash -c "ip netns exec $NS nft list set inet sipwarden host4 | grep -qF 198.18.3.1"
fi
kill -TERM "$LEG_PID"; wait "$LEG_PID" 2>/dev/null

# --- lines that look like failures but match no known form --------------------------------
{
  echo "[2025-11-24 10:00:01] NOTICE[77] chan_sip.c: Registration from '<sip:1@h>' failed for '198.18.0.9:5060' - Wrong password"
  printf '[2025-11-24 10:00:02] NOTICE[77] chan_sip.c: Registration from x failed for 198.18.0.10 \033[31m- a form nobody knows\n'
  echo "[2025-11-24 10:00:03] NOTICE[77] chan_sip.c: Peer '100' is now Reachable. (5ms / 2000ms) from 198.18.0.11"
} > "$DIR/um.log"
check "events --unmatched: exit 0" exits 0 "$BIN" events --unmatched "$DIR/um.log"
check "events --unmatched: only the unknown failure form" test "$(wc -l < "$DIR/o")" = 1
check "events --unmatched: file, line, control characters escaped" contains "$DIR/um.log:2: [2025-11-24 10:00:02] NOTICE[77] chan_sip.c: Registration from x failed for 198.18.0.10 \x1B[31m- a form" "$DIR/o"
UM="$DIR/unmatched"; : > "$DIR/um-live.log"
ip netns exec "$NS" "$BIN" run --log "asterisk:$DIR/um-live.log" --firewall dry-run --state "$UM" > "$DIR/um.out" 2>&1 &
UM_PID=$!
wait_for grep -q "sipwarden ready" "$DIR/um.out"
cat "$DIR/um.log" >> "$DIR/um-live.log"; cat "$DIR/um.log" >> "$DIR/um-live.log"
wait_long() { local i; for i in $(seq 200); do "$@" && return 0; sleep 0.1; done; return 1; }
check "daemon logs the unmatched lines of a file" wait_long grep -q "um-live.log: 2 lines look like security failures but match no known log form" "$DIR/um.out"
check "status shows the unmatched count" wait_long bash -c "'$BIN' status --firewall dry-run --state '$UM' | grep -qF 'um-live.log: 2 lines that look like failures'"
check "status shows one escaped sample" bash -c "'$BIN' status --firewall dry-run --state '$UM' | grep -qF 'sample:      [2025-11-24 10:00:02] NOTICE[77] chan_sip.c: Registration from x failed for 198.18.0.10 \\x1B[31m'"
kill -TERM "$UM_PID"; wait "$UM_PID" 2>/dev/null

# --- SIGHUP reloads what can change live; a broken file changes nothing ----------------------
RL="$DIR/reload"; : > "$DIR/r.log"
printf 'logs: ["kamailio:%s"]\nstate: %s\ndetection:\n  max-retry: 5\n' "$DIR/r.log" "$RL" > "$DIR/reload.yaml"
ip netns exec "$NS" "$BIN" run --config "$DIR/reload.yaml" > "$DIR/reload.out" 2>&1 &
RL_PID=$!
wait_for grep -q "sipwarden ready" "$DIR/reload.out"
printf 'logs: ["kamailio:%s"]\nstate: %s\ndetection:\n  max-retry: 2\nflood-guard:\n  rate: 500\n  burst: 10\n' "$DIR/r.log" "$RL" > "$DIR/reload.yaml"
kill -HUP "$RL_PID"
check "SIGHUP: configuration reloaded" wait_for grep -q "SIGHUP: configuration reloaded" "$DIR/reload.out"
check "SIGHUP: names the live settings that changed and the services that took them" wait_for grep -q "services=enforcer,control-plane,detection,sensor:inline settings=flood-guard.rate,flood-guard.burst,detection.max-retry .*SIGHUP: live settings changed" "$DIR/reload.out"
check "SIGHUP: the new flood guard is in the kernel" bash -c "ip netns exec $NS nft list chain inet sipwarden_guard flood_guard | grep -qF 'limit rate over 500/second burst 10 packets'"
for i in 1 2; do echo "0(1) NOTICE: <script>: SIPWARDEN event=auth_failed ts=$(date +%s).000001 src=198.18.0.88 sport=5060 proto=udp method=REGISTER user=\"1\" ua=\"x\"" >> "$DIR/r.log"; done
check "SIGHUP: the new max-retry (2) bans" wait_for bash -c "ip netns exec $NS nft list set inet sipwarden host4 | grep -qF 198.18.0.88"
printf 'detection:\n  max-retry: [\n' > "$DIR/reload.yaml"
kill -HUP "$RL_PID"
check "SIGHUP with a broken file: not reloaded, says why" wait_for grep -q "configuration not reloaded, the running one stays in force" "$DIR/reload.out"
check "SIGHUP with a broken file: the daemon keeps running" kill -0 "$RL_PID"
check "SIGHUP with a broken file: the guard is unchanged" bash -c "ip netns exec $NS nft list chain inet sipwarden_guard flood_guard | grep -qF 'limit rate over 500/second burst 10 packets'"
printf 'logs: ["kamailio:%s.other"]\nstate: %s\n' "$DIR/r.log" "$RL" > "$DIR/reload.yaml"
kill -HUP "$RL_PID"
check "SIGHUP: names what needs a restart" wait_for grep -q "apply only after a restart: logs" "$DIR/reload.out"
kill -TERM "$RL_PID"; wait "$RL_PID" 2>/dev/null

# --- SIGHUP reaches inline admission too (it judges with the detector's new policy) ----------
RI="$DIR/reload-inline"
printf 'inline:\n  queue: 4711\nstate: %s\ndetection:\n  max-retry: 5\n' "$RI" > "$DIR/reload-inline.yaml"
ip netns exec "$NS" "$BIN" run --config "$DIR/reload-inline.yaml" > "$DIR/reload-inline.out" 2>&1 &
RI_PID=$!
wait_for grep -q "sipwarden ready" "$DIR/reload-inline.out"
printf 'inline:\n  queue: 4711\nstate: %s\ndetection:\n  max-retry: 2\n' "$RI" > "$DIR/reload-inline.yaml"
kill -HUP "$RI_PID"
check "SIGHUP: inline admission takes the new max-retry" wait_for grep -q "max_retry=2 .*inline: admission policy replaced" "$DIR/reload-inline.out"
kill -TERM "$RI_PID"; wait "$RI_PID" 2>/dev/null

# --- the README's first command: the daemon on its embedded defaults ---------------------
in_ns timeout -s TERM 4 "$BIN" run --state "$DIR/defaults" > "$DIR/defaults.out" 2>&1
check "run on embedded defaults reaches ready" contains "sipwarden ready" "$DIR/defaults.out"
check "run on embedded defaults installs the table" contains "reconciled kernel bans" "$DIR/defaults.out"
check "run on embedded defaults stops cleanly on SIGTERM" contains "stopping on signal 15" "$DIR/defaults.out"
check "run on embedded defaults builds the flood guard" bash -c "ip netns exec $NS nft list chain inet sipwarden_guard flood_guard | grep -qF 'limit rate over 1000/second burst 20 packets'"
check "the flood guard exempts loopback" bash -c "ip netns exec $NS nft list set inet sipwarden_guard exempt4 | grep -qF 127.0.0.0/8"
check "status with the daemon's guard" exits 0 in_ns "$BIN" status --state "$DIR/defaults"
check "status: flood guard line" contains "flood guard:   1000 packets/s, burst 20 per source on UDP 5060: 0 packets dropped" "$DIR/o"
printf 'flood-guard: off\n' > "$DIR/guardoff.yaml"
check "bans add with a guard-off config" exits 0 in_ns "$BIN" bans add 198.18.9.9 --config "$DIR/guardoff.yaml" --state "$DIR/defaults"
check "bans add leaves the daemon's guard table alone" bash -c "ip netns exec $NS nft list table inet sipwarden_guard | grep -qF flood_guard"
in_ns timeout -s TERM 4 "$BIN" run --flood-guard off --state "$DIR/noguard" > "$DIR/noguard.out" 2>&1
check "run --flood-guard off removes the guard table" bash -c "! ip netns exec $NS nft list table inet sipwarden_guard >/dev/null 2>&1"

# --- the systemd journal: a private journald (integration/e2e/tools/journal.sh), fed through syslog(3) --
JSH="$(cd "$(dirname "$0")/.." && pwd)/e2e/tools/journal.sh"
if [ -x /lib/systemd/systemd-journald ] && command -v logger >/dev/null; then
  JD="$DIR/journald"
  "$JSH" start "$JD" >/dev/null
  in_jns() { "$JSH" exec "$JD" ip netns exec "$NS" "$@"; }
  syslog_fail() { # count source
    local i; for i in $(seq "$1"); do
      "$JSH" exec "$JD" logger -t kamailio "0(1) NOTICE: <script>: SIPWARDEN event=auth_failed ts=$(date +%s).000001 src=$2 sport=5060 proto=udp method=REGISTER user=\"10$i\" ua=\"x\""
    done; }
  in_set() { grep -qF "$1" <<<"$(ip netns exec "$NS" nft list set inet sipwarden host4 2>/dev/null)"; }
  JS="$DIR/jstate"
  # Started directly (not through a shell function) so $! is the daemon: journal.sh, nsenter
  # and ip netns exec each exec the next.
  "$JSH" exec "$JD" ip netns exec "$NS" "$BIN" run --journal kamailio --state "$JS" > "$DIR/journal.out" 2>&1 &
  J_PID=$!
  wait_for grep -q "sipwarden ready" "$DIR/journal.out"
  check "journal: ready line names the journal" contains "watching=journal" "$DIR/journal.out"
  syslog_fail 5 198.18.0.91
  check "journal: 5 failures logged through syslog ban" wait_for in_set 198.18.0.91
  check "journal: the cursor is saved in the state directory" wait_for test -s "$JS/journal.cursor"
  kill -TERM "$J_PID"; wait "$J_PID" 2>/dev/null
  # While the daemon is down: 3 failures of a new source; after the restart, 2 more must ban
  # it (nothing lost), and the 5 already judged are not judged again (nothing re-read).
  syslog_fail 3 198.18.0.92
  "$JSH" exec "$JD" ip netns exec "$NS" "$BIN" run --journal kamailio --state "$JS" > "$DIR/journal2.out" 2>&1 &
  J_PID=$!
  wait_for grep -q "sipwarden ready" "$DIR/journal2.out"
  check "journal restart: resumes after the saved cursor" contains "resuming the journal after the saved cursor" "$DIR/journal2.out"
  syslog_fail 2 198.18.0.92
  check "journal restart: 3 while down + 2 after ban" wait_for in_set 198.18.0.92
  kill -TERM "$J_PID"; wait "$J_PID" 2>/dev/null
  check "journal restart: 5 events, none re-read" contains "bans=1 events=5" "$DIR/journal2.out"
  printf 'garbage\n' > "$JS/journal.cursor"
  in_jns timeout -s TERM 3 "$BIN" run --journal kamailio --state "$JS" > "$DIR/journal3.out" 2>&1
  check "journal: a corrupt cursor is named and reading starts at the end" contains "journal cursor file is not usable" "$DIR/journal3.out"
  in_jns timeout -s TERM 3 "$BIN" run --state "$DIR/jdefaults" > "$DIR/jdefaults.out" 2>&1
  check "embedded defaults: kamailio in the journal is read from the journal" contains "embedded defaults: kamailio: no readable log file, its entries are in the journal" "$DIR/jdefaults.out"
  check "embedded defaults with a journal reach ready" contains "watching=journal" "$DIR/jdefaults.out"
  "$JSH" stop "$JD"
else
  echo "skip journal checks (no systemd-journald or logger: scripts/install-deps.sh)"
fi
check "embedded defaults without any PBX capture SIP and say so" contains "capturing SIP on ports 5060-5061 of every interface" "$DIR/defaults.out"
check "embedded defaults: the ready line names the capture" contains "watching=capture:any" "$DIR/defaults.out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
