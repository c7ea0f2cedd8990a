#!/bin/bash
# bench/attack/run.sh [SIPWARDEN_BIN] - side-by-side benchmark in one run:
# sipwarden vs fail2ban 1.0.2 defending the lab Kamailio against svcrack.
#
#   defenders: sipwarden (run --max-retry 5 --find-time 60s --ban-time 10m, nftables)
#              fail2ban 1.0.2, pyinotify backend, maxretry 5, findtime 60, bantime 600,
#              stock nftables action (nft through integration/e2e/tools/nft-guard.sh), own conf
#              dir / socket / pid file, dbfile=:memory:
#   attacks:   svcrack -u 100, 2000 wrong passwords, -t 0.005 (tool default pace) and -t 0 (full speed)
#   REPS       repetitions (default 3), interleaved: rep 1 of every cell, then rep 2, ...
#
# Per run (integration/e2e/tools/analyze.py): attacker request rate (tcpdump before
# netfilter, requests until the ban), failures that reached Kamailio, ban latency =
# (nft monitor in netns swlab-pbx reports the address in the ban set) - (Kamailio
# ts= of the 5th failure line), legit client (user 101, a REGISTER every 0.2 s)
# ok/failed, sipwarden's own `latency_us=` when it logs one, and the defender's CPU per
# attack packet: the defender process's utime + stime (/proc/PID/stat, all threads)
# from just before the attack to the end of the run, divided by the packets the
# attacker's interface sent meanwhile (kernel work in softirq — nftables drops — is not
# in it; NFQUEUE verdicts and capture are, being the process's own).
# Prints a markdown table of median [min–max]; everything is kept in
# $BENCH_OUT (default bench-results/attack-<time>/): summary.md, runs.tsv, per-run dirs.
# Env: REPS=3, DEFENDERS="sipwarden sipwarden-noguard sipwarden-capture sipwarden-inline fail2ban", PACES="0.005 0", WORDS=2000.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/../../integration/e2e/lib.sh"
require_root

REPS=${REPS:-3}
DEFENDERS=${DEFENDERS:-sipwarden sipwarden-noguard sipwarden-capture sipwarden-inline fail2ban}
PACES=${PACES:-0.005 0}
WORDS=${WORDS:-2000}
SIPWARDEN_BIN=${1:-${SIPWARDEN_BIN:-$REPO/.build/release/sipwarden}}
case " $DEFENDERS " in
    *" sipwarden"*)
        [ -x "$SIPWARDEN_BIN" ] || die "sipwarden binary not found: $SIPWARDEN_BIN (or set DEFENDERS=fail2ban)"
        SIPWARDEN_BIN=$(readlink -f "$SIPWARDEN_BIN") ;;
esac
export SIPWARDEN_BIN
OUT=${BENCH_OUT:-$REPO/bench-results/attack-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

WE_BROUGHT_UP=0
if ! "$E2E/lab.sh" status >/dev/null 2>&1; then
    "$E2E/lab.sh" up >"$OUT/lab-up.log" 2>&1 || { cat "$OUT/lab-up.log" >&2; die "lab.sh up failed"; }
    WE_BROUGHT_UP=1
fi
cleanup() { lab_bg_stop; sw_stop; f2b_stop; [ "$WE_BROUGHT_UP" = 1 ] && "$E2E/lab.sh" down >/dev/null 2>&1; }
trap cleanup EXIT
trap 'exit 143' TERM INT

{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "kernel=$(uname -r)"
    echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    echo "mem=$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    for p in kamailio sipvicious fail2ban python3-pyinotify nftables tcpdump; do
        echo "$p=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo missing)"
    done
    echo "sipwarden_bin=${SIPWARDEN_BIN}"
    [ -x "$SIPWARDEN_BIN" ] && echo "sipwarden_version=$("$SIPWARDEN_BIN" --version 2>/dev/null | head -1)"
    echo "reps=$REPS defenders=$DEFENDERS paces=$PACES words=$WORDS"
} > "$OUT/env.txt"

n=0; total=$((REPS * $(wc -w <<<"$PACES") * $(wc -w <<<"$DEFENDERS")))
for rep in $(seq 1 "$REPS"); do
    for pace in $PACES; do
        for def in $DEFENDERS; do
            n=$((n + 1))
            rd="$OUT/$def-t$pace-r$rep"
            log "[$n/$total] $def, svcrack -t $pace, rep $rep"
            # sipwarden = the log path on the defaults (kernel flood guard on);
            # sipwarden-noguard = the log path alone (--flood-guard off);
            # sipwarden-capture = no log, SIP captured on the
            # PBX's interface (attack-tool signatures off, so the password path is what
            # is measured; with them on, svcrack is banned at its first packet).
            ldef=$def; fmt=kamailio; args=""
            case "$def" in
                sipwarden-noguard) ldef=sipwarden; args="--flood-guard off" ;;
                sipwarden-capture) ldef=sipwarden; fmt=capture; args="--no-scanner-signatures" ;;
                sipwarden-inline) ldef=sipwarden; fmt=inline ;;
            esac
            if SW_ARGS=$args PCAP=1 POST=2 lab_run "$rd" "$ldef" "$fmt" svcrack "$pace" "$WORDS" 2>>"$OUT/stderr.log"; then
                echo "rep=$rep" >> "$rd/result.txt"
                grep -E '^(fails_total|ban_latency_us|att_req_rate_per_s|legit_ok|legit_attempts|sw_latency_us|attack_packets|defender_cpu_ms|defender_cpu_us_per_packet)=' "$rd/result.txt" \
                    | tr '\n' ' ' >&2; echo >&2
            else
                log "run failed to start (see $OUT/stderr.log)"
            fi
            sleep 1
        done
    done
done
"$PY" "$HERE/aggregate.py" "$OUT" | tee "$OUT/summary.md"
echo "results: $OUT"
