# integration/e2e/lib.sh - shared settings and helpers of sipwarden's attack lab (sourced).
#
# Everything lives in network namespaces named swlab-*, addresses come from
# 198.18.0.0/15 only, the namespaces have no default route, and every nftables
# command goes through tools/nft-guard.sh, which refuses to run outside netns
# swlab-pbx. Processes are started by these scripts and stopped by their PID.

E2E="${E2E:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
REPO="$(cd "$E2E/../.." && pwd)"
PY=/usr/bin/python3               # Debian python: fail2ban and pyinotify live there

# ---- topology ---------------------------------------------------------------
NS_SW=swlab-sw      # holds bridge br0 (the root namespace stays untouched)
NS_PBX=swlab-pbx    # Kamailio + the defender (sipwarden or fail2ban) + nftables
NS_ATT=swlab-att    # sipvicious
NS_CLI=swlab-cli    # the legitimate user agent
PBX_IP=198.18.0.1
ATT_IP=198.18.0.2
CLI_IP=198.18.0.3
SIP_DOMAIN=swlab.example

# ---- runtime paths ----------------------------------------------------------
SWLAB_RUN=/run/swlab
KAM_LOG=$SWLAB_RUN/kamailio.log            # Kamailio stderr (SIPWARDEN lines)
AST_LOG=$SWLAB_RUN/asterisk-messages.log   # Asterisk-format log (ASTERISK_FORMAT variant)
KAM_PIDF=$SWLAB_RUN/kamailio.pid
F2B_RUN=$SWLAB_RUN/f2b
F2B_SOCK=$F2B_RUN/fail2ban.sock
F2B_PIDF=$F2B_RUN/fail2ban.pid

log() { echo "[$(date +%H:%M:%S.%3N)] $*" >&2; }
die() { echo "ERROR: $*" >&2; exit 1; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
require_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }
require_lab_up() {
    local ns
    for ns in $NS_SW $NS_PBX $NS_ATT $NS_CLI; do
        ns_exists "$ns" || die "netns $ns missing: run integration/e2e/lab.sh up"
    done
}

# kill_pid PID [SECONDS]: SIGTERM one process we started, SIGKILL after SECONDS
kill_pid() {
    local pid=$1 t=${2:-5} i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < t * 20; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
}

# nft inside netns swlab-pbx only
pbx_nft() { ip netns exec $NS_PBX "$E2E/tools/nft-guard.sh" "$@"; }

# ---- Kamailio -----------------------------------------------------------------
kam_pid() { cat "$KAM_PIDF" 2>/dev/null || true; }
AST_FILTER_PIDF=$SWLAB_RUN/astlog.pid

kam_stop() {
    kill_pid "$(kam_pid)" 10
    rm -f "$KAM_PIDF"
    # the Asterisk log writer ends at EOF of Kamailio's stderr; make sure
    kill_pid "$(cat "$AST_FILTER_PIDF" 2>/dev/null)" 3
    rm -f "$AST_FILTER_PIDF"
}

