#!/usr/bin/env bash
# `sipwarden abuse abuseipdb`: bans made by a real daemon from log lines (in a throwaway
# network namespace) reported to a local stand-in for AbuseIPDB's v2 API
# (abuseipdb_server.py; the public service cannot be reached from tests).
# Usage: integration/abuseipdb/run.sh PATH/TO/sipwarden. Ends with "N passed, N failed".
set -uo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
HERE=$(cd "$(dirname "$0")" && pwd)
NS=swipdb-$$
DIR=$(mktemp -d /tmp/swipdb.XXXXXX)
PORT=8480
KEY=k3ylab0000000000000000000000000000000000000000000000000000000000000000000000001
pass=0; fail=0; server=; daemon=
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  ip netns del "$NS" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$DIR"
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
exits() { local want=$1; shift; "$@"; [ "$?" = "$want" ]; }

# Bans with evidence, made by the daemon from Kamailio log lines.
STATE=$DIR/state LOG=$DIR/kamailio.log
: > "$LOG"
ip netns exec "$NS" "$BIN" run --log "kamailio:$LOG" --firewall nftables --state "$STATE" --max-retry 3 --find-time 60s --ban-time 10m \
  2> "$DIR/daemon.err" &
daemon=$!
for _ in $(seq 100); do grep -q "sipwarden ready" "$DIR/daemon.err" && break; sleep 0.1; done
fail_line() { # address user
  printf 'x NOTICE: <script>: SIPWARDEN event=auth_failed ts=%s src=%s sport=5062 proto=udp method=REGISTER user="%s" ua="friendly-scanner"\n' \
    "$(date +%s.%6N)" "$1" "$2" >> "$LOG"
}
for a in 198.18.50.1 198.18.50.2 2001:2::50; do for u in 100 101 102; do fail_line "$a" "$u"; done; done
for _ in $(seq 100); do [ "$(grep -c 'ban ' "$DIR/daemon.err")" -ge 3 ] && break; sleep 0.1; done
kill "$daemon"; wait "$daemon" 2>/dev/null; daemon=
check "the daemon banned the three sources (the ledger has their evidence)" \
  sh -c "\"$BIN\" bans list --state \"$STATE\" | grep -c -e 198.18.50.1 -e 198.18.50.2 -e 2001:2::50 | grep -qx 3"

echo "$KEY" > "$DIR/key"; chmod 600 "$DIR/key"
: > "$DIR/limited"
ip netns exec "$NS" python3 "$HERE/abuseipdb_server.py" "$PORT" "$KEY" "$DIR/requests.jsonl" "$DIR/limited" 2 2>"$DIR/server.log" &
server=$!
for _ in $(seq 50); do in_ns python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break; sleep 0.1; done
report() { in_ns "$BIN" abuse abuseipdb --state "$STATE" --key-file "$DIR/key" --api "http://127.0.0.1:$PORT/api/v2/" "$@"; }
requests() { python3 - "$DIR/requests.jsonl" "$@" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])] if __import__("os").path.exists(sys.argv[1]) else []
ip, answer = sys.argv[2], sys.argv[3]
print(sum(1 for r in rows if r["fields"].get("ip") == ip and str(r["answer"]) == answer))
PY
}
count_is() { [ "$(requests "$1" "$2")" = "$3" ]; }

# What would be sent, without sending.
dry() {
  in_ns "$BIN" abuse abuseipdb --state "$STATE" --dry-run --account 101 198.18.50.1 > "$DIR/dry" || return 1
  cat "$DIR/dry"
  grep -q '^ip=198.18.50.1&categories=8%2C18&comment=' "$DIR/dry" &&
    grep -q '3+failed+attempts+over+SIP%2FUDP' "$DIR/dry" && grep -q 'Accounts+tried%3A+%22%5Bredacted%5D%22%2C+%22%5Bredacted%5D%22%2C+%22%5Bredacted%5D%22' "$DIR/dry" &&
    [ ! -e "$DIR/requests.jsonl" ]
}
# All three accounts failed with a wrong password: the PBX knows them, they are redacted
# by default (besides --account 101).
check "--dry-run prints the form body (the accounts the PBX knew redacted) and sends nothing" dry

sent_once() {
  report 198.18.50.1 || return 1
  count_is 198.18.50.1 200 1 && python3 - "$DIR/requests.jsonl" "$KEY" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][-1]
