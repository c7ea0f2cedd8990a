#!/usr/bin/env bash
# Captures real HEP datagrams from Kamailio's siptrace module and stores them as decoder
# test fixtures. Everything runs in a private network namespace (swhep-<pid>) that is
# deleted on exit; only the processes started here are stopped, by PID.
#
#   netns swhep-<pid>: lo up, with 198.18.20.1/32, 198.18.20.66/32, 2001:2::1/128, 2001:2::66/128
#   Kamailio listens on udp 198.18.20.1:5060 and [2001:2::1]:5060, traces every message it
#   receives and sends (trace_mode 1) as HEP to 127.0.0.1:9060, where hep_receiver.py stores
#   the raw datagrams. The SIP client sends from 198.18.20.66:5070 and [2001:2::66]:5070.
#
# Usage: integration/e2e-hep/capture-fixtures.sh [OUTDIR]   (default Tests/PacketDecodingTests/HEPFixtures)
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/Tests/PacketDecodingTests/HEPFixtures}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 2; }
command -v kamailio >/dev/null || { echo "kamailio is not installed" >&2; exit 2; }
PY=/usr/bin/python3
ns=swhep-$$
work=$(mktemp -d /tmp/swhep.XXXXXX)
pids=()

log() { echo "[capture] $*" >&2; }

stop_pid() { # pid: TERM, wait up to 5 s, then KILL (only PIDs started here)
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local pid
    for pid in "${pids[@]}"; do stop_pid "$pid"; done
    # Kamailio's children live only in our namespace: stop any left there, by PID.
    if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
        for pid in $(ip netns pids "$ns" 2>/dev/null); do stop_pid "$pid"; done
        ip netns del "$ns"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
ip -n "$ns" link set lo up
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
# (no dummy module on this kernel: the addresses live on the namespace's own lo)
for a in 198.18.20.1/32 198.18.20.66/32; do ip -n "$ns" addr add "$a" dev lo; done
for a in 2001:2::1/128 2001:2::66/128; do ip -n "$ns" addr add "$a" dev lo nodad; done

# run_capture VERSION AUTHKEY DIR: one Kamailio run sending HEP VERSION, one REGISTER over
# IPv4 and one OPTIONS over IPv6; the HEP datagrams land in DIR.
run_capture() {
    local version=$1 key=$2 dir=$3 cfg=$work/kamailio-v$1.cfg rundir=$work/run-v$1 i kpid rpid
    mkdir -p "$rundir"
    cat > "$cfg" <<CFG
#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=no
listen=udp:198.18.20.1:5060
listen=udp:[2001:2::1]:5060
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "siptrace.so"
# --- the lines that make siptrace send HEP ---
modparam("siptrace", "duplicate_uri", "sip:127.0.0.1:9060")
modparam("siptrace", "hep_mode_on", 1)
modparam("siptrace", "hep_version", $version)
modparam("siptrace", "hep_capture_id", 2001)
modparam("siptrace", "trace_to_database", 0)
modparam("siptrace", "trace_on", 1)
modparam("siptrace", "trace_mode", 1)
CFG
    if [ -n "$key" ]; then echo "modparam(\"siptrace\", \"auth_key\", \"$key\")" >> "$cfg"; fi
    cat >> "$cfg" <<'CFG'
request_route {
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    sl_send_reply("404", "Not Found");
    exit;
}
CFG
    nsx kamailio -c -f "$cfg" >"$rundir/check.log" 2>&1 || { cat "$rundir/check.log" >&2; exit 1; }
    rm -rf "$dir"
    ip netns exec "$ns" timeout 30 "$PY" "$here/hep_receiver.py" 127.0.0.1 9060 "$dir" 20 20 >"$rundir/receiver.log" 2>&1 &
    rpid=$!
    pids+=("$rpid")
    ip netns exec "$ns" kamailio -DD -E -f "$cfg" -P "$rundir/kamailio.pid" -Y "$rundir" -m 32 -M 4 \
        </dev/null >"$rundir/kamailio.log" 2>&1 &
    kpid=$!
    pids+=("$kpid")
    for ((i = 0; i < 50; i++)); do
        if [ -f "$dir/ready" ] && grep -qF "198.18.20.1:5060" <<<"$(nsx ss -lun)"; then break; fi
        sleep 0.1
    done
    grep -qF "198.18.20.1:5060" <<<"$(nsx ss -lun)" || { cat "$rundir/kamailio.log" >&2; exit 1; }
    log "HEPv$version: kamailio pid $kpid up; sending REGISTER (IPv4) and OPTIONS (IPv6)"
    nsx timeout 5 "$PY" "$here/sip_client.py" REGISTER 198.18.20.66 5070 198.18.20.1 >&2
    nsx timeout 5 "$PY" "$here/sip_client.py" OPTIONS 2001:2::66 5070 2001:2::1 >&2
    wait "$rpid" || true
    stop_pid "$kpid"
    wait "$kpid" 2>/dev/null || true
    log "HEPv$version: $(cat "$rundir/receiver.log"); senders: $(cut -f2 "$dir/index.tsv" | sort -u | tr '\n' ' ')"
}

# pick DIR NEEDLE...: the first datagram containing every needle (fixed strings)
pick() {
    local dir=$1 f n ok
    shift
    for f in "$dir"/*.bin; do
        ok=1
        for n in "$@"; do grep -qaF -- "$n" "$f" || { ok=0; break; }; done
        if [ $ok = 1 ]; then echo "$f"; return 0; fi
    done
    echo "no datagram in $dir matches: $*" >&2
    return 1
}

run_capture 3 sipwarden-fixture-key "$work/v3"
run_capture 2 "" "$work/v2"

mkdir -p "$out"
cp "$(pick "$work/v3" "REGISTER sip:198.18.20.1 SIP/2.0")" "$out/kamailio-v3-register-ipv4.bin"
cp "$(pick "$work/v3" "SIP/2.0 404 Not Found" "CSeq: 1 REGISTER")" "$out/kamailio-v3-reply-ipv4.bin"
cp "$(pick "$work/v3" "OPTIONS sip:[2001:2::1] SIP/2.0")" "$out/kamailio-v3-options-ipv6.bin"
cp "$(pick "$work/v2" "REGISTER sip:198.18.20.1 SIP/2.0")" "$out/kamailio-v2-register-ipv4.bin"
cat > "$out/README.md" <<'TXT'
# HEP fixtures

Raw HEP datagrams captured from Kamailio 5.6 (Debian 12) siptrace by
`integration/e2e-hep/capture-fixtures.sh` (namespace-only lab, addresses from 198.18.0.0/15 and
2001:2::/48). HEPv3 ones carry capture id 2001 and auth key `sipwarden-fixture-key`.

| file | content |
|---|---|
| kamailio-v3-register-ipv4.bin | REGISTER received from 198.18.20.66:5070 → 198.18.20.1:5060 |
| kamailio-v3-reply-ipv4.bin | Kamailio's 404 reply, 198.18.20.1:5060 → 198.18.20.66:5070 |
| kamailio-v3-options-ipv6.bin | OPTIONS received from [2001:2::66]:5070 → [2001:2::1]:5060 |
| kamailio-v2-register-ipv4.bin | the REGISTER as HEPv2 (hep_version 2) |
TXT
ls -l "$out" >&2
log "fixtures written to $out"
