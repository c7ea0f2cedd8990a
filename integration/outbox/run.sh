#!/usr/bin/env bash
# The outbox against a real MTA (issue 11, item 3): Debian's postfix, started inside a
# throwaway network namespace (loopback only, mydestination localhost, home_mailbox
# Maildir/), three local recipients. Reports are queued with `sipwarden outbox
# enqueue-sample` and delivered with `sipwarden outbox deliver` through sendmail; each must
# arrive exactly once in its Maildir (by Message-ID) — also when the delivering process is
# killed with SIGKILL in the middle of a batch and restarted, several times —, then through
# SMTP to postfix's port 25 on 127.0.0.1, then in review mode only after `outbox approve`.
# Usage: integration/outbox/run.sh PATH/TO/sipwarden. Ends with "N passed, N failed".
# Needs root and postfix (scripts/install-deps.sh); stops the postfix it started.
set -uo pipefail
source "$(dirname "$0")/../lib/postfix.sh"
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
NS=outbox-$$
DIR=$(mktemp -d /tmp/swoutbox.XXXXXX)
STATE=$DIR/state
LOG=/var/log/postfix-outbox.log
USERS=(swoutbox-a swoutbox-b swoutbox-c)
PER_USER=${PER_USER:-30}
pass=0; fail=0
cleanup() {
  postfix_stop "$NS" "${USERS[@]}"
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$DIR/out" 2>"$DIR/err"; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$DIR/out" "$DIR/err" | head -20; fi
}
command -v postfix >/dev/null || { echo "FAIL postfix is not installed (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }

ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
postfix_start "$NS" "$LOG" "localhost localhost.localdomain" "${USERS[@]}"
for _ in $(seq 50); do in_ns python3 -c "import socket; socket.create_connection(('127.0.0.1', 25), 0.2)" 2>/dev/null && break; sleep 0.1; done
check "postfix runs in the namespace and answers on 127.0.0.1:25" in_ns python3 -c "import smtplib; smtplib.SMTP('127.0.0.1', 25, timeout=5).quit()"

# A sendmail that takes its time (20 ms) before it is postfix's: a SIGKILL then lands in
# the middle of hand-overs, not only between them.
SLOW=$DIR/bin/sendmail; mkdir -p "$DIR/bin"
printf '#!/bin/sh\nsleep 0.02\nexec /usr/sbin/sendmail "$@"\n' > "$SLOW"; chmod 755 "$SLOW"

enqueue() { # recipient [--review]: prints "CASE MESSAGE-ID STATE"
  in_ns "$BIN" outbox enqueue-sample --state "$STATE" --recipient "$1@localhost" "${@:2}"
}
deliver() { in_ns "$BIN" outbox deliver --state "$STATE" --postfix-log "$LOG" --per-recipient 100000 "$@"; }
ids_in_maildirs() { # every Message-ID delivered to the three users, one a line
  for u in "${USERS[@]}"; do
    find "/home/$u/Maildir/new" -type f -exec grep -h -i -m1 '^Message-ID:' {} + 2>/dev/null
  done | sed 's/^[Mm]essage-[Ii][Dd]: *//' | tr -d '\r'
}
# exactly_once FILE-OF-IDS: waits up to 60 s for postfix, then each id is in a Maildir exactly once
exactly_once() {
  local want=$1 n
  for _ in $(seq 600); do
    n=$(ids_in_maildirs | sort | comm -12 - <(sort "$want") | wc -l)
    [ "$n" -ge "$(wc -l < "$want")" ] && break; sleep 0.1
  done
  sleep 1 # a duplicate would come in this long after its original
  python3 - "$want" <(ids_in_maildirs) <<'PY'
import collections, sys
want = [l.strip() for l in open(sys.argv[1]) if l.strip()]
got = collections.Counter(l.strip() for l in open(sys.argv[2]) if l.strip())
missing = [w for w in want if got[w] == 0]
twice = [w for w in want if got[w] > 1]
print(f"{len(want)} expected, {len(missing)} missing, {len(twice)} more than once")
sys.exit(1 if missing or twice else 0)
PY
}
all_sent() { # nothing left in the outbox that is not sent
  in_ns "$BIN" outbox list --state "$STATE" --json | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
bad = [r for r in rows if r["state"] != "sent"]
print(len(rows), "entries,", len(bad), "not sent", bad[:3])
sys.exit(1 if bad or not rows else 0)'
}

# 1. A batch through sendmail: PER_USER reports to each of the three.
: > "$DIR/batch1"
for u in "${USERS[@]}"; do for _ in $(seq "$PER_USER"); do enqueue "$u" | cut -d' ' -f2 >> "$DIR/batch1"; done; done
start=$(date +%s.%N)
check "deliver hands over the batch through sendmail" deliver
end=$(date +%s.%N)
n=$(wc -l < "$DIR/batch1")
echo "     $n messages through sendmail in $(python3 -c "print(f'{$end - $start:.2f}')") s: $(python3 -c "print(f'{$n / ($end - $start):.0f}')") messages/s (ledger FULL sync + sendmail per message)"
check "every report of the batch arrived exactly once ($n)" exactly_once "$DIR/batch1"
check "the outbox says sent for each" all_sent
sends_nothing() { local out; out=$(deliver); echo "$out" >&2; grep -q '^sent 0,' <<<"$out"; }
check "a second deliver sends nothing again" sends_nothing
check "still exactly once" exactly_once "$DIR/batch1"

# 2. SIGKILL in the middle of batches, restarted: still exactly once, nothing lost.
: > "$DIR/batch2"
for u in "${USERS[@]}"; do for _ in $(seq "$PER_USER"); do enqueue "$u" | cut -d' ' -f2 >> "$DIR/batch2"; done; done
kills=0
for round in 1 2 3 4 5; do
  ip netns exec "$NS" "$BIN" outbox deliver --state "$STATE" --postfix-log "$LOG" --per-recipient 100000 --sendmail "$SLOW" \
    > "$DIR/deliver-$round.log" 2>&1 &
  pid=$!
  sleep "0.$((3 + round))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null
done
deliver --sendmail "$SLOW" > "$DIR/deliver-final.log" 2>&1
recovered=$(cat "$DIR"/deliver-*.log | grep -c '^recovered' || true)
echo "     $kills deliver processes killed with SIGKILL mid-batch; $recovered interrupted hand-overs recovered on restart"
grep -h '^recovered' "$DIR"/deliver-*.log | sed 's/^/     | /' | head -5
check "SIGKILL landed while deliver was running ($kills kills)" test "$kills" -ge 3
check "after the kills every report of the second batch arrived exactly once" exactly_once "$DIR/batch2"
check "nothing lost: the outbox says sent for each" all_sent

# 3. SMTP submission to postfix's port 25 (plain: a local check).
: > "$DIR/batch3"
for u in "${USERS[@]}"; do enqueue "$u" | cut -d' ' -f2 >> "$DIR/batch3"; done
check "deliver over SMTP to 127.0.0.1:25" deliver --smtp 127.0.0.1:25 --no-tls
check "every report sent over SMTP arrived exactly once" exactly_once "$DIR/batch3"
relay_confirmed() { grep -F "$(head -1 "$DIR/batch3")" <<<"$(in_ns "$BIN" outbox list --state "$STATE" --json)" | grep -q '"confirmation":"127.0.0.1:25 250'; }
check "the outbox keeps the relay's 250 as the confirmation" relay_confirmed

# 4. Review mode: nothing leaves until approved.
line=$(enqueue "${USERS[0]}" --review); case_id=${line%% *}; echo "$line" | cut -d' ' -f2 > "$DIR/batch4"
check "a report in review mode waits for approval" grep -q 'pending-approval$' <<< "$line"
deliver > /dev/null 2>&1; sleep 2
not_delivered() { ! grep -rqF "$(cat "$DIR/batch4")" "/home/${USERS[0]}/Maildir/new"; }
check "deliver sends nothing before approval" not_delivered
check "outbox approve releases it" in_ns "$BIN" outbox approve --state "$STATE" "$case_id"
deliver > /dev/null
check "after approval it arrives exactly once" exactly_once "$DIR/batch4"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