assert r["key"] == sys.argv[2] and r["accept"] == "application/json", r
assert r["content_type"] == "application/x-www-form-urlencoded", r
assert r["fields"]["categories"] == "8,18" and r["fields"]["timestamp"].endswith("Z"), r
print(r["fields"]["comment"])
PY
}
check "a banned address is reported once, with the key, categories 8 and 18 and the attack's time" sent_once
check "the queue is empty after the answer" sh -c "python3 -c 'import json,sys; q=json.load(open(sys.argv[1])); sys.exit(len(q[\"pending\"]))' \"$STATE/abuse/abuseipdb.json\""

spaced() {
  report 198.18.50.1 > "$DIR/again" || return 1
  cat "$DIR/again"
  count_is 198.18.50.1 200 1 && [ "$(wc -l < "$DIR/requests.jsonl")" = 1 ] && grep -q "1 report(s) wait in the queue" "$DIR/again"
}
check "reported again at once: it waits for the 15 minutes, nothing is sent" spaced

echo 2001:2::50 > "$DIR/limited"
limited_then_sent() {
  report 2001:2::50 > "$DIR/first"; cat "$DIR/first"
  grep -q "2001:2::50: not yet" "$DIR/first" || return 1
  report > "$DIR/second"; cat "$DIR/second"   # before Retry-After (2 s): nothing is sent
  [ "$(requests 2001:2::50 429)" = 1 ] && [ "$(requests 2001:2::50 200)" = 0 ] || return 1
  sleep 2.2
  report > "$DIR/third"; cat "$DIR/third"
  grep -q "2001:2::50: reported" "$DIR/third" && count_is 2001:2::50 200 1
}
check "a 429 with Retry-After pauses the queue; the report is sent after it, once" limited_then_sent

crash_resend() {
  # The first answer is a 429, so the report stays queued: the queue file then is what a
  # crash between a later send and the save of its answer leaves behind.
  echo 198.18.50.2 >> "$DIR/limited"
  report 198.18.50.2 > /dev/null
  cp "$STATE/abuse/abuseipdb.json" "$DIR/before-send.json"
  sleep 2.2
  report > "$DIR/sent"; cat "$DIR/sent"
  grep -q "198.18.50.2: reported" "$DIR/sent" && count_is 198.18.50.2 200 1 || return 1
  cp "$DIR/before-send.json" "$STATE/abuse/abuseipdb.json"   # the crash: the answer was never saved
  report > "$DIR/resent"; cat "$DIR/resent"
  grep -q "198.18.50.2: already reported within 15 minutes" "$DIR/resent" && count_is 198.18.50.2 200 1 &&
    python3 -c 'import json,sys; q=json.load(open(sys.argv[1])); sys.exit(any(e["report"]["address"] == "198.18.50.2" for e in q["pending"]))' \
      "$STATE/abuse/abuseipdb.json"
}
check "resent after a crash: answered 'once in 15 minutes', counted once, leaves the queue" crash_resend

refused_with() { # message, then report's arguments: exit 1 and the message on stderr
  local message=$1; shift
  report "$@" 2>"$DIR/why"; local s=$?; cat "$DIR/why"
  [ "$s" = 1 ] && grep -q "$message" "$DIR/why"
}
check "an address without a ban: exit 1, says why" refused_with 'the ledger has no ban of it' 198.18.99.9
echo wrongkey0000 > "$DIR/badkey"; chmod 600 "$DIR/badkey"
bad_key() {
  cp -r "$STATE" "$DIR/state2"; rm -f "$DIR/state2/abuse/abuseipdb.json"
  in_ns "$BIN" abuse abuseipdb --state "$DIR/state2" --key-file "$DIR/badkey" --api "http://127.0.0.1:$PORT/api/v2/" 198.18.50.1 > "$DIR/bad" 2>&1
  local s=$?; cat "$DIR/bad"
  [ "$s" = 1 ] && grep -q "refused (HTTP 401: Authentication failed" "$DIR/bad" &&
    python3 -c 'import json,sys; q=json.load(open(sys.argv[1])); sys.exit(len(q["pending"]) or len(q["refusals"]) != 1)' \
      "$DIR/state2/abuse/abuseipdb.json"
}
check "a wrong key: refused (HTTP 401), exit 1, not queued again" bad_key
chmod 644 "$DIR/key"
check "a key file readable by others is refused" refused_with 'readable by others than its owner' 198.18.50.1
check "not an address: usage error, exit 2" exits 2 report not-an-ip

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
