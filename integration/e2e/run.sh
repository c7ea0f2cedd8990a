#!/bin/bash
# integration/e2e/run.sh [SIPWARDEN_BIN] - end-to-end tests: real sipvicious attacks on a
# real Kamailio registrar protected by sipwarden, all inside the swlab-* namespaces.
#
#   a  svcrack, default pace (-t 0.005), 2000 wrong passwords for user 100:
#      exactly 5 auth_failed lines reach Kamailio, attacker in the kernel set,
#      the legit client (user 101, a full REGISTER every 0.2 s) never fails, never banned
#   b  svcrack full speed (-t 0), three runs, sipwarden on its defaults (kernel flood
#      guard on): in each, at most 20 failures reached Kamailio in total, at most 20
#      passed netfilter before the ban (what the guard dropped is printed), banned every
#      time, legit unaffected
#   c  svwar -e 100-999, default pace: exactly 5 unknown_user lines, banned, legit unaffected
#   d  Kamailio writing Asterisk res_pjsip lines, sipwarden --log asterisk:PATH,
#      svcrack default pace: exactly 5 failures, banned, legit unaffected
#   f  no log at all: sipwarden --capture eth0:5060 with the attack-tool signatures
#      off (--no-scanner-signatures), svcrack default pace: exactly 5 failures reach
#      Kamailio (the password path on the wire), banned, legit unaffected
#   g  the same at full speed, three runs (flood guard on): at most 20 failures in total
#   h  --capture with the default signatures, svcrack default pace: banned as a
#      scanner (User-Agent friendly-scanner) before any failure reaches Kamailio
#   i  --capture, svwar: banned as a scanner, at most 5 unknown users reach Kamailio
#   j  --capture, svmap: banned as a scanner
#   k  Kamailio's siptrace mirrors SIP as HEPv3 to sipwarden --hep (no log, no capture),
#      signatures off, svcrack default pace: exactly 5 failures, banned, legit unaffected
#   l  inline admission (sipwarden --inline 7: NFQUEUE in front of Kamailio, no log,
#      flood guard off so that admission alone is measured), svcrack at FULL speed:
#      exactly 5 failures reach Kamailio, banned, legit unaffected
#   m  the same at the default pace: exactly 5
#   n  the pure log path at full speed (--flood-guard off), two runs: banned within 1 ms
#      of reading the 5th failure line; the failures before the ban and those queued in
#      Kamailio's socket when it landed are printed (no detect-then-ban defender can
#      recall the queued ones: that is what the flood guard is for)
#   p  a distributed svcrack from 20 addresses of one /24 (198.18.1.1..20, 100 wrong
#      passwords each, all at once; integration/e2e/distributed.sh): the /24 is banned and
#      at most 25 failures reach Kamailio from all of them together; fail2ban on the same
#      attack in the same run (printed); the legit client inside the /24 (198.18.1.100)
#      and allowlisted: no /24 ban, it never fails; the same client not allowlisted, with
#      two typos each followed by a successful login: no /24 ban, never banned
#   e  restart: ban, kill -9 sipwarden, `nft flush set inet sipwarden ban4`, start
#      again: the ban is back in the kernel when it prints "sipwarden ready"
#   s  storms are not attacks: SIPp registers phones behind one address (198.18.0.3, one
#      socket per phone, right passwords) at 300, 1000 and 3000 registrations/s (300,
#      2000, 6000 registrations) with no defender, then with sipwarden on its defaults in
#      log, capture and inline mode (and journal mode, when the journal harness is there):
#      the address is never banned, the flood guard and inline admission drop none of its
#      packets, and as many registrations succeed as without a defender (same run; a
#      margin of 2 % for the machine's noise). The table is printed.
#
# The binary: first argument, else $SIPWARDEN_BIN, else .build/release/sipwarden.
# Brings the lab up if needed (and down again at the end if it did). Artefacts:
# $E2E_OUT (default bench-results/e2e-<time>/<scenario>/). One line per check,
# then exactly "N passed, N failed"; exit status 0 only if nothing failed.
# Env: SCENARIOS="a b c d e" (subset), E2E_OUT.
set -uo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_root

# ---------------------------------------------------------------------------
# one scenario (run as a separate, time-bounded process: run.sh --scenario X DIR)
check() { # check NAME CONDITION-RESULT(0/1) DETAIL
    if [ "$2" = 0 ]; then echo "PASS $1${3:+ ($3)}"; else echo "FAIL $1${3:+ ($3)}"; fi
}
kv() { sed -n "s/^$1=//p" "$2" | head -1; }

