#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The control plane against a real daemon with real nftables inside a throwaway network
# namespace (cp-api-PID; never the root namespace): the Unix socket and its token, bans
# through the API reaching the kernel set and the ledger, refusals without the token that
# change nothing, the command line going through the running daemon (and working alone
# when none runs), TCP on the namespace's loopback, and schemathesis against the live API
# with the document it serves; then a second daemon with an `abuse:` section (review mode,
# a local RDAP stand-in serving a recorded answer, a sendmail of this test's own that
# writes each message to a file): its cases and provider scorecard through the API.
# Usage: integration/api/run.sh PATH/TO/sipwarden
# Ends with "N passed, N failed".
set -uo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
NS=cp-api-$$
DIR=$(mktemp -d /tmp/cp-api.XXXXXX)
S="$DIR/state"
SOCK="$S/api.sock"
PORT=9480
pass=0; fail=0
DAEMON_PID=; RDAP_PID=
cleanup() {
  [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  [ -n "$RDAP_PID" ] && kill "$RDAP_PID" 2>/dev/null && wait "$RDAP_PID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null || true; rm -rf "$DIR"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$DIR/out" 2>"$DIR/err"; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$DIR/out" "$DIR/err" | head -30; fi
}
saved() { "$@" >"$DIR/o" 2>"$DIR/e"; local rc=$?; cat "$DIR/o"; cat "$DIR/e" >&2; return $rc; } # keeps the output in $DIR/o
contains() { grep -qF -- "$1" "$2" || { echo "missing '$1' in $2:" >&2; head -5 "$2" >&2; return 1; }; }
matches() { grep -qE -- "$1" "$2" || { echo "no line matches /$1/ in $2:" >&2; tail -5 "$2" >&2; return 1; }; }
wait_for() { local i; for i in $(seq 100); do "$@" && return 0; sleep 0.1; done; return 1; }
# api METHOD PATH [BODY] [TOKEN]: curl on the Unix socket; body in $DIR/body, status printed
api() {
  local args=(-s -o "$DIR/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1")
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data "$3")
  [ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
  curl "${args[@]}" "http://localhost$2"
}
status_is() { local want=$1; shift; local got; got=$(api "$@"); [ "$got" = "$want" ] || { echo "HTTP $got, expected $want: $(cat "$DIR/body")" >&2; return 1; }; }
in_set() { in_ns nft list set inet sipwarden "$1" > "$DIR/set" 2>&1; grep -qF -- "$2" "$DIR/set" || { echo "not in $1:" >&2; cat "$DIR/set" >&2; return 1; }; }
not_in_set() { ! in_set "$@"; }
ledger_rows() { # network: ledger rows of exactly that network ("network|origin|lifted?")
  python3 - "$S/ledger.sqlite" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for network, origin, lifted in db.execute("SELECT network, origin, liftedAt FROM ban WHERE network = ?", (sys.argv[2],)):
    print(f"{network}|{origin}|{'lifted' if lifted else 'active'}")
PY
}
ledger_has() { grep -qx "$1|$2|$3" <<<"$(ledger_rows "$1")"; }
ledger_empty_for() { [ -z "$(ledger_rows "$1")" ]; }

# --- the daemon: real nftables in the namespace, the API on its socket and on loopback TCP --
: > "$DIR/live.log"
ip netns exec "$NS" "$BIN" run --log "kamailio:$DIR/live.log" --state "$S" --http "127.0.0.1:$PORT" > "$DIR/daemon.out" 2>&1 &
DAEMON_PID=$!
check "daemon ready" wait_for grep -q "sipwarden ready" "$DIR/daemon.out"
check "control plane listening" contains "control plane listening" "$DIR/daemon.out"
check "socket is root only (0600)" test "$(stat -c %a "$SOCK")" = 600
check "token file created 0600" test "$(stat -c %a "$S/api.token")" = 600
check "token: 64 hex digits" grep -qxE '[0-9a-f]{64}' "$S/api.token"
TOKEN=$(cat "$S/api.token")

# --- reads -------------------------------------------------------------------------------
check "health" status_is 200 GET /v1/health
check "ready" status_is 200 GET /v1/ready
check "status" status_is 200 GET /v1/status
check "status: the daemon's pid" contains "\"pid\":$DAEMON_PID" "$DIR/body"
check "openapi.yaml served" status_is 200 GET /openapi.yaml
check "openapi.yaml is OpenAPI 3.1" contains "openapi: 3.1.0" "$DIR/body"
# Without an abuse: section there is no case service: the case routes say so (404).
check "cases without abuse: 404" status_is 404 GET /v1/cases
check "cases without abuse: the answer says why" contains "no abuse: section" "$DIR/body"
check "providers without abuse: 404" status_is 404 GET /v1/providers
check "case approve without abuse: 404" status_is 404 POST /v1/cases/7d7f1c2e-52a4-4c1e-9c55-0a8f3b1e2d44/approve "" "$TOKEN"

# --- a change without the token: 401, JSON error, nothing changed ------------------------------
check "ban without token: 401" status_is 401 POST /v1/bans '{"network":"198.18.7.0/24","ban_seconds":3600}'
check "ban without token: JSON error" python3 -c "import json,sys; assert 'token' in json.load(open(sys.argv[1]))['error']" "$DIR/body"
# The token with its last digit changed (to 1 if it was 0, else to 0): certainly wrong.
WRONG_TOKEN="${TOKEN%?}$([ "${TOKEN: -1}" = 0 ] && echo 1 || echo 0)"
check "ban with a wrong token: 401" status_is 401 POST /v1/bans '{"network":"198.18.7.0/24"}' "$WRONG_TOKEN"
check "refused ban: not in the kernel" not_in_set ban4 198.18.7.0/24
check "refused ban: not in the ledger" ledger_empty_for 198.18.7.0/24
check "refused ban: no ban log line" bash -c "! grep -q 'ban 198.18.7.0/24' '$DIR/daemon.out'"

# --- bans through the API reach the kernel and the ledger ----------------------------------
check "ban a prefix: 201" status_is 201 POST /v1/bans '{"network":"198.18.7.0/24","ban_seconds":3600,"reason":"abuse case 1"}' "$TOKEN"
check "ban a prefix: answer says in kernel" contains '"in_kernel":true' "$DIR/body"
check "ban a prefix: in the kernel set" in_set ban4 198.18.7.0/24
check "ban a prefix: in the ledger (manual, active)" ledger_has 198.18.7.0/24 manual active
check "ban a host (permanent): 201" status_is 201 POST /v1/bans '{"network":"2001:2::66"}' "$TOKEN"
check "ban a host: in the kernel set" in_set host6 2001:2::66
check "ban a host: in the ledger" ledger_has 2001:2::66/128 manual active
check "daemon logs the change" contains "operator banned 198.18.7.0/24 through the control plane" "$DIR/daemon.out"
check "ban through the API: the fan-out's ban log line, origin manual, with its ban id" \
  matches "ban_id=[0-9a-f-]{36} .*origin=manual .*ban 198\.18\.7\.0/24 for 1h: abuse case 1$" "$DIR/daemon.out"
check "ban through the API: the same ban id in the answer and in the log line" \
  bash -c "grep -q \"ban_id=\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"ban_id\"])' '$DIR/body') \" '$DIR/daemon.out'"
check "ban with host bits: 400" status_is 400 POST /v1/bans '{"network":"198.18.7.1/24"}' "$TOKEN"
check "ban /0: 400, nothing in the kernel" status_is 400 POST /v1/bans '{"network":"0.0.0.0/0"}' "$TOKEN"
check "bans list: both" status_is 200 GET /v1/bans
check "bans list: prefix in kernel" python3 -c "
import json,sys; bans={b['network']: b for b in json.load(open(sys.argv[1]))['bans']}
assert bans['198.18.7.0/24']['in_kernel'] is True and bans['2001:2::66']['in_kernel'] is True, bans" "$DIR/body"
check "lift without token: 401" status_is 401 DELETE "/v1/bans?network=198.18.7.0/24"
check "lift without token: still in the kernel" in_set ban4 198.18.7.0/24
check "lift: 200" status_is 200 DELETE "/v1/bans?network=198.18.7.0/24" "" "$TOKEN"
check "lift: one ledger entry" contains '"lifted":1' "$DIR/body"
check "lift: gone from the kernel" not_in_set ban4 198.18.7.0
check "lift: lifted in the ledger" ledger_has 198.18.7.0/24 manual lifted
check "lift: the fan-out's lift log line, origin manual" matches "origin=manual .*lift 198\.18\.7\.0/24: lifted$" "$DIR/daemon.out"

# --- the detector learns about API changes: a lifted source is judged afresh ---------------
fail_lines() { local i; for i in 1 2 3 4 5; do
  echo "0(1) NOTICE: <script>: SIPWARDEN event=auth_failed ts=$(date +%s).000001 src=198.18.0.77 sport=5060 proto=udp method=REGISTER user=\"10$i\" ua=\"x\"" >> "$DIR/live.log"
done; }
fail_lines
check "5 failures ban (detector)" wait_for in_set host4 198.18.0.77
check "lift the detector's ban through the API" status_is 200 DELETE "/v1/bans?network=198.18.0.77" "" "$TOKEN"
check "lifted source gone from the kernel" not_in_set host4 198.18.0.77
fail_lines
check "banned again at the 5th failure after the lift" wait_for in_set host4 198.18.0.77

# --- /metrics: valid Prometheus text; the ban counter and latency histograms count both bans --
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
series() { python3 - "$DIR/metrics" "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
total = 0.0
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
        if f"{sample.name}{{{labels}}}" == sys.argv[2] or (sample.name == sys.argv[2] and not sample.labels):
            total += sample.value
print(int(total))
PY
}
check "GET /metrics: 200" status_is 200 GET /metrics
cp "$DIR/body" "$DIR/metrics"
check "/metrics parses with prometheus_client (types, help, cumulative buckets, no address label)" \
  python3 "$ROOT/integration/api/check-metrics.py" "$DIR/metrics" --require sipwarden_ban_latency_seconds_bucket \
    --require sipwarden_kernel_ban_duration_seconds_bucket --require sipwarden_bans_total
check "/metrics: two detector bans counted" test "$(series 'sipwarden_bans_total{origin="detector",rule="failures"}')" -ge 2
check "/metrics: the end-to-end latency histogram counts them" test "$(series sipwarden_ban_latency_seconds_count)" -ge 2
check "/metrics: the kernel-call histogram counts them" test "$(series sipwarden_kernel_ban_duration_seconds_count)" -ge 2
check "/metrics: the API's two bans counted with origin manual" test "$(series 'sipwarden_bans_total{origin="manual",rule="manual"}')" -ge 2
check "/metrics: the ledger's queue dropped nothing" test "$(series 'sipwarden_consumer_queue_dropped_total{consumer="ledger"}')" = 0
check "/metrics: no address of this test in any series" bash -c "! grep -E '198\.18\.|2001:2:' '$DIR/metrics'"

# --- the command line goes through the running daemon ------------------------------------
check "cli bans add" saved in_ns "$BIN" bans add 198.18.9.0/24 --ban-time 10m --reason cli --state "$S"
check "cli bans add: said the daemon applied it" contains "the running daemon (pid $DAEMON_PID) applies it now" "$DIR/o"
check "cli bans add: made by the daemon" contains "operator banned 198.18.9.0/24 through the control plane" "$DIR/daemon.out"
check "cli bans add: in the kernel" in_set ban4 198.18.9.0/24
check "cli bans list" saved in_ns "$BIN" bans list --state "$S"
check "cli bans list: from the daemon, in kernel" grep -qE "198.18.9.0/24 .* yes .*cli" "$DIR/o"
check "cli status" saved in_ns "$BIN" status --state "$S"
check "cli status: the daemon answers" contains "daemon:        running (pid $DAEMON_PID)" "$DIR/o"
check "cli status: kernel elements" grep -qE "^firewall: +nftables table inet sipwarden: [0-9]+ elements" "$DIR/o"
check "cli bans remove" in_ns "$BIN" bans remove 198.18.9.0/24 --state "$S"
check "cli bans remove: made by the daemon" contains "operator lifted the ban of 198.18.9.0/24 through the control plane" "$DIR/daemon.out"
check "cli bans remove: gone from the kernel" not_in_set ban4 198.18.9.0
check "cli refuses an allowlisted network (daemon's allowlist)" bash -c "! ip netns exec $NS '$BIN' bans add 127.0.0.1 --state '$S'"

# --- TCP on the namespace's loopback: every request needs the token ---------------------------
tcp() { in_ns curl -s -o "$DIR/body" -w '%{http_code}' "$@"; }
check "tcp: status without token 401" test "$(tcp "http://127.0.0.1:$PORT/v1/status")" = 401
check "tcp: status with token 200" test "$(tcp -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/status")" = 200