# kam_start [kamailio|asterisk]: (re)start Kamailio in swlab-pbx with empty logs.
kam_start() {
    local fmt=${1:-kamailio} defs=() i
    kam_stop
    mkdir -p "$SWLAB_RUN/dbtext"
    cp "$E2E/conf/dbtext/"* "$SWLAB_RUN/dbtext/"
    : > "$KAM_LOG"; : > "$AST_LOG"
    [ "$fmt" = asterisk ] && defs=(-A ASTERISK_FORMAT)
    [ "$fmt" = hep ] && defs=(-A WITH_HEP)
    ip netns exec $NS_PBX kamailio -c -f "$E2E/conf/kamailio.cfg" "${defs[@]}" >/dev/null 2>"$SWLAB_RUN/kamcheck.log" \
        || { cat "$SWLAB_RUN/kamcheck.log" >&2; die "kamailio config check failed"; }
    # -DD: foreground, so stderr (-E) keeps going to our log file. A plain command
    # (not a shell function) in the background, so no bash wrapper holds our fds.
    if [ "$fmt" = asterisk ]; then
        ip netns exec $NS_PBX setsid kamailio -DD -E -f "$E2E/conf/kamailio.cfg" "${defs[@]}" \
            -P "$KAM_PIDF" -Y "$SWLAB_RUN" -m 64 -M 8 </dev/null 2>&1 \
            | "$PY" "$E2E/tools/astlog.py" --all "$KAM_LOG" --out "$AST_LOG" >/dev/null 2>&1 &
        echo $! > "$AST_FILTER_PIDF"
    else
        ip netns exec $NS_PBX setsid kamailio -DD -E -f "$E2E/conf/kamailio.cfg" "${defs[@]}" \
            -P "$KAM_PIDF" -Y "$SWLAB_RUN" -m 64 -M 8 </dev/null >>"$KAM_LOG" 2>&1 &
    fi
    for ((i = 0; i < 100; i++)); do
        if [ -s "$KAM_PIDF" ] && ip netns exec $NS_PBX ss -lun | grep -qF "$PBX_IP:5060"; then
            return 0
        fi
        sleep 0.05
    done
    cat "$KAM_LOG" >&2
    die "kamailio did not come up"
}

# kam_start_journal: (re)start Kamailio in swlab-pbx logging through syslog(3) into a
# fresh private journald (tools/journal.sh: its own mount namespace, the root namespace's
# /dev/log and journal untouched), as Kamailio on Debian logs by default. sipwarden then
# reads it with JOURNAL_SW_ARGS inside the same mount namespace (SW_EXEC_PREFIX).
JOURNAL_SH=$E2E/tools/journal.sh
JOURNAL_DIR=$SWLAB_RUN/journald
JOURNAL_SW_ARGS="--journal kamailio"
kam_start_journal() {
    local i
    kam_stop
    journal_stop
    mkdir -p "$SWLAB_RUN/dbtext"
    cp "$E2E/conf/dbtext/"* "$SWLAB_RUN/dbtext/"
    : > "$KAM_LOG"
    sed 's/^log_stderror=yes/log_stderror=no/' "$E2E/conf/kamailio.cfg" > "$SWLAB_RUN/kamailio-journal.cfg"
    "$JOURNAL_SH" start "$JOURNAL_DIR" >/dev/null || die "the private journald did not start"
    "$JOURNAL_SH" exec "$JOURNAL_DIR" ip netns exec $NS_PBX setsid kamailio -DD -f "$SWLAB_RUN/kamailio-journal.cfg" \
        -P "$KAM_PIDF" -Y "$SWLAB_RUN" -m 64 -M 8 </dev/null >>"$KAM_LOG" 2>&1 &
    for ((i = 0; i < 100; i++)); do
        if [ -s "$KAM_PIDF" ] && ip netns exec $NS_PBX ss -lun | grep -qF "$PBX_IP:5060"; then
            SW_EXEC_PREFIX="$JOURNAL_SH exec $JOURNAL_DIR"
            return 0
        fi
        sleep 0.05
    done
    die "kamailio (journal) did not come up"
}
journal_stop() {
    SW_EXEC_PREFIX=""
    [ -s "$JOURNAL_DIR/journald.pid" ] && "$JOURNAL_SH" stop "$JOURNAL_DIR" >/dev/null 2>&1
    return 0
}

# ---- fail2ban (netns swlab-pbx; private conf dir, socket, pid file, in-memory db) ---
f2b_pid() { cat "$F2B_PIDF" 2>/dev/null || true; }

f2b_stop() {
    if [ -S "$F2B_SOCK" ] && ns_exists $NS_PBX; then
        timeout 20 ip netns exec $NS_PBX fail2ban-client -s "$F2B_SOCK" stop >/dev/null 2>&1 || true
    fi
    kill_pid "$(f2b_pid)" 10
    rm -f "$F2B_PIDF" "$F2B_SOCK"
}

