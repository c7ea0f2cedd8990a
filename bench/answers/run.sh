#!/usr/bin/env bash
# What `sipwarden cases ingest` costs the MTA per answer (process start, read, write to
# tmp/, fsync, link into new/, fsync of new/), and its peak memory at the size limit.
# Usage: bench/answers/run.sh PATH/TO/sipwarden [N]   (N messages, default 500; release build)
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden [N]}")
N=${2:-500}
DIR=$(mktemp -d /tmp/answers-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
MSG="$DIR/msg.eml"
printf 'From: Abuse Desk <abuse@cloud.example>\r\nSubject: [Ticket#2026120312345] Your report\r\nMessage-ID: <ack-1@cloud.example>\r\nAuto-Submitted: auto-replied\r\n\r\n' > "$MSG"
head -c 3000 /dev/zero | tr '\0' 'x' >> "$MSG"
start=$(date +%s%N)
for _ in $(seq "$N"); do "$BIN" cases ingest --state "$DIR/s" < "$MSG"; done
end=$(date +%s%N)
got=$(find "$DIR/s/mail/Maildir/new" -type f | wc -l)
echo "ingest: $N messages of $(stat -c %s "$MSG") bytes in $(( (end - start) / 1000000 )) ms: $(( (end - start) / N / 1000 )) µs each; $got files in new/"
# Peak memory with a message at the 16 MiB limit.
BIG="$DIR/big.eml"
{ printf 'From: a@b.example\n\n'; head -c $((16 * 1024 * 1024 - 20)) /dev/zero | tr '\0' 'y'; } > "$BIG"
/usr/bin/time -f "ingest of a $(stat -c %s "$BIG")-byte message: %e s, peak RSS %M KiB" "$BIN" cases ingest --state "$DIR/s" < "$BIG"