scenario_cleanup() { lab_bg_stop; sw_stop; f2b_stop; }

common_checks() { # id rd
    local id=$1 r=$2/result.txt m=$2/meta.env la lf
    la=$(kv legit_attempts "$r"); lf=$(kv legit_failed "$r")
    [ "${la:-0}" -gt 0 ] && [ "${lf:-1}" = 0 ]; check "$id: legit client never failed" $? "ok $(kv legit_ok "$r")/${la:-0}"
    [ "$(kv client_in_set "$m")" = no ] && [ "$(kv client_banned "$r")" = no ]
    check "$id: legit client never banned" $?
    [ "$(kv attacker_register_ok "$r")" = 0 ]; check "$id: attacker never registered" $?
}

# full_speed_runs ID FORMAT EXTRA-ARGS TOTAL-LIMIT RUNS: svcrack at full speed RUNS times
# (fresh state each). Every run must ban, leave the legit client alone, and let at most 20
# failures pass netfilter before the ban (Kamailio ts < the moment nft monitor reports
# the element). Failures Kamailio logs *after* the ban come from datagrams that were
# already queued in its socket when the ban landed. With the kernel flood guard on (the
# default) that queue stays short, and TOTAL-LIMIT (if given) bounds everything that
# reached Kamailio; with the guard off only the part before the ban is the defender's.
full_speed_runs() {
    local id=$1 fmt=$2 extra=$3 limit=$4 runs=${5:-3} k r before after total flood
    for ((k = 1; k <= runs; k++)); do
        if ! SW_ARGS=$extra lab_run "$rd/run$k" sipwarden "$fmt" svcrack 0 2000; then
            check "$id: run $k: sipwarden starts and prints ready" 1; scenario_cleanup; return
        fi
        r=$rd/run$k/result.txt
        before=$(kv fails_before_ban "$r"); after=$(kv fails_after_ban "$r"); total=$(kv fails_total "$r")
        flood=$(pbx_nft list counter inet sipwarden_guard flood4 2>/dev/null | sed -n 's/.*packets \([0-9]*\).*/\1/p')
        echo "flood_guard_dropped=${flood:-off}" >> "$r"
        # A ban for failures needs max-retry (5) of them; the wire sensors may also ban the
        # source earlier for flooding (rule=flood), with fewer failures.
        least=5; rule=$(grep -o 'rule=[a-z_]*' "$rd/run$k/defender.log" | head -1)
        [ "$rule" = rule=failures ] || least=0
        local counts="before ban $before, queued in Kamailio's socket $after, total $total; ban ${rule:-none}; flood guard dropped ${flood:-off}"
        if [ -n "$limit" ]; then
            [ -n "$before" ] && [ "$before" -le 20 ] && [ "$before" -ge "$least" ]
            check "$id: run $k: at most 20 failures passed before the ban ($fmt, full speed)" $? "$counts"
            [ -n "$total" ] && [ "$total" -le "$limit" ] && [ "$total" -ge "$least" ]
            check "$id: run $k: at most $limit failures reached Kamailio in total" $? "total $total"
        else
            # Without the guard the totals depend on Kamailio's queue (printed); what the
            # defender controls is its own reaction: 5th failure line read -> kernel set.
            own=$(kv sw_latency_us "$r")
            [ -n "$own" ] && [ "$own" -le 1000 ] && [ "${total:-0}" -ge 5 ]
            check "$id: run $k: banned within 1 ms of reading the 5th failure ($fmt, full speed)" $? "own latency ${own:-?} us; $counts"
        fi
        [ "$(kv attacker_in_set "$rd/run$k/meta.env")" = yes ]
        check "$id: run $k: attacker $ATT_IP in the kernel ban set" $? \
            "$( [ -n "$(kv ban_latency_us "$r")" ] && echo "5th failure -> set: $(kv ban_latency_us "$r") us")"
        common_checks "$id: run $k" "$rd/run$k"
    done
}