# f2b_start LOGFILE: fail2ban 1.0.2, pyinotify backend, maxretry 5, findtime 60,
# bantime 600, the stock nftables action with nft = tools/nft-guard.sh.
f2b_start() {
    local flog=$1 c=$F2B_RUN/conf i
    f2b_stop
    rm -rf "$c"; mkdir -p "$c"
    cp -a /etc/fail2ban/. "$c/"
    rm -rf "$c"/jail.d/* "$c"/fail2ban.d/* "$c"/jail.local "$c"/fail2ban.local
    cp "$E2E"/conf/fail2ban/filter.d/*.conf "$c/filter.d/"
    cat > "$c/fail2ban.local" <<EOC
[Definition]
loglevel = INFO
logtarget = $flog
socket = $F2B_SOCK
pidfile = $F2B_PIDF
dbfile = :memory:
EOC
    cat > "$c/jail.local" <<EOC
[DEFAULT]
ignoreip = 127.0.0.1/8 ::1
bantime  = ${F2B_BANTIME:-600}
findtime = ${F2B_FINDTIME:-60}
maxretry = ${F2B_MAXRETRY:-5}
usedns   = no
backend  = pyinotify

[swlab-kamailio]
enabled  = true
filter   = swlab-kamailio
logpath  = $KAM_LOG
port     = 5060
protocol = udp,tcp
action   = nftables[type=multiport, name=swlab-kamailio, port="5060", protocol="udp,tcp", nftables="$E2E/tools/nft-guard.sh"]
EOC
    ip netns exec $NS_PBX setsid fail2ban-server -f -x -c "$c" -s "$F2B_SOCK" -p "$F2B_PIDF" \
        </dev/null >"$F2B_RUN/server.out" 2>&1 &
    for ((i = 0; i < 200; i++)); do
        if [ -s "$F2B_PIDF" ] && ip netns exec $NS_PBX fail2ban-client -s "$F2B_SOCK" status swlab-kamailio >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.05
    done
    cat "$F2B_RUN/server.out" >&2
    die "fail2ban did not start"
}

# ---- sipwarden (netns swlab-pbx) --------------------------------------------------
SW_PID=""; SW_SUP_PID=""
# sw_start BIN STATE_DIR OUTFILE DIALECT:PATH [extra sipwarden args...]
# Starts `sipwarden run` in netns swlab-pbx under tools/spawn.py (output to
# OUTFILE), waits max 20 s for "sipwarden ready"; sets SW_PID (sipwarden) and
# SW_SUP_PID (the supervisor). SW_STOP_AT_READY=1: spawn.py SIGSTOPs sipwarden
# the moment it prints ready (resume with `kill -CONT $SW_PID`).
sw_start() {
    local bin=$1 state=$2 outf=$3 logspec=$4 i stopflag=() logargs=()
    shift 4
    # "none": no log source (the wire sensors are passed in the extra arguments)
    [ "$logspec" != none ] && logargs=(--log "$logspec")
    mkdir -p "$state"
    rm -f "$outf" "$outf.ready" "$outf.pid"
    [ "${SW_STOP_AT_READY:-0}" = 1 ] && stopflag=(--stop-at-ready)
    # SW_EXEC_PREFIX: e.g. the private journald's mount namespace (journal mode).
    ${SW_EXEC_PREFIX:-} ip netns exec $NS_PBX "$PY" "$E2E/tools/spawn.py" --out "$outf" --pidfile "$outf.pid" \
        --ready 'sipwarden ready' "${stopflag[@]}" --max-seconds "${SW_MAX_SECONDS:-600}" -- \
        "$bin" run "${logargs[@]}" --firewall nftables --state "$state" \
        --max-retry "${SW_MAXRETRY:-5}" --find-time 60s --ban-time 10m "$@" </dev/null >/dev/null 2>&1 &
    SW_SUP_PID=$!
    SW_PID=""
    for ((i = 0; i < 400; i++)); do
        [ -z "$SW_PID" ] && [ -s "$outf.pid" ] && SW_PID=$(cat "$outf.pid")
        [ -s "$outf.ready" ] && return 0
        if ! kill -0 "$SW_SUP_PID" 2>/dev/null; then
            log "sipwarden exited before ready:"; tail -20 "$outf" >&2; return 1
        fi
        sleep 0.05
    done
    log "sipwarden not ready after 20 s"; tail -20 "$outf" >&2
    return 1
}
sw_stop() {
    [ -n "$SW_PID" ] && kill -CONT "$SW_PID" 2>/dev/null
    kill_pid "$SW_PID" 10
    kill_pid "$SW_SUP_PID" 5
    SW_PID=""; SW_SUP_PID=""
}

# in_set ADDR [SET...]: is ADDR an element of one of inet sipwarden's IPv4 ban sets
# (default: host4 = single addresses, ban4 = prefixes/intervals)? An interval element
# "a.b.c.d/nn" counts only when written as ADDR itself (single-address bans).
SW_SETS4="host4 ban4"
SW_SETS_ALL="host4 ban4 host6 ban6"
in_set() {
    local addr=$1 s listing
    shift
    for s in ${@:-$SW_SETS4}; do
        # The listing is read to its end before grep looks: under pipefail, grep -q leaving
        # at the match would make the writer fail with SIGPIPE, and the pipeline with it.
        listing=$(pbx_nft list set inet sipwarden "$s" 2>/dev/null | tr ',{}' '   ' | tr -s ' \t' '\n\n')
        grep -qxF -e "$addr" -e "$addr/32" <<<"$listing" && return 0
    done
    return 1
}
# sw_flush_sets: empty every ban set of inet sipwarden (a simulated reboot)
sw_flush_sets() {
    local s
    for s in $SW_SETS_ALL; do
        pbx_nft list set inet sipwarden "$s" >/dev/null 2>&1 && pbx_nft flush set inet sipwarden "$s"
    done
    return 0
}

# wordlist FILE N: N wrong passwords for svcrack (none is the real one)
wordlist() {
    { printf '%s\n' 100 1234 12345 123456 password secret admin 1000 100100 qwerty
      seq -f 'wrong-%05g' 1 $(($2 > 10 ? $2 - 10 : 0)); } | head -n "$2" > "$1"
}

# ---- one lab run ---------------------------------------------------------------
# lab_run RD DEFENDER FORMAT ATTACK T [WORDS]
#   RD        run directory (created; artefacts + result.txt)
#   DEFENDER  sipwarden (binary in $SIPWARDEN_BIN) | fail2ban | none
#   FORMAT    kamailio | asterisk (Kamailio log variant; sipwarden reads the matching file)
#   ATTACK    svcrack | svwar;  T = sipvicious -t (0.005 = tool default, 0 = full speed)
#   WORDS     svcrack: number of wrong passwords for user 100 (default 2000)
# Env: PCAP=1 (tcpdump -s 64 for the attacker's request rate), POST (s, default 1),
#      KEEP_DEFENDER=1 (leave sipwarden running: SW_PID/SW_SUP_PID stay set),
#      SW_EXTRA_ARGS (array name not supported; use SW_ARGS string, word-split).
# Records in RD/meta.env attacker_in_set / client_in_set (kernel set at the end,
# sipwarden only) and prints nothing; returns non-zero if the defender did not start.
# proc_cpu_ticks PID: utime + stime of a process (all its threads), clock ticks; empty
# when PID is empty or gone. Fields after "(comm)": state is 1st, utime 12th, stime 13th.
proc_cpu_ticks() {
    [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 0
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
# att_tx_packets: packets the attacker namespace's interface has sent so far.
att_tx_packets() { ip netns exec $NS_ATT cat /sys/class/net/eth0/statistics/tx_packets 2>/dev/null; }

LAB_BG=()
lab_bg_stop() { local p; for p in "${LAB_BG[@]}"; do kill_pid "$p" 3; done; LAB_BG=(); }

lab_run() {
    local rd=$1 def=$2 fmt=$3 attack=$4 t=$5 words=${6:-2000}
    local maxs=$((${TOOL_MAX:-60} + 60)) logspec wl rc=0
    mkdir -p "$rd"
    : > "$rd/meta.env"
    printf '%s\n' "defender=$def" "format=$fmt" "attack=$attack" "tool_t=$t" "words=$words" \
        "attacker=$ATT_IP" "client=$CLI_IP" "maxretry=${SW_MAXRETRY:-5}" >> "$rd/meta.env"
    kam_start "$fmt"
    pbx_nft delete table inet sipwarden 2>/dev/null || true
    pbx_nft delete table inet sipwarden_guard 2>/dev/null || true
    pbx_nft delete table inet f2b-table 2>/dev/null || true
    ip netns exec $NS_PBX "$PY" "$E2E/tools/tsmon.py" --out "$rd/nftmon.txt" --max-seconds $maxs -- \
        "$E2E/tools/nft-guard.sh" monitor >/dev/null 2>&1 &
    LAB_BG+=($!)
    if [ "${PCAP:-0}" = 1 ]; then
        ip netns exec $NS_PBX timeout $maxs tcpdump -i eth0 -n -s 64 -B 16384 -U -w "$rd/attack.pcap" \
            "udp dst port 5060 and src host $ATT_IP" >/dev/null 2>"$rd/tcpdump.err" &
        LAB_BG+=($!)
    fi
    sleep 0.3   # nft monitor subscribed, tcpdump attached
    case "$def" in
        sipwarden)
            local wire=()
            case "$fmt" in
                asterisk) logspec="asterisk:$AST_LOG" ;;
                capture) logspec=none; wire=(--capture eth0:5060) ;;
                hep) logspec=none; wire=(--hep 127.0.0.1:9060 --hep-agent "$PBX_IP" --hep-agent 127.0.0.1) ;;
                inline) logspec=none; wire=(--inline 7) ;;
                *) logspec="kamailio:$KAM_LOG" ;;
            esac
            rm -rf "$rd/state"
            # shellcheck disable=SC2086
            sw_start "$SIPWARDEN_BIN" "$rd/state" "$rd/defender.log" "$logspec" "${wire[@]}" ${SW_ARGS:-} || rc=1 ;;
        fail2ban) f2b_start "$rd/defender.log" || rc=1 ;;
        none) ;;
        *) die "lab_run: unknown defender $def" ;;
    esac
    if [ $rc != 0 ]; then lab_bg_stop; return 1; fi
    ip netns exec $NS_CLI "$PY" "$E2E/legit-client.py" --server $PBX_IP --bind $CLI_IP --user 101 \
        --password SwLab-Pw-101-Kz4 --count 100000 --interval 0.2 --max-seconds $maxs \
        --csv "$rd/legit.csv" >/dev/null 2>&1 &
    LAB_BG+=($!)
    sleep 0.6
    local dpid="" cpu0 tx0
    case "$def" in sipwarden) dpid=$SW_PID ;; fail2ban) dpid=$(f2b_pid) ;; esac
    cpu0=$(proc_cpu_ticks "$dpid"); tx0=$(att_tx_packets)
    echo "t_attack_start=$(date +%s.%N)" >> "$rd/meta.env"
    mkdir -p "$rd/svhome"
    local trc=0
    if [ "$attack" = svcrack ]; then
        wl="$rd/wordlist.txt"; wordlist "$wl" "$words"
        HOME="$rd/svhome" timeout "${TOOL_MAX:-60}" ip netns exec $NS_ATT \
            svcrack -u 100 -d "$wl" -t "$t" "$PBX_IP" >"$rd/attack.out" 2>&1 || trc=$?
    elif [ "$attack" = svmap ]; then
        HOME="$rd/svhome" timeout "${TOOL_MAX:-60}" ip netns exec $NS_ATT \
            svmap -p 5060 -t "$t" "$PBX_IP" >"$rd/attack.out" 2>&1 || trc=$?
    else
        HOME="$rd/svhome" timeout "${TOOL_MAX:-60}" ip netns exec $NS_ATT \
            svwar -e "${SVWAR_RANGE:-100-999}" -t "$t" "$PBX_IP" >"$rd/attack.out" 2>&1 || trc=$?
    fi
    echo "tool_exit=$trc" >> "$rd/meta.env"
    echo "t_attack_end=$(date +%s.%N)" >> "$rd/meta.env"
    sleep "${POST:-1}"
    # The defender's CPU (utime + stime of the process, all threads) from just before the
    # attack to the end of POST, and what the attacker's interface sent meanwhile.
    local cpu1 tx1; cpu1=$(proc_cpu_ticks "$dpid"); tx1=$(att_tx_packets)
    if [ -n "$cpu0" ] && [ -n "$cpu1" ] && [ -n "$tx0" ] && [ -n "$tx1" ]; then
        printf '%s\n' "defender_cpu_ticks=$((cpu1 - cpu0))" "clk_tck=$(getconf CLK_TCK)" "attack_packets=$((tx1 - tx0))" >> "$rd/meta.env"
    fi
    if [ "$def" = sipwarden ]; then
        in_set "$ATT_IP" && echo "attacker_in_set=yes" >> "$rd/meta.env" || echo "attacker_in_set=no" >> "$rd/meta.env"
        in_set "$CLI_IP" && echo "client_in_set=yes" >> "$rd/meta.env" || echo "client_in_set=no" >> "$rd/meta.env"
    fi
    lab_bg_stop
    if [ "$def" = sipwarden ] && [ "${KEEP_DEFENDER:-0}" != 1 ]; then sw_stop; fi
    [ "$def" = fail2ban ] && f2b_stop
    cp "$KAM_LOG" "$rd/kamailio.log"
    [ "$fmt" = asterisk ] && cp "$AST_LOG" "$rd/asterisk.log"
    "$PY" "$E2E/tools/analyze.py" "$rd" > "$rd/result.txt"
    local ticks hz pk
    ticks=$(sed -n 's/^defender_cpu_ticks=//p' "$rd/meta.env"); hz=$(sed -n 's/^clk_tck=//p' "$rd/meta.env")
    pk=$(sed -n 's/^attack_packets=//p' "$rd/meta.env")
    if [ -n "$ticks" ] && [ -n "$pk" ]; then
        awk -v t="$ticks" -v hz="$hz" -v p="$pk" 'BEGIN {
            printf "defender_cpu_ms=%.0f\nattack_packets=%d\n", t * 1000 / hz, p
            if (p > 0) printf "defender_cpu_us_per_packet=%.2f\n", t * 1e6 / hz / p }' >> "$rd/result.txt"
    fi
    [ "${KEEP_PCAP:-0}" = 1 ] || rm -f "$rd/attack.pcap"
    rm -rf "$rd/svhome"
    return 0
}

# ---- a legitimate registration storm (SIPp) ------------------------------------
# storm_run RD MODE RATE COUNT: COUNT phones behind one address (netns swlab-cli,
# $CLI_IP, each phone its own socket) register with the right password at RATE per
# second (REGISTER, 401, REGISTER with credentials, 200: conf/sipp/register-storm.xml)
# against a fresh Kamailio, with MODE = none | log | capture | inline | journal
# (sipwarden on its defaults, fresh state and tables). SIPp is bounded by -m, its
# own -timeout and `timeout`. Writes RD/storm.env: ok, failed (SIPp's counts),
# kam_ok (Kamailio's SWLAB-REGISTER-OK lines from the NAT address), nat_banned
# (yes/no: in a ban set at the end), ban_reason, guard_dropped (the flood guard's
# drop counter), inline_dropped, seconds.
STORM_SIPP_DIR="$E2E/conf/sipp"
storm_run() {
    local rd=$1 mode=$2 rate=$3 count=$4 spec=none wire=() t0 rc=0
    mkdir -p "$rd"; : > "$rd/storm.env"
    if [ "$mode" = journal ]; then kam_start_journal; else journal_stop; kam_start kamailio; fi
    pbx_nft delete table inet sipwarden 2>/dev/null || true
    pbx_nft delete table inet sipwarden_guard 2>/dev/null || true
    case "$mode" in
        none) ;;
        log) spec="kamailio:$KAM_LOG" ;;
        capture) wire=(--capture eth0:5060) ;;
        inline) wire=(--inline 7) ;;
        # shellcheck disable=SC2206
        journal) wire=(${JOURNAL_SW_ARGS:-}) ;;
        *) die "storm_run: unknown mode $mode" ;;
    esac
    if [ "$mode" != none ]; then
        rm -rf "$rd/state"
        sw_start "$SIPWARDEN_BIN" "$rd/state" "$rd/defender.log" "$spec" "${wire[@]}" || rc=1
    fi
    if [ $rc = 0 ]; then
        t0=$(date +%s.%N)
        # -max_retrans 5: a phone gives up after 500 ms + 1 + 2 + 4 + 4 s of retransmissions.
        (cd "$rd" && timeout -k 5 60 ip netns exec $NS_CLI sipp "$PBX_IP:5060" -sf "$STORM_SIPP_DIR/register-storm.xml" \
            -inf "$STORM_SIPP_DIR/users.csv" -r "$rate" -m "$count" -l "$count" -t un -i "$CLI_IP" \
            -max_socket $((count + 1000)) -max_retrans 5 -nostdin -timeout 45s </dev/null >"$rd/sipp.out" 2>&1)
        echo "sipp_exit=$?" >> "$rd/storm.env"
        echo "seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')" >> "$rd/storm.env"
        sleep 1
    fi
    local ok failed kam_ok banned=no reason=none dropped=off idrop=
    ok=$(grep "Successful call" "$rd/sipp.out" 2>/dev/null | tail -1 | awk -F'|' '{gsub(/ /, "", $3); print $3}')
    failed=$(grep "Failed call" "$rd/sipp.out" 2>/dev/null | tail -1 | awk -F'|' '{gsub(/ /, "", $3); print $3}')
    kam_ok=$(grep -c "SWLAB-REGISTER-OK .*src=$CLI_IP " "$KAM_LOG" 2>/dev/null)
    if [ "$mode" != none ]; then
        in_set "$CLI_IP" "$SW_SETS4" && banned=yes
        grep -q "ban $CLI_IP " "$rd/defender.log" 2>/dev/null && banned=yes \
            && reason=$(grep -o "ban $CLI_IP [^\[]*" "$rd/defender.log" | head -1 | tr ' ' '_')
        dropped=$(pbx_nft list counter inet sipwarden_guard flood4 2>/dev/null | sed -n 's/.*packets \([0-9]*\).*/\1/p')
        sw_stop
        idrop=$(grep -o 'inline_dropped=[0-9]*' "$rd/defender.log" | tail -1 | cut -d= -f2)
        local iover; iover=$(grep -o "inline_overruns=[0-9]*" "$rd/defender.log" | tail -1 | cut -d= -f2)
        [ -n "$idrop" ] && idrop=$((idrop + ${iover:-0}))
    fi
    printf '%s\n' "ok=${ok:-0}" "failed=${failed:-0}" "kam_ok=${kam_ok:-0}" "nat_banned=$banned" "ban_reason=$reason" \
        "guard_dropped=${dropped:-off}" "inline_dropped=${idrop:-}" "defender_started=$([ $rc = 0 ] && echo yes || echo no)" >> "$rd/storm.env"
    cp "$KAM_LOG" "$rd/kamailio.log" 2>/dev/null
    return $rc
}
