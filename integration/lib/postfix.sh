# integration/lib/postfix.sh - Debian's postfix for the mail suites (sourced).
#
# postfix_start NS MAILLOG "DOMAINS" USER…: local delivery into ~/Maildir/ for each
#   USER (created as system-less login users) on the listed domains, nothing relayed
#   (default and relay transports are `error`), listening on 127.0.0.1 only, started
#   inside network namespace NS with its log in MAILLOG (truncated). A postfix left
#   running by an aborted earlier run is stopped first through its pid file.
# postfix_stop NS USER…: stops the postfix started in NS and removes the users.
# maildir_message_ids USER: the Message-IDs in USER's Maildir, one a line, sorted.
# Needs root and postfix (scripts/install-deps.sh).

postfix_start() {
    local ns=$1 maillog=$2 domains=$3 u
    shift 3
    postfix status >/dev/null 2>&1 && postfix stop >/dev/null 2>&1
    for u in "$@"; do id "$u" >/dev/null 2>&1 || useradd -m -s /usr/sbin/nologin "$u"; done
    postconf -e "inet_interfaces = loopback-only" "inet_protocols = ipv4" "myhostname = localhost" \
        "mydestination = localhost, ${domains// /, }" "home_mailbox = Maildir/" "maillog_file = $maillog" \
        "default_transport = error" "relay_transport = error" "smtpd_banner = \$myhostname ESMTP"
    : > "$maillog"
    newaliases
    ip netns exec "$ns" postfix start >/dev/null 2>&1
}

postfix_stop() {
    local ns=$1 u
    shift
    ip netns exec "$ns" postfix stop >/dev/null 2>&1
    for u in "$@"; do userdel -r "$u" >/dev/null 2>&1; done
    return 0
}

maildir_message_ids() {
    find "/home/$1/Maildir/new" "/home/$1/Maildir/cur" -type f -exec grep -h -i -m1 '^Message-ID:' {} + 2>/dev/null | tr -d '\r' | sort
}
