#!/usr/bin/env bash
# `sipwarden cases ingest` as an MTA pipe runs it (/etc/aliases: "|/usr/bin/sipwarden cases ingest"):
# one message from standard input lands as one file in STATE/mail/Maildir/new, and the exit
# statuses are the ones sendmail-compatible MTAs expect (0, 65 refused for good, 75 try later).
# No daemon, no network. Usage: integration/answers/run.sh PATH/TO/sipwarden
# Ends with "N passed, N failed".
set -uo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
DIR=$(mktemp -d /tmp/answers-cli.XXXXXX)
pass=0; fail=0
trap 'rm -rf "$DIR"' EXIT

check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$DIR/out" 2>"$DIR/err"; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$DIR/out" "$DIR/err" | head -20; fi
}
status_is() { # expected-status, then a shell pipeline
  local want=$1; shift
  bash -c "$*" >"$DIR/o" 2>"$DIR/e"; local got=$?
  cat "$DIR/e" >&2
  [ "$got" = "$want" ] || { echo "exit status $got, expected $want" >&2; return 1; }
}
count() { find "$1" -maxdepth 1 -type f | wc -l; }

S="$DIR/state"
MSG='From: Abuse Desk <abuse@cloud.example>\r\nTo: abuse-replies@reports.example\r\nSubject: [Ticket#2026120312345] Your report\r\nMessage-ID: <ack-1@cloud.example>\r\nAuto-Submitted: auto-replied\r\n\r\nThank you, your report was received.\r\n'
check "ingest: exit 0" status_is 0 "printf '$MSG' | '$BIN' cases ingest --state '$S'"
check "ingest: one file in new/" test "$(count "$S/mail/Maildir/new")" = 1
check "ingest: tmp/ empty again" test "$(count "$S/mail/Maildir/tmp")" = 0
check "ingest: the message as sent" bash -c "printf '$MSG' | cmp - '$S/mail/Maildir/new/'*"
check "ingest: the quarantine folder exists" test -d "$S/mail/Maildir/.Quarantine/cur"
check "ingest: a second message, a second file" status_is 0 "printf 'From: b@x.example\n\nsecond\n' | '$BIN' cases ingest --state '$S'"
check "ingest: two files in new/" test "$(count "$S/mail/Maildir/new")" = 2
check "ingest: an mbox From_ line is dropped" status_is 0 "printf 'From MAILER-DAEMON Thu Dec  3 08:00:00 2026\nFrom: c@x.example\n\nthird\n' | '$BIN' cases ingest --maildir '$DIR/other'"
check "ingest: ... and the message starts with its header" bash -c "head -c 6 '$DIR/other/new/'* | grep -qx 'From: '"
check "too large: exit 65 (EX_DATAERR)" status_is 65 "head -c 5000 /dev/zero | tr '\\\\0' a | '$BIN' cases ingest --state '$S' --max-size 4096"
check "too large: says so" grep -qF "message larger than 4096 bytes" "$DIR/e"
check "empty: exit 65" status_is 65 "printf '' | '$BIN' cases ingest --state '$S'"
check "refused mail leaves nothing in new/" test "$(count "$S/mail/Maildir/new")" = 2
: > "$DIR/afile"
check "unwritable Maildir: exit 75 (EX_TEMPFAIL)" status_is 75 "printf '$MSG' | '$BIN' cases ingest --maildir '$DIR/afile/Maildir'"
check "unwritable Maildir: names the path" grep -qF "$DIR/afile" "$DIR/e"
check "bad --max-size: exit 2" status_is 2 "printf '$MSG' | '$BIN' cases ingest --state '$S' --max-size 0"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