scenario() {
    local id=$1 rd=$2 r n
    trap 'scenario_cleanup; exit 143' TERM INT
    case "$id" in
    p) scenario_distributed "$rd" ;;
    a|c|d|f|h|i|j|k|l|m)
        local fmt=kamailio attack=svcrack t=0.005
        [ "$id" = c ] && attack=svwar
        [ "$id" = d ] && fmt=asterisk
        case "$id" in f|h|i|j) fmt=capture ;; k) fmt=hep ;; l|m) fmt=inline ;; esac
        [ "$id" = l ] && t=0
        [ "$id" = i ] && attack=svwar
        [ "$id" = j ] && attack=svmap
        local SW_ARGS=${SW_ARGS:-}
        case "$id" in f|k) SW_ARGS="$SW_ARGS --no-scanner-signatures" ;; esac
        # l measures inline admission alone: with the flood guard on, the attacker would be
        # banned as a flooder before admission had anything to prove.
        [ "$id" = l ] && SW_ARGS="$SW_ARGS --flood-guard off"
        if ! SW_ARGS=$SW_ARGS lab_run "$rd" sipwarden "$fmt" "$attack" "$t" 2000; then
            check "$id: sipwarden starts and prints ready" 1; scenario_cleanup; return
        fi
        check "$id: sipwarden starts and prints ready" 0
        r=$rd/result.txt
        n=$(kv fails_total "$r")
        case "$id" in
            a) [ "$n" = 5 ] && [ "$(kv fails_auth "$r")" = 5 ]
               check "a: exactly 5 auth_failed lines from the attacker reached Kamailio" $? "got $n" ;;
            c) [ "$(kv fails_unknown "$r")" = 5 ] && [ "$n" = 5 ]
               check "c: exactly 5 unknown_user lines from the attacker reached Kamailio" $? "got $(kv fails_unknown "$r") unknown_user, $n total" ;;
            d) [ "$n" = 5 ]
               check "d: exactly 5 Asterisk-format failures from the attacker" $? "got $n" ;;
            f|k|l|m) [ "$n" = 5 ] && [ "$(kv fails_auth "$r")" = 5 ]
               check "$id: exactly 5 auth_failed lines reached Kamailio ($fmt, no log source)" $? "got $n" ;;
            h) [ "${n:-999}" = 0 ]
               check "h: banned as a scanner before any failure reached Kamailio" $? "got $n" ;;
            i) [ "$(kv fails_unknown "$r")" -le 5 ]
               check "i: svwar banned with at most 5 unknown users reaching Kamailio" $? "got $(kv fails_unknown "$r")" ;;
            j) : ;;
        esac
        case "$id" in h|i|j)
            grep -q "rule=scanner" "$rd/defender.log"; check "$id: the ban's rule is scanner" $? ;;
        esac
        case "$id" in f|h|i|j|k|l|m)
            ! grep -q "watching /" "$rd/defender.log"; check "$id: sipwarden watched no log file" $? ;;
        esac
        [ "$(kv attacker_in_set "$rd/meta.env")" = yes ]
        check "$id: attacker $ATT_IP in the kernel ban set (inet sipwarden host4/ban4)" $? \
            "$( [ -n "$(kv ban_latency_us "$r")" ] && echo "5th failure -> set: $(kv ban_latency_us "$r") us")"
        common_checks "$id" "$rd"
        ;;
    b) full_speed_runs b kamailio "" 20 3 ;;
    g) full_speed_runs g capture "--no-scanner-signatures" 20 3 ;;
    n) full_speed_runs n kamailio "--flood-guard off" "" 2
       ! pbx_nft list table inet sipwarden_guard >/dev/null 2>&1
       check "n: no flood guard table with --flood-guard off" $? ;;
    s) storm_scenario "$rd" ;;
    e)
        if ! KEEP_DEFENDER=1 lab_run "$rd" sipwarden kamailio svcrack 0.005 40; then
            check "e: sipwarden starts and prints ready" 1; scenario_cleanup; return
        fi
        [ "$(kv attacker_in_set "$rd/meta.env")" = yes ]; check "e: attacker banned before the restart" $?
        local old=$SW_PID i
        kill -KILL "$old" 2>/dev/null
        for ((i = 0; i < 100; i++)); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
        ! kill -0 "$old" 2>/dev/null; check "e: sipwarden killed with SIGKILL" $?
        kill_pid "$SW_SUP_PID" 3
        sw_flush_sets   # nft flush set inet sipwarden host4/ban4 (+ v6)
        ! in_set "$ATT_IP"; check "e: kernel set flushed by hand (simulated reboot)" $?
        if SW_STOP_AT_READY=1 sw_start "$SIPWARDEN_BIN" "$rd/state" "$rd/defender-restart.log" "kamailio:$KAM_LOG"; then
            check "e: sipwarden restarts on the same --state and prints ready" 0
            # spawn.py froze sipwarden (SIGSTOP) the moment it printed ready
            in_set "$ATT_IP"; check "e: ban back in the kernel when sipwarden printed ready" $?
            kill -CONT "$SW_PID" 2>/dev/null
            sleep 0.5
            in_set "$ATT_IP"; check "e: ban still in the kernel after resuming" $?
            ! in_set "$CLI_IP"; check "e: legit client not in the set" $?
        else
            check "e: sipwarden restarts on the same --state and prints ready" 1
        fi
        sw_stop
        ;;
    esac
    trap - TERM INT
}

