#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A private systemd-journald for the lab: a real journald (Debian's systemd package) in its
# own mount namespace, so that /run/systemd/journal, /run/log/journal, /var/log/journal and
# /dev/log of the root namespace are never touched. Processes started with `exec` see that
# namespace: a PBX's syslog(3) goes to /dev/log -> this journald, and `sipwarden run
# --journal` reads its journal files, exactly as on a host where systemd runs journald.
#
#   journal.sh start DIR        start journald; DIR holds its pid and configuration
#   journal.sh exec DIR CMD...  run CMD in the journal's mount namespace (combine with
#                               `ip netns exec NS` after it for a network namespace)
#   journal.sh stop DIR         stop journald (its journal, on a tmpfs, goes with it)
#   journal.sh selftest         start, log through syslog(3) with logger(1), read it back, stop
#
# journald is configured with Storage=volatile and no rate limit (RateLimitBurst=0): a
# storm of failure lines must reach the journal, where a stock journald would drop
# everything over 10,000 messages per 30 s from one service. The mount namespace is a
# slave of the root one, so network namespaces added later (`ip netns add`) are visible.
set -euo pipefail
JOURNALD=/lib/systemd/systemd-journald

die() { echo "journal.sh: $*" >&2; exit 1; }
pid_of() { [ -s "$1/journald.pid" ] || die "no journald started in $1"; cat "$1/journald.pid"; }

# Runs inside the new mount namespace, then becomes journald (same pid).
inner() {
    local dir=$1 d n
    for d in /run/systemd /run/log /var/log/journal; do
        mkdir -p "$d" 2>/dev/null || true
        mount -t tmpfs -o mode=0755,size=256m tmpfs "$d"
    done
    mkdir -p /run/systemd/journal
    printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=192M\nRateLimitIntervalSec=0\nRateLimitBurst=0\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n' \
        > "$dir/journald.conf"
    mount --bind "$dir/journald.conf" /etc/systemd/journald.conf
    [ -d /etc/systemd/journald.conf.d ] && mount -t tmpfs tmpfs /etc/systemd/journald.conf.d
    # A private /dev with the usual nodes, where /dev/log is journald's syslog socket.
    mkdir -p "$dir/dev"
    mount --rbind /dev "$dir/dev"
    mount -t tmpfs -o mode=0755 tmpfs /dev
    for n in null zero full random urandom tty net; do
        [ -e "$dir/dev/$n" ] || continue
        if [ -d "$dir/dev/$n" ]; then mkdir -p "/dev/$n"; else touch "/dev/$n"; fi
        mount --rbind "$dir/dev/$n" "/dev/$n"
    done
    for d in pts shm mqueue; do
        [ -d "$dir/dev/$d" ] && { mkdir -p "/dev/$d"; mount --rbind "$dir/dev/$d" "/dev/$d"; }
    done
    ln -s /proc/self/fd /dev/fd
    ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
    ln -s /run/systemd/journal/dev-log /dev/log
    exec "$JOURNALD"
}

start() {
    local dir=$1 pid i
    [ -x "$JOURNALD" ] || die "$JOURNALD missing (apt-get install systemd)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -s "$dir/journald.pid" ] && kill -0 "$(cat "$dir/journald.pid")" 2>/dev/null; then die "already running in $dir"; fi
    setsid unshare -m --propagation slave -- "$0" __inner "$dir" </dev/null >"$dir/journald.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/journald.pid"
    for ((i = 0; i < 100; i++)); do
        if nsenter -m -t "$pid" -- test -S /run/systemd/journal/dev-log 2>/dev/null \
           && nsenter -m -t "$pid" -- test -d "/run/log/journal/$(cat /etc/machine-id)" 2>/dev/null; then
            echo "journald pid $pid (mount namespace of that pid); run commands with: $0 exec $dir CMD..."
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$dir/journald.log" >&2
    die "journald did not come up"
}

stop() {
    local dir=$1 pid i
    [ -s "$dir/journald.pid" ] || return 0
    pid=$(cat "$dir/journald.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$dir/journald.pid"
}

SELFTEST_DIR=
selftest() {
    local out
    SELFTEST_DIR=$(mktemp -d /tmp/swjournal.XXXXXX)
    trap 'stop "$SELFTEST_DIR"; rm -rf "$SELFTEST_DIR"' EXIT
    start "$SELFTEST_DIR" >/dev/null
    "$0" exec "$SELFTEST_DIR" logger -t kamailio "journal.sh selftest $$"
    for _ in $(seq 50); do
        out=$("$0" exec "$SELFTEST_DIR" journalctl -q -o cat -t kamailio 2>/dev/null || true)
        if grep -qF "journal.sh selftest $$" <<<"$out"; then
            [ -e /run/systemd/journal ] && die "selftest: /run/systemd/journal appeared in the root namespace"
            echo "selftest: ok (syslog -> private journald -> journalctl; root namespace untouched)"
            return 0
        fi
        sleep 0.1
    done
    die "selftest: the message did not reach the journal"
}

case "${1:-}" in
    __inner) inner "$2" ;;
    start) start "${2:?usage: $0 start DIR}" ;;
    stop) stop "${2:?usage: $0 stop DIR}" ;;
    exec)
        dir=${2:?usage: $0 exec DIR CMD...}; shift 2
        exec nsenter -m -t "$(pid_of "$dir")" -- "$@" ;;
    selftest) selftest ;;
    *) sed -n '3,18p' "$0" >&2; exit 2 ;;
esac