# --- schemathesis against the live API (the document it serves), on loopback TCP --------------
if command -v schemathesis >/dev/null || python3 -c "import schemathesis" 2>/dev/null; then
  ST=(python3 -m schemathesis.cli)
  command -v schemathesis >/dev/null && ST=(schemathesis)
  # Positive and negative cases, bounded; ban changes happen for real in this namespace.
  # (run from $DIR: schemathesis keeps a cache directory in the working directory)
  st() { (cd "$DIR" && ip netns exec "$NS" timeout 600 "${ST[@]}" "$@"); }
  check "schemathesis: no server error, every response conforms to the document" \
    st run "http://127.0.0.1:$PORT/openapi.yaml" \
      --url "http://127.0.0.1:$PORT" --header "Authorization: Bearer $TOKEN" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
      --max-examples 40 --seed 1 --no-color
  tail -25 "$DIR/out"
else
  fail=$((fail + 1)); echo "FAIL schemathesis is not installed (scripts/install-deps.sh)"
fi
check "daemon still running after schemathesis" kill -0 "$DAEMON_PID"

# --- the ledger falls behind (another process holds its write lock for 7 s, past the 5 s busy
# timeout) while 200 sources are banned: the kernel bans them at once (no wait on the disk),
# every ban is logged, the writer keeps what it could not commit and retries, and the ledger,
# once it can write again, holds every one of them: nothing durable is lost ------------------
python3 - "$S/ledger.sqlite" "$DIR/locked" <<'PY' &
import sqlite3, sys, time, pathlib
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN IMMEDIATE")          # the write lock; readers (WAL) go on
pathlib.Path(sys.argv[2]).touch()
time.sleep(7)
db.execute("ROLLBACK")
PY
LOCKER=$!
check "ledger write lock held by another process" wait_for test -e "$DIR/locked"
burst() { local i j now; now=$(date +%s); for i in $(seq 0 199); do for j in 1 2 3 4 5; do
  echo "0(1) NOTICE: <script>: SIPWARDEN event=auth_failed ts=$now.000001 src=198.18.$((100 + i / 100)).$((i % 100 + 1)) sport=5060 proto=udp method=REGISTER user=\"10$j\" ua=\"x\""
done; done >> "$DIR/live.log"; }
burst
kernel_count() { in_ns nft -j list set inet sipwarden host4 | python3 -c '
import json, sys
n = 0
for item in json.load(sys.stdin)["nftables"]:
    for e in item.get("set", {}).get("elem", []):
        v = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
        n += str(v).startswith(("198.18.100.", "198.18.101."))
print(n)'; }
ledger_count() { python3 - "$S/ledger.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
# Host bans only: the two /24s of the burst are also banned as prefixes (aggregation).
print(db.execute("SELECT count(*) FROM ban WHERE (network LIKE '198.18.100.%' OR network LIKE '198.18.101.%') AND network LIKE '%/32'").fetchone()[0])
PY
}
check "ledger locked: all 200 sources banned in the kernel at once" wait_for test "$(kernel_count)" = 200
check "ledger locked: the ledger has not recorded them yet" test "$(ledger_count)" -lt 200
wait "$LOCKER"
check "ledger unlocked: every one of the 200 bans in the ledger" wait_for test "$(ledger_count)" = 200
check "every ban logged once by the log consumer" test "$(grep -cE 'ban 198\.18\.10[01]\.[0-9]+ for' "$DIR/daemon.out")" = 200
check "ledger locked past the busy timeout: the write was delayed and retried" contains "ledger write delayed; retrying" "$DIR/daemon.out"
check "ledger locked: nothing dropped, nothing failed" bash -c "! grep -qE 'ledger (write failed|stopped|queue full)|ban log queue full' '$DIR/daemon.out'"
status_is 200 GET /metrics >/dev/null; cp "$DIR/body" "$DIR/metrics"
check "/metrics after the burst: no consumer dropped anything" test "$(series 'sipwarden_consumer_queue_dropped_total{consumer="ledger"}')" = 0 -a "$(series 'sipwarden_consumer_queue_dropped_total{consumer="log"}')" = 0

# --- without a daemon the command line works on the ledger and the kernel itself -------------
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
check "socket removed at stop" test ! -e "$SOCK"
check "cli bans add without a daemon" saved in_ns "$BIN" bans add 198.18.10.0/24 --state "$S"
check "cli bans add without a daemon: no daemon note" bash -c "! grep -q 'running daemon' '$DIR/o'"
check "cli bans add without a daemon: in the kernel" in_set ban4 198.18.10.0/24
check "cli bans add without a daemon: in the ledger" ledger_has 198.18.10.0/24 manual active
check "cli bans remove without a daemon" saved in_ns "$BIN" bans remove 198.18.10.0/24 --state "$S"
check "cli bans remove without a daemon: one ledger entry lifted" contains "(1 ledger entry lifted)" "$DIR/o"
check "cli bans remove without a daemon: gone from the kernel" not_in_set ban4 198.18.10.0
check "cli bans remove without a daemon: lifted in the ledger" ledger_has 198.18.10.0/24 manual lifted
check "cli status without a daemon" saved in_ns "$BIN" status --state "$S"
check "cli status without a daemon: says so" contains "daemon:        not running" "$DIR/o"

# --- a daemon with an abuse: section: its cases and scorecard on the control plane ------------
# The RDAP stand-in (127.0.0.1:8446 in the namespace): IANA's recorded bootstrap with
# 198.18.60.0/24 given to "RIPE" here, and RIPE's recorded answer for SWITCH as the answer
# for the source, its abuse mailbox renamed. Review mode: nothing leaves before the
# approval; then the test's sendmail writes the message to a file (no MTA).
CORPUS=$(readlink -f "$ROOT/../shared/corpus/rdap")
RDAP_PORT=8446; PORT2=9481
W=$DIR/www; mkdir -p "$W/iana" "$W/ripe/ip" "$DIR/sent" "$DIR/bin"
python3 - "$CORPUS" "$W" "$RDAP_PORT" <<'PY'
import json, sys
corpus, www, port = sys.argv[1:]
for f in ("ipv4", "ipv6", "asn"):
    d = json.load(open(f"{corpus}/iana-bootstrap-{f}.json"))
    if f == "ipv4":
        d["services"].append([["198.18.60.0/24"], [f"http://127.0.0.1:{port}/ripe/"]])
    json.dump(d, open(f"{www}/iana/{f}.json", "w"))
answer = open(f"{corpus}/ripe-ip-130.59.0.0-switch.json").read()
open(f"{www}/ripe/ip/198.18.60.10", "w").write(answer.replace("abuse@switch.ch", "abuse@net-x.test"))
PY
# Started directly (not through the in_ns function), so $! is the server itself and the
# cleanup stops it; its stdout is not the suite's (a leftover would hold test.sh's pipe open).
ip netns exec "$NS" python3 "$ROOT/integration/abuse/rdap_server.py" "$W" "$RDAP_PORT" > /dev/null 2>"$DIR/rdap.log" &
RDAP_PID=$!
printf '#!/bin/sh\n# sendmail -i -f SENDER -- RECIPIENT: the message into a file of its own\nf=%s/sent/$(date +%%s%%N).eml\n{ echo "X-Args: $*"; cat; } > "$f.tmp" && mv "$f.tmp" "$f"\n' "$DIR" > "$DIR/bin/sendmail"
chmod 755 "$DIR/bin/sendmail"
S2=$DIR/state2; LOG2=$DIR/cases.log; : > "$LOG2"
# tick 60s: an approval that takes effect within seconds was woken by the API, not the tick.
cat > "$DIR/cases.yaml" <<YAML
state: $S2
logs: [kamailio:$LOG2]
firewall: nftables
nftables: { table: cpcases }
flood-guard: off
detection: { max-retry: 3, find-time: 60s, ban-time: 10m }
control-plane: { http: 127.0.0.1:$PORT2 }
abuse:
  mode: review
  reporter: reports@op.test
  organisation: sipwarden api test
  rdap-bootstrap: http://127.0.0.1:$RDAP_PORT/iana/
  transport: sendmail
  sendmail: $DIR/bin/sendmail
  tick: 60s
  group-within: 1s
YAML
ip netns exec "$NS" "$BIN" run --config "$DIR/cases.yaml" > "$DIR/daemon2.out" 2>&1 &
DAEMON_PID=$!
SOCK=$S2/api.sock
check "abuse daemon ready" wait_for grep -q "sipwarden ready" "$DIR/daemon2.out"
TOKEN=$(cat "$S2/api.token")
check "no case before any ban: empty list" status_is 200 GET /v1/cases
check "no case before any ban: {\"cases\":[]}" contains '"cases":[]' "$DIR/body"
for u in 100 101 102; do
  printf 'x NOTICE: <script>: SIPWARDEN event=auth_failed ts=%s src=198.18.60.10 sport=5062 proto=udp method=REGISTER user="%s" ua="friendly-scanner"\n' "$(date +%s.%6N)" "$u" >> "$LOG2"
done
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$DIR/body" "$1"; }
case_listed() { status_is 200 GET /v1/cases && [ "$(jget "[c['state'] for c in d['cases'] if '198.18.60.10' in c['sources']]")" = "['review']" ]; }
check "ban from log lines: its case listed, held for review" wait_for case_listed
CASE=$(jget "d['cases'][0]['id']" 2>/dev/null)
check "listed without history" test "$(jget "'history' in d['cases'][0]")" = False
check "list state=review: the case" bash -c "[ \"\$(curl -s --unix-socket '$SOCK' 'http://localhost/v1/cases?state=review' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"cases\"]))')\" = 1 ]"
check "list state=sent: none" bash -c "[ \"\$(curl -s --unix-socket '$SOCK' 'http://localhost/v1/cases?state=sent' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"cases\"]))')\" = 0 ]"
check "list state=bogus: 400" status_is 400 GET "/v1/cases?state=bogus"
check "list limit=0: 400" status_is 400 GET "/v1/cases?limit=0"
check "show: 200" status_is 200 GET "/v1/cases/$CASE"
check "show: the contact from the RDAP answer" test "$(jget "d['contacts'][0]")" = abuse@net-x.test
check "show: one report held (pending-approval)" test "$(jget "[e['state'] for e in d['outbox']]")" = "['pending-approval']"
check "show: its history" test "$(jget "len(d['history']) >= 1")" = True
cp "$DIR/body" "$DIR/api-show.json"
same_as_cli() { in_ns "$BIN" cases show "$CASE" --json --config "$DIR/cases.yaml" > "$DIR/cli-show.json" &&
  python3 -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); assert a==b, (a,b)" "$DIR/api-show.json" "$DIR/cli-show.json"; }
check "show: the same JSON as sipwarden cases show --json" same_as_cli
check "show: malformed id 400" status_is 400 GET /v1/cases/not-a-uuid
check "show: unknown id 404" status_is 404 GET /v1/cases/7d7f1c2e-52a4-4c1e-9c55-0a8f3b1e2d44
check "show: unknown id says so" contains "no case 7d7f1c2e-52a4-4c1e-9c55-0a8f3b1e2d44" "$DIR/body"
check "approve without token: 401" status_is 401 POST "/v1/cases/$CASE/approve"
sleep 1
check "approve without token: nothing sent" test -z "$(ls "$DIR/sent")"
check "approve unknown id: 404" status_is 404 POST /v1/cases/7d7f1c2e-52a4-4c1e-9c55-0a8f3b1e2d44/approve "" "$TOKEN"
check "approve malformed id: 400" status_is 400 POST /v1/cases/1234/approve "" "$TOKEN"
check "approve: 200" status_is 200 POST "/v1/cases/$CASE/approve" "" "$TOKEN"
check "approve: one report released" test "$(jget "d['released']")" = 1
check "approve: logged" contains "operator approved a case through the control plane" "$DIR/daemon2.out"
sent_once() { [ "$(find "$DIR/sent" -name '*.eml' | wc -l)" = 1 ]; }
check "the report left through sendmail at once (woken, not the 60 s tick), once" wait_for sent_once
check "it went to the RDAP contact, with the case's Message-ID" bash -c "grep -q -- '-- abuse@net-x.test' $DIR/sent/*.eml && grep -qi '^Message-ID: <sipwarden.$CASE.1@' $DIR/sent/*.eml"
case_sent() { status_is 200 GET "/v1/cases/$CASE" && [ "$(jget "d['state']")" = sent ] && [ "$(jget "[e['state'] for e in d['outbox']]")" = "['sent']" ]; }
check "the case moved to sent, its outbox entry sent" wait_for case_sent
check "providers: 200" status_is 200 GET /v1/providers
check "providers: one network, one case, reported" test "$(jget "[(r['cases'], r['reported']) for r in d['providers']]")" = "[(1, 1)]"
cli_providers() { in_ns "$BIN" providers --json --config "$DIR/cases.yaml" > "$DIR/cli-prov.json" &&
  python3 -c "import json,sys; a=json.load(open(sys.argv[1]))['providers']; b=[json.loads(l) for l in open(sys.argv[2])]; assert a==b, (a,b)" "$DIR/body" "$DIR/cli-prov.json"; }
check "providers: the same rows as sipwarden providers --json" cli_providers
check "close: 200" status_is 200 POST "/v1/cases/$CASE/close" '{"reason":"api test done"}' "$TOKEN"
check "close: closed, the reason in its history" test "$(jget "(d['state'], 'api test done' in d['history'][-1]['note'])")" = "('closed', True)"
check "closed: not listed" bash -c "curl -s --unix-socket '$SOCK' http://localhost/v1/cases | grep -qF '\"cases\":[]'"
check "closed: listed with all=true" bash -c "curl -s --unix-socket '$SOCK' 'http://localhost/v1/cases?all=true' | grep -qF '$CASE'"
if command -v schemathesis >/dev/null || python3 -c "import schemathesis" 2>/dev/null; then
  check "schemathesis on the case routes with the case service on: conforming, no server error" \
    st run "http://127.0.0.1:$PORT2/openapi.yaml" \
      --url "http://127.0.0.1:$PORT2" --header "Authorization: Bearer $TOKEN" --include-path-regex '^/v1/(cases|providers)' \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
      --max-examples 40 --seed 1 --no-color
  tail -25 "$DIR/out"
fi
check "still one report sent after schemathesis" sent_once
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
kill "$RDAP_PID" 2>/dev/null; wait "$RDAP_PID" 2>/dev/null; RDAP_PID=
in_ns nft delete table inet cpcases 2>/dev/null

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