# Journal mode of the storm: Kamailio logs through syslog(3) into a private journald
# (lib.sh kam_start_journal) and sipwarden reads it with JOURNAL_SW_ARGS.
STORM_RATES=${STORM_RATES:-300:300 1000:2000 3000:6000}
# Inline rates above this are skipped (to shorten a run by hand; CI runs every rate).
STORM_INLINE_MAX_RATE=${STORM_INLINE_MAX_RATE:-1000000}
storm_modes() {
    local modes=${STORM_MODES:-none log capture inline journal} m out=""
    for m in $modes; do
        out="$out $m"
    done
    echo $out
}
storm_scenario() {
    local rd=$1 spec rate count mode env ok0 ok row margin
    local modes; modes=$(storm_modes)
    local header="| registrations/s from one address |" sep="|---|"
    for mode in $modes; do
        [ "$mode" = none ] && header="$header no defender |" || header="$header sipwarden $mode |"
        sep="$sep---|"
    done
    local table="$header"$'\n'"$sep"
    for spec in $STORM_RATES; do
        rate=${spec%%:*}; count=${spec#*:}; ok0=""; row="| $rate |"
        for mode in $modes; do
            env=$rd/$mode-$rate/storm.env
            if [ "$mode" = inline ] && [ "$rate" -gt "$STORM_INLINE_MAX_RATE" ]; then
                echo "SKIP s: inline, $rate/s: above STORM_INLINE_MAX_RATE=$STORM_INLINE_MAX_RATE"
                row="$row not run |"; continue
            fi
            if ! storm_run "$rd/$mode-$rate" "$mode" "$rate" "$count"; then
                check "s: $mode, $rate/s: sipwarden starts and prints ready" 1; row="$row – |"; continue
            fi
            ok=$(kv ok "$env")
            if [ "$mode" = none ]; then
                ok0=$ok; row="$row $ok/$count ok |"
                [ "${ok:-0}" -gt 0 ]; check "s: $rate/s, no defender: SIPp registered phones" $? "$ok/$count ok"
                continue
            fi
            row="$row $ok/$count ok$( [ "$(kv nat_banned "$env")" = yes ] && echo ", **banned** ($(kv ban_reason "$env"))") |"
            [ "$(kv nat_banned "$env")" = no ]
            check "s: $mode, $rate/s: the NAT address $CLI_IP is not banned" $? "$(kv ban_reason "$env")"
            local dropped; dropped=$(kv guard_dropped "$env")
            [ "$dropped" = 0 ]; check "s: $mode, $rate/s: the flood guard dropped none of its packets" $? "dropped $dropped"
            if [ "$mode" = inline ]; then
                [ "$(kv inline_dropped "$env")" = 0 ]
                check "s: inline, $rate/s: inline admission dropped none of its packets" $? "dropped $(kv inline_dropped "$env")"
            fi
            margin=$(( ${ok0:-0} / 50 ))
            [ -n "$ok0" ] && [ "${ok:-0}" -ge $(( ok0 - margin )) ]
            check "s: $mode, $rate/s: registrations ok as without a defender" $? "$ok/$count ok, without a defender $ok0/$count"
        done
        table="$table"$'\n'"$row"
    done
    echo "$table" | tee "$rd/table.md" | sed 's/^/# /'
}

source "$E2E/distributed.sh"
scenario_distributed() {
    local rd=$1 e f2b
    dist_addresses
    if dist_run "$rd/sipwarden" sipwarden "$CLI_IP" 0; then
        e=$rd/sipwarden/dist.env
        [ "$(kv prefix_banned "$e")" = yes ]; check "p: $DIST_NET.0/24 banned (inet sipwarden ban4)" $?
        [ "$(kv fails "$e")" -le 25 ]; check "p: at most 25 failures from the $DIST_N attackers together reached Kamailio" $? "got $(kv fails "$e")"
        [ "$(kv legit_bad "$e")" = 0 ] && [ "$(kv legit_ok "$e")" -gt 0 ] && [ "$(kv client_banned "$e")" = no ]
        check "p: legit client $CLI_IP never failed, never banned" $? "ok $(kv legit_ok "$e")"
    else
        check "p: sipwarden starts and prints ready" 1
    fi
    if dist_run "$rd/fail2ban" fail2ban "$CLI_IP" 0; then
        f2b=$(kv fails "$rd/fail2ban/dist.env")
        [ -n "$f2b" ]; check "p: fail2ban on the same attack (side by side)" $? "fail2ban let $f2b failures through, sipwarden $(kv fails "$rd/sipwarden/dist.env")"
    else
        check "p: fail2ban starts" 1
    fi
    if dist_run "$rd/allowlisted" sipwarden "$DIST_CLI" 0 --allow "$DIST_CLI"; then
        e=$rd/allowlisted/dist.env
        [ "$(kv prefix_banned "$e")" = no ]; check "p: client $DIST_CLI inside the /24 and allowlisted: no /24 ban" $? "$(kv blocked "$e")"
        [ "$(kv legit_bad "$e")" = 0 ] && [ "$(kv legit_ok "$e")" -gt 0 ] && [ "$(kv fails_client "$e")" = 0 ]
        check "p: the allowlisted client inside the /24 never failed" $? "ok $(kv legit_ok "$e")"
        kv blocked "$e" | grep -q '\[allowlist\]'; check "p: the blocked /24 ban names the allowlist" $?
    else
        check "p: sipwarden starts (allowlisted client)" 1
    fi
    if dist_run "$rd/typos" sipwarden "$DIST_CLI" 2; then
        e=$rd/typos/dist.env
        [ "$(kv prefix_banned "$e")" = no ] && [ "$(kv client_banned "$e")" = no ]
        check "p: a host of the /24 that logs in between its typos is never part of a prefix ban" $? "$(kv blocked "$e")"
        [ "$(kv typos "$e")" = 2 ] && [ "$(kv fails_client "$e")" = 2 ] && [ "$(kv legit_bad "$e")" = 0 ] && [ "$(kv legit_ok "$e")" -gt 0 ]
        check "p: its two typos failed, every other registration succeeded" $? "typos $(kv typos "$e"), ok $(kv legit_ok "$e"), bad $(kv legit_bad "$e")"
    else
        check "p: sipwarden starts (client with typos)" 1
    fi
}

if [ "${1:-}" = --scenario ]; then
    SIPWARDEN_BIN=$4
    scenario "$2" "$3"
    exit 0
fi

# ---------------------------------------------------------------------------
BIN=${1:-${SIPWARDEN_BIN:-$REPO/.build/release/sipwarden}}
[ -x "$BIN" ] || die "sipwarden binary not found or not executable: $BIN (pass it as argument or SIPWARDEN_BIN)"
BIN=$(readlink -f "$BIN")
for tool in kamailio svcrack svwar sipp fail2ban-server nft tcpdump; do
    command -v "$tool" >/dev/null || die "$tool missing (see integration/e2e/README.md for the apt packages)"
done
OUT=${E2E_OUT:-$REPO/bench-results/e2e-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
WE_BROUGHT_UP=0
if ! "$E2E/lab.sh" status >/dev/null 2>&1; then
    "$E2E/lab.sh" up >"$OUT/lab-up.log" 2>&1 || { cat "$OUT/lab-up.log" >&2; die "lab.sh up failed"; }
    WE_BROUGHT_UP=1
fi
[ "$WE_BROUGHT_UP" = 1 ] && trap '"$E2E/lab.sh" down >/dev/null 2>&1' EXIT

echo "sipwarden e2e: binary $BIN, artefacts $OUT"
T0=$(date +%s)
for id in ${SCENARIOS:-a b c d e f g h i j k l m n p s}; do
    limit=240; [ "$id" = s ] && limit=900; [ "$id" = p ] && limit=420   # s: 3 rates x 4-5 modes, SIPp bounded at 60 s each
    timeout -k 20 $limit "$0" --scenario "$id" "$OUT/$id" "$BIN" 2>>"$OUT/stderr.log" | tee -a "$OUT/checks.txt"
    rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && echo "FAIL $id: scenario exceeded its time limit" | tee -a "$OUT/checks.txt"
done
P=$(grep -c '^PASS ' "$OUT/checks.txt")
F=$(grep -c '^FAIL ' "$OUT/checks.txt")
echo "# runtime $(( $(date +%s) - T0 )) s"
echo "$P passed, $F failed"
[ "$F" = 0 ] && [ "$P" -gt 0 ]
