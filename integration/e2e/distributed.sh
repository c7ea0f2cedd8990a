# integration/e2e/distributed.sh - a distributed svcrack from 20 addresses of one /24
# (sourced by run.sh, scenario p; after lib.sh).
#
# The attacker namespace gets 198.18.1.1..$DIST_N/24 besides 198.18.0.2, the client
# namespace 198.18.1.100/32 besides 198.18.0.3; Kamailio's namespace routes
# 198.18.1.0/24 to the attacker and 198.18.1.100/32 to the client. One svcrack per
# address (sipvicious 0.3.3 ignores -b: tools/sv-bind.py passes it through), 100 wrong
# passwords each, all started at once.

DIST_NET=198.18.1
DIST_N=${DIST_N:-20}
DIST_WORDS=${DIST_WORDS:-100}
DIST_CLI=198.18.1.100

dist_addresses() {
    local i
    for i in $(seq 1 "$DIST_N"); do
        grep -qF " $DIST_NET.$i/" <<<"$(ip -n $NS_ATT addr show dev eth0)" || ip -n $NS_ATT addr add "$DIST_NET.$i/24" dev eth0
    done
    grep -qF " $DIST_CLI/" <<<"$(ip -n $NS_CLI addr show dev eth0)" || ip -n $NS_CLI addr add "$DIST_CLI/32" dev eth0
    ip -n $NS_PBX route replace "$DIST_NET.0/24" via "$ATT_IP" dev eth0
    ip -n $NS_PBX route replace "$DIST_CLI/32" via "$CLI_IP" dev eth0
}

# dist_run RD DEFENDER CLIENT TYPOS [sipwarden args...]: a fresh Kamailio, the defender
# (sipwarden | fail2ban), the legit client at CLIENT (TYPOS wrong passwords first, each
# followed by a success), 20 svcracks at once. Writes RD/dist.env: fails (auth_failed
# lines from the 20 attackers), fails_client, prefix_banned, client_banned, legit_ok,
# legit_bad (non-typo registrations that failed), typos, blocked (sipwarden's log).
dist_run() {
    local rd=$1 def=$2 cli=$3 typos=$4 i pids=() maxs=90
    shift 4
    mkdir -p "$rd"
    kam_start kamailio
    pbx_nft delete table inet sipwarden 2>/dev/null || true
    pbx_nft delete table inet sipwarden_guard 2>/dev/null || true
    pbx_nft delete table inet f2b-table 2>/dev/null || true
    ip netns exec $NS_PBX "$PY" "$E2E/tools/tsmon.py" --out "$rd/nftmon.txt" --max-seconds $maxs -- \
        "$E2E/tools/nft-guard.sh" monitor >/dev/null 2>&1 &
    LAB_BG+=($!)
    sleep 0.3
    case "$def" in
        sipwarden) rm -rf "$rd/state"
                   sw_start "$SIPWARDEN_BIN" "$rd/state" "$rd/defender.log" "kamailio:$KAM_LOG" "$@" || return 1 ;;
        fail2ban) f2b_start "$rd/defender.log" || return 1 ;;
    esac
    ip netns exec $NS_CLI "$PY" "$E2E/legit-client.py" --server $PBX_IP --bind "$cli" --user 101 \
        --password SwLab-Pw-101-Kz4 --count 100000 --interval 0.2 --max-seconds 30 --typos "$typos" \
        --csv "$rd/legit.csv" >/dev/null 2>&1 &
    LAB_BG+=($!)
    sleep 1.5   # the client's typos and successes come first
    wordlist "$rd/wordlist.txt" $((DIST_N * DIST_WORDS))
    for i in $(seq 1 "$DIST_N"); do
        awk -v n="$DIST_N" -v k="$i" '(NR - 1) % n == k - 1' "$rd/wordlist.txt" > "$rd/wordlist.$i.txt"
    done
    echo "t_attack_start=$(date +%s.%N)" > "$rd/dist.env"
    for i in $(seq 1 "$DIST_N"); do
        mkdir -p "$rd/svhome/$i"
        HOME="$rd/svhome/$i" timeout 25 ip netns exec $NS_ATT "$PY" "$E2E/tools/sv-bind.py" svcrack \
            -u 100 -d "$rd/wordlist.$i.txt" -b "$DIST_NET.$i" -t 0.005 "$PBX_IP" >"$rd/attack.$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    sleep 2
    local prefix=no client=no
    if [ "$def" = sipwarden ]; then
        # Captured first: nft writes its listing in many small writes, and under pipefail a
        # `nft … | grep -q` fails when grep exits at the match before nft has written the rest.
        grep -qF "$DIST_NET.0/24" <<<"$(pbx_nft list set inet sipwarden ban4 2>/dev/null)" && prefix=yes
        in_set "$cli" && client=yes
        pbx_nft list set inet sipwarden ban4 > "$rd/ban4.txt" 2>&1
        pbx_nft list set inet sipwarden host4 > "$rd/host4.txt" 2>&1
    else
        pbx_nft list table inet f2b-table > "$rd/f2b-table.txt" 2>&1
        grep -qF "$cli" "$rd/f2b-table.txt" && client=yes
    fi
    lab_bg_stop
    [ "$def" = sipwarden ] && sw_stop
    [ "$def" = fail2ban ] && f2b_stop
    cp "$KAM_LOG" "$rd/kamailio.log"
    rm -rf "$rd/svhome"
    {
        echo "fails=$(grep -c "SIPWARDEN event=auth_failed .*src=$DIST_NET\.\([1-9]\|1[0-9]\|20\) " "$rd/kamailio.log")"
        echo "fails_client=$(grep -c "SIPWARDEN event=auth_failed .*src=$cli " "$rd/kamailio.log")"
        echo "client_register_ok=$(grep -c "SWLAB-REGISTER-OK .*src=$cli " "$rd/kamailio.log")"
        echo "prefix_banned=$prefix"
        echo "client_banned=$client"
        echo "legit_ok=$(awk -F, 'NR > 1 && $4 == "ok"' "$rd/legit.csv" | wc -l)"
        echo "legit_bad=$(awk -F, 'NR > 1 && $4 != "ok" && $4 !~ /^typo-/' "$rd/legit.csv" | wc -l)"
        echo "typos=$(awk -F, 'NR > 1 && $4 ~ /^typo-/' "$rd/legit.csv" | wc -l)"
        echo "blocked=$(grep 'prefix ban blocked' "$rd/defender.log" 2>/dev/null | head -1 | tr -d '\n' | cut -c1-400)"
    } >> "$rd/dist.env"
}
