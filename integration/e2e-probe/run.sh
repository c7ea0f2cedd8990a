#!/usr/bin/env bash
# End-to-end test of the enumeration-leak probe against real Kamailio.
#
# Usage: integration/e2e-probe/run.sh [PATH/TO/sipwarden]
#
# Creates a network namespace swprobe-$$ (loopback only) and starts three Kamailio
# instances in it on 127.0.0.1, each with a db_text subscriber table of users 100..109:
#   5070  leaky: 404 for unknown users before authentication (REGISTER and INVITE)
#   5071  not leaky: challenge first (401/407 for everyone), reject only afterwards
#   5072  leaky and ringing: INVITE for an existing user gets 180 and stays pending,
#         so the probe has to CANCEL it (and ACK the 487)
# then runs the probe against each and checks the verdicts in its JSON report.
#
# How the probe is run:
#   - with PATH/TO/sipwarden that has a `probe` subcommand:
#       sipwarden probe 127.0.0.1:PORT --user 100 --json
#   - otherwise (or with SIPWARDEN_PROBE_VIA=swift-test): the env-gated Swift test
#     ProbeTests/LiveProbeTests, prebuilt outside the namespace, run inside it with
#     SIPWARDEN_PROBE_TARGET / _USER / _EXPECT / _JSON set.
# SIPWARDEN_PROBE_VERBOSE=1 also prints the probe's own output (the text report).
# Stops every Kamailio by its PID and deletes the namespace on exit.
# Ends with "N passed, N failed"; exit status 0 only if nothing failed.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${1:-}
NS=swprobe-$$
DIR=$(mktemp -d /tmp/swprobe.XXXXXX)
SCRATCH=${SIPWARDEN_PROBE_SCRATCH:-$ROOT/.build-probe}
pass=0; fail=0
PIDS=()

cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     | /' "$2" | head -40; }

# --- how to run the probe -------------------------------------------------------------
MODE=swift-test
if [ "${SIPWARDEN_PROBE_VIA:-}" != swift-test ] && [ -n "$BIN" ] && "$BIN" probe --help >/dev/null 2>&1; then
  MODE=cli
fi
echo "probe via: $MODE"
if [ "$MODE" = swift-test ]; then
  # Build outside the namespace (package resolution may need the network).
  if ! (cd "$ROOT" && swift build --scratch-path "$SCRATCH" -j 2 --build-tests >"$DIR/build.log" 2>&1); then
    bad "build tests" "$DIR/build.log"; echo "$pass passed, $fail failed"; exit 1
  fi
fi

# run_probe PORT USER OUT.json [EXPECT] -> exit status of the probe
run_probe() {
  local port=$1 user=$2 out=$3 expect=${4:-any}
  if [ "$MODE" = cli ]; then
    ip netns exec "$NS" "$BIN" probe "127.0.0.1:$port" --user "$user" --json >"$out" 2>"$out.err"
  else
    (cd "$ROOT" && ip netns exec "$NS" env SIPWARDEN_PROBE_TARGET="127.0.0.1:$port" SIPWARDEN_PROBE_USER="$user" \
      SIPWARDEN_PROBE_EXPECT="$expect" SIPWARDEN_PROBE_JSON="$out" \
      swift test --scratch-path "$SCRATCH" --skip-build --filter LiveProbeTests >"$out.err" 2>&1)
  fi
  local st=$?
  if [ -n "${SIPWARDEN_PROBE_VERBOSE:-}" ]; then cat "$out.err"; fi
  return $st
}

# --- namespace and Kamailio -----------------------------------------------------------
ip netns add "$NS" || { echo "cannot create namespace $NS"; echo "0 passed, 1 failed"; exit 1; }
ip -n "$NS" link set lo up

mkdir -p "$DIR/db"
{
  echo "id(int,auto) username(string) domain(string,null) password(string) ha1(string,null) ha1b(string,null) "
  for u in $(seq 100 109); do echo "$((u - 99)):$u:e2e.example:E2e-Secret-$u-Zk4:::"; done
} >"$DIR/db/subscriber"
echo "id(int,auto) ruid(string) username(string) domain(string,null) contact(string) received(string,null) path(string,null) expires(int) q(double) callid(string) cseq(int) last_modified(int) flags(int) cflags(int) user_agent(string) socket(string,null) methods(int,null) instance(string,null) reg_id(int) server_id(int) connection_id(int) keepalive(int) partition(int) " >"$DIR/db/location"
printf 'id(int,auto) table_name(string) table_version(int) \n0:version:1\n0:subscriber:7\n0:location:9\n' >"$DIR/db/version"

# start_kamailio NAME PORT DEFINES...
start_kamailio() {
  local name=$1 port=$2; shift 2
  local defs=() d
  for d in "$@"; do defs+=(-A "$d"); done
  mkdir -p "$DIR/$name"
  if ! ip netns exec "$NS" kamailio -c -f "$HERE/kamailio-probe.cfg" -A "PROBE_DB=\"text://$DIR/db\"" "${defs[@]}" \
      >"$DIR/$name/check.log" 2>&1; then
    bad "kamailio $name config check" "$DIR/$name/check.log"; return 1
  fi
  ip netns exec "$NS" setsid kamailio -DD -E -f "$HERE/kamailio-probe.cfg" -A "PROBE_DB=\"text://$DIR/db\"" "${defs[@]}" \
    -l "udp:127.0.0.1:$port" -P "$DIR/$name/pid" -Y "$DIR/$name" -m 32 -M 8 </dev/null >"$DIR/$name/log" 2>&1 &
  PIDS+=($!)
  local i
  for ((i = 0; i < 50; i++)); do
    if grep -qF "127.0.0.1:$port" <<<"$(ip netns exec "$NS" ss -lun 2>/dev/null)"; then ok "kamailio $name up on :$port"; return 0; fi
    sleep 0.1
  done
  bad "kamailio $name did not come up" "$DIR/$name/log"; return 1
}

