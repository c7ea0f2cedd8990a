#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fail2ban as a reference oracle for the log dialects (issue 8, item 1).
# Runs fail2ban's stock `asterisk` and `freeswitch` filters (Debian's fail2ban-regex) and
# `sipwarden events` over fail2ban's own annotated test logs and ../shared/corpus/external/logs,
# and fails on any line where they disagree (a line fail2ban matches with a host that sipwarden
# does not report with the same host, or the reverse) unless exceptions.txt lists it with a
# reason. Also checks fail2ban's `# failJSON:` annotations (match false → sipwarden reports
# nothing) and the corpus's *.expect.jsonl.
# Usage: integration/log-oracle/run.sh [path/to/sipwarden]     Last line: "N passed, M failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${1:-${SIPWARDEN_BIN:-$root/.build/release/sipwarden}}
F2B_LOGS=${F2B_LOGS:-/usr/lib/python3/dist-packages/fail2ban/tests/files/logs}
F2B_FILTERS=${F2B_FILTERS:-/etc/fail2ban/filter.d}
CORPUS=${CORPUS:-$root/../shared/corpus/external/logs}
if ! command -v fail2ban-regex >/dev/null || [ ! -x "$BIN" ]; then
  echo "log-oracle: needs fail2ban-regex (scripts/install-deps.sh) and the sipwarden binary ($BIN)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
exec python3 "$here/oracle.py" --bin "$BIN" --exceptions "$here/exceptions.txt" \
  --case "$F2B_LOGS/asterisk" "$F2B_FILTERS/asterisk.conf" "" \
  --case "$F2B_LOGS/freeswitch" "$F2B_FILTERS/freeswitch.conf" "" \
  --case "$CORPUS/asterisk.log" "$F2B_FILTERS/asterisk.conf" "$CORPUS/asterisk.expect.jsonl" \
  --case "$CORPUS/freeswitch.log" "$F2B_FILTERS/freeswitch.conf" "$CORPUS/freeswitch.expect.jsonl"