start_kamailio leaky 5070 PROBE_LEAKY
start_kamailio strict 5071
start_kamailio ringing 5072 PROBE_LEAKY PROBE_RINGING

# jqcheck NAME FILE FILTER : the jq filter must print true
jqcheck() {
  if [ "$(jq -r "$3" "$2" 2>/dev/null)" = true ]; then ok "$1"; else bad "$1" "$2"; fi
}

# --- leaky ----------------------------------------------------------------------------
run_probe 5070 100 "$DIR/leaky.json" leak; st=$?
if [ $st = 0 ] && [ -s "$DIR/leaky.json" ]; then ok "probe :5070 ran"; else bad "probe :5070 ran (status $st)" "$DIR/leaky.json.err"; fi
jqcheck "leaky: verdict leak" "$DIR/leaky.json" '.verdict == "leak" and .leaks == true'
jqcheck "leaky: REGISTER leaks (401 vs 404)" "$DIR/leaky.json" \
  '[.methods[] | select(.method == "REGISTER")][0].leaks == true and ([.findings[] | select(.method == "REGISTER" and .kind == "status-code")] | length == 1)'
jqcheck "leaky: INVITE leaks (407 vs 404)" "$DIR/leaky.json" \
  '[.findings[] | select(.method == "INVITE" and .kind == "status-code" and (.message | test("407")) and (.message | test("404")))] | length == 1'
jqcheck "leaky: OPTIONS same for both" "$DIR/leaky.json" '[.methods[] | select(.method == "OPTIONS")][0] | .tested and (.leaks | not)'
jqcheck "leaky: every INVITE answer was ACKed" "$DIR/leaky.json" \
  '[.observations[] | select(.method == "INVITE")] | length > 0 and all(.cleanup | index("ACK") != null)'
jqcheck "leaky: advice names Kamailio" "$DIR/leaky.json" '[.remediation[] | select(.product == "Kamailio")] | length == 1'

# --- not leaky ------------------------------------------------------------------------
run_probe 5071 100 "$DIR/strict.json" no-leak; st=$?
if [ $st = 0 ] && [ -s "$DIR/strict.json" ]; then ok "probe :5071 ran"; else bad "probe :5071 ran (status $st)" "$DIR/strict.json.err"; fi
jqcheck "strict: verdict no-leak" "$DIR/strict.json" '.verdict == "no-leak" and .leaks == false'
jqcheck "strict: all three methods tested, none leaks" "$DIR/strict.json" '[.methods[] | select(.tested and (.leaks | not))] | length == 3'
jqcheck "strict: REGISTER 401 and INVITE 407 for everyone" "$DIR/strict.json" \
  'all(.observations[]; (.method != "REGISTER" or .finalStatus == 401) and (.method != "INVITE" or .finalStatus == 407))'
jqcheck "strict: no remediation needed" "$DIR/strict.json" '(.remediation | length) == 0'

# --- ringing: CANCEL path -------------------------------------------------------------
run_probe 5072 100 "$DIR/ringing.json" leak; st=$?
if [ $st = 0 ] && [ -s "$DIR/ringing.json" ]; then ok "probe :5072 ran"; else bad "probe :5072 ran (status $st)" "$DIR/ringing.json.err"; fi
jqcheck "ringing: verdict leak" "$DIR/ringing.json" '.verdict == "leak"'
jqcheck "ringing: existing-user INVITEs got 180 and were CANCELled" "$DIR/ringing.json" \
  '[.observations[] | select(.method == "INVITE" and .subject == "existing")] | length > 0 and all((.provisionalStatuses | index(180) != null) and (.cleanup | index("CANCEL") != null))'
jqcheck "ringing: cancelled INVITEs ended with 487 and were ACKed" "$DIR/ringing.json" \
  '[.observations[] | select(.method == "INVITE" and .subject == "existing")] | all(.finalStatus == 487 and (.cleanup | index("ACK") != null))'

jqcheck "ringing: our own CANCEL delay is not reported as timing" "$DIR/ringing.json" '[.findings[] | select(.kind == "timing")] | length == 0'

# --- nothing listening ----------------------------------------------------------------
if [ "$MODE" = cli ]; then
  ip netns exec "$NS" "$BIN" probe 127.0.0.1:5079 --user 100 --json >"$DIR/closed.json" 2>"$DIR/closed.err"; st=$?
  if [ $st = 1 ] && grep -q "ICMP port unreachable" "$DIR/closed.err"; then ok "closed port: exit 1, port unreachable"
  else bad "closed port: exit 1, port unreachable (status $st)" "$DIR/closed.err"; fi
  ip netns exec "$NS" "$BIN" probe 198.18.0.1 --user 100 >"$DIR/remote.out" 2>"$DIR/remote.err"; st=$?
  if [ $st = 2 ] && grep -q -- "--i-own-this-host" "$DIR/remote.err"; then ok "non-loopback refused: exit 2"
  else bad "non-loopback refused: exit 2 (status $st)" "$DIR/remote.err"; fi
else
  run_probe 5079 100 "$DIR/closed.json" unreachable; st=$?
  if [ $st = 0 ]; then ok "closed port reported as unreachable"; else bad "closed port reported as unreachable" "$DIR/closed.json.err"; fi
fi

# --- Kamailio saw no stray transactions ------------------------------------------------
for name in leaky strict ringing; do
  if grep -qiE "segfault|CRITICAL|BUG" "$DIR/$name/log"; then bad "kamailio $name log clean" "$DIR/$name/log"; else ok "kamailio $name log clean"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
