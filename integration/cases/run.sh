#!/usr/bin/env bash
# The case service end to end (issue 11): a real daemon in a throwaway namespace bans four
# sources (three IPv4, one IPv6) from Kamailio log lines; its `cases` service opens a case
# for each, finds the abuse contact through a local RDAP stand-in serving the recorded RIPE
# answer of ../shared/corpus/rdap (its mailboxes pointed at local ones), holds the reports
# for review, and after `cases approve` hands them to a real postfix that delivers them
# into local Maildirs. The daemon is killed with SIGKILL in the middle of a hand-over (a
# slow sendmail) and restarted: each report arrives exactly once. One network's first
# mailbox does not exist: postfix's DSN lands in the reporter's Maildir (sipwarden's inbox)
# and the case moves to the next contact. An acknowledgement mailed through postfix is
# matched to its case (ticket taken); the source that stops is `mitigated`, the one that
# keeps sending into its ban (the ban set's per-element counter) is not, and goes
# `overdue`. Deadlines are seconds; about a minute in all.
# Usage: integration/cases/run.sh PATH/TO/sipwarden. Ends with "N passed, N failed".
# Needs root, nftables and postfix (scripts/install-deps.sh); stops the postfix it started.
set -uo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$(readlink -f "$HERE/../../../shared/corpus/rdap")
NS=cases-d-$$
PEER=cases-a-$$
DIR=$(mktemp -d /tmp/swcases.XXXXXX)
STATE=$DIR/state
LOG=$DIR/kamailio.log
MAILLOG=/var/log/postfix-cases.log
USERS=(swcases-a swcases-b swcases-c swcases-d swcases-r)
PORT=8444
pass=0; fail=0; server=; daemon=; sender=
stop_daemon() { [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null; daemon=; }
cleanup() {
  stop_daemon
  [ -n "$sender" ] && kill "$sender" 2>/dev/null && wait "$sender" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  ip netns exec "$NS" postfix stop >/dev/null 2>&1
  ip netns del "$NS" 2>/dev/null; ip netns del "$PEER" 2>/dev/null
  for u in "${USERS[@]}"; do userdel -r "$u" >/dev/null 2>&1; done
  [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT
check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$DIR/out" 2>"$DIR/err"; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$DIR/out" "$DIR/err" | head -20; fi
}
command -v postfix >/dev/null || { echo "FAIL postfix is not installed (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
postfix status >/dev/null 2>&1 && postfix stop >/dev/null 2>&1
T0=$(date +%s)

# Two namespaces on a veth: the daemon's (198.19.250.1) and the attackers' (.10, .11).
ip netns add "$NS"; ip netns add "$PEER"
ip -n "$NS" link set lo up; ip -n "$PEER" link set lo up
ip link add cases-d$$ netns "$NS" type veth peer name cases-a$$ netns "$PEER"
ip -n "$NS" addr add 198.19.250.1/24 dev cases-d$$; ip -n "$NS" addr add 2001:2:0:250::1/64 dev cases-d$$ nodad
for a in 10 11 12; do ip -n "$PEER" addr add 198.19.250.$a/24 dev cases-a$$; done
ip -n "$NS" link set cases-d$$ up; ip -n "$PEER" link set cases-a$$ up
in_ns() { ip netns exec "$NS" "$@"; }

# postfix: local delivery for three networks' abuse desks (net-a.test, net-b.test,
# net-c.test) and for the reporter (swcases-r@op.test), whose Maildir is sipwarden's inbox.
for u in "${USERS[@]}"; do id "$u" >/dev/null 2>&1 || useradd -m -s /usr/sbin/nologin "$u"; done
postconf -e "inet_interfaces = loopback-only" "inet_protocols = ipv4" "myhostname = localhost" \
  "mydestination = localhost, net-a.test, net-b.test, net-c.test, net-d.test, op.test" "home_mailbox = Maildir/" "maillog_file = $MAILLOG" \
  "default_transport = error" "relay_transport = error" "smtpd_banner = \$myhostname ESMTP"
: > "$MAILLOG"
newaliases
in_ns postfix start >/dev/null 2>&1

# The RDAP stand-in: IANA's bootstrap with 198.19.250.0/24 given to "RIPE" here, and RIPE's
# recorded answer for SWITCH as the answer for each source, its mailbox made local.
W=$DIR/www; mkdir -p "$W/iana" "$W/ripe/ip"
python3 - "$CORPUS" "$W" "$PORT" <<'PY'
import json, sys
corpus, www, port = sys.argv[1:]
for f in ("ipv4", "ipv6", "asn"):
    d = json.load(open(f"{corpus}/iana-bootstrap-{f}.json"))
    if f == "ipv4":
        d["services"].append([["198.19.250.0/24"], [f"http://127.0.0.1:{port}/ripe/"]])
    if f == "ipv6":
        d["services"].append([["2001:2:0:250::/64"], [f"http://127.0.0.1:{port}/ripe/"]])
    json.dump(d, open(f"{www}/iana/{f}.json", "w"))
answer = open(f"{corpus}/ripe-ip-130.59.0.0-switch.json").read()
for host, box in (("198.19.250.10", "swcases-a@net-a.test"), ("198.19.250.11", "swcases-b@net-b.test"), ("2001:2:0:250::10", "swcases-d@net-d.test")):
    open(f"{www}/ripe/ip/{host}", "w").write(answer.replace("abuse@switch.ch", box))
# The third network's abuse entity has two mailboxes: the `abuse`-typed one (tried first)
# does not exist, the other does (the next contact after the bounce).
first, rest = answer.split("abuse@switch.ch", 1)
open(f"{www}/ripe/ip/198.19.250.12", "w").write(first + "swcases-c@net-c.test" + rest.replace("abuse@switch.ch", "nobody-here@net-c.test"))
PY
ip netns exec "$NS" python3 "$HERE/../abuse/rdap_server.py" "$W" "$PORT" 2>"$DIR/rdap.log" &
server=$!

# A sendmail that takes its time (1.5 s) before it is postfix's: the SIGKILL below lands
# in the middle of a hand-over, not only between them.
SLOW=$DIR/bin/sendmail; mkdir -p "$DIR/bin"
printf '#!/bin/sh\nsleep 1.5\nexec /usr/sbin/sendmail "$@"\n' > "$SLOW"; chmod 755 "$SLOW"

cat > "$DIR/sipwarden.yaml" <<YAML
state: $STATE
logs: [kamailio:$LOG]
firewall: nftables
nftables: { table: cases_t$$ }
flood-guard: off
detection: { max-retry: 3, find-time: 60s, ban-time: 10m }
abuse:
  mode: review
  reporter: swcases-r@op.test
  maildir: /home/swcases-r/Maildir
  organisation: sipwarden integration test
  rdap-bootstrap: http://127.0.0.1:$PORT/iana/
  transport: sendmail
  sendmail: $SLOW
  postfix-log: $MAILLOG
  acknowledge-within: 30s
  mitigate-within: 40s
  quiet-time: 15s
  counter-interval: 1s
  tick: 1s
  group-within: 1s
YAML
touch "$LOG"
install -d -o swcases-r -m 0700 /home/swcases-r/Maildir /home/swcases-r/Maildir/new /home/swcases-r/Maildir/cur /home/swcases-r/Maildir/tmp
start_daemon() {
  ip netns exec "$NS" "$BIN" run --config "$DIR/sipwarden.yaml" 2>> "$DIR/daemon.err" &
  daemon=$!
  for _ in $(seq 150); do [ "$(grep -c 'sipwarden ready' "$DIR/daemon.err")" -ge "$1" ] && return 0; sleep 0.1; done
  return 1
}
check "the daemon starts with the case service" start_daemon 1
fail_line() { # address user
  printf 'x NOTICE: <script>: SIPWARDEN event=auth_failed ts=%s src=%s sport=5062 proto=udp method=REGISTER user="%s" ua="friendly-scanner"\n' \
    "$(date +%s.%6N)" "$1" "$2" >> "$LOG"
}
cli() { in_ns "$BIN" "$@" --config "$DIR/sipwarden.yaml"; }
cases_json() { cli cases list --json --all; }
case_of() { cases_json | python3 -c "import json,sys; print(next(d['id'] for d in map(json.loads, sys.stdin) if '$1' in d['sources']))"; }
state_of() { cases_json | python3 -c "import json,sys; print(next(d['state'] for d in map(json.loads, sys.stdin) if '$1' in d['sources']))"; }
wait_state() { # address state seconds
  for _ in $(seq $(($3 * 5))); do [ "$(state_of "$1" 2>/dev/null)" = "$2" ] && return 0; sleep 0.2; done
  echo "state of $1: $(state_of "$1")"; return 1
}
for u in 100 101 102; do fail_line 198.19.250.10 "$u"; done
sleep 1.5
for u in 100 101 102; do fail_line 198.19.250.11 "$u"; done
sleep 1.5
for u in 100 101 102; do fail_line 198.19.250.12 "$u"; done
for u in 100 101 102; do fail_line 2001:2:0:250::10 "$u"; done
check "a case for the first source, held for review" wait_state 198.19.250.10 review 15
check "a case of its own for the second" wait_state 198.19.250.11 review 15
check "and for the third" wait_state 198.19.250.12 review 15
check "and for an IPv6 source" wait_state 2001:2:0:250::10 review 15
A=$(case_of 198.19.250.10); B=$(case_of 198.19.250.11); C=$(case_of 198.19.250.12); D=$(case_of 2001:2:0:250::10)
contact_found() { cli cases show "$A" | grep -q 'swcases-a@net-a.test'; }
check "the abuse contact came from the RDAP answer" contact_found
xarf_ok() { cli report render "$A" --format xarf | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["source_identifier"]=="198.19.250.10" and d["source_port"]==5062, d'; }
check "report render --format xarf: the case's XARF report (source and port)" xarf_ok
text_ok() { cli report render "$A" --format text | grep -q '198.19.250.10'; }
check "report render --format text" text_ok
mime_ok() { local m; m=$(cli report render "$A" --format mime) || return 1
  grep -q "^Message-ID: <sipwarden.$A.1@op.test>" <<< "$m" && grep -q 'multipart/report; report-type="xarf"' <<< "$m"; }
check "report render --format mime: the message as it will leave (its Message-ID)" mime_ok
count_ids() { # user: Message-IDs in its Maildir, one a line
  find "/home/$1/Maildir/new" "/home/$1/Maildir/cur" -type f -exec grep -h -i -m1 '^Message-ID:' {} + 2>/dev/null | tr -d '\r' | sort
}
sleep 2
nothing_yet() { [ -z "$(count_ids swcases-a)$(count_ids swcases-b)" ]; }
check "nothing is sent before approval" nothing_yet

# The second source keeps sending into its ban (bounded: at most 150 packets, 75 s).
ip netns exec "$PEER" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.19.250.11", 5062))
for _ in range(150):
    s.sendto(b"OPTIONS sip:x@198.19.250.1 SIP/2.0\r\n\r\n", ("198.19.250.1", 5060)); time.sleep(0.5)' &
sender=$!

check "cases approve (first)" cli cases approve "$A"
check "cases approve (second)" cli cases approve "$B"
check "cases approve (third)" cli cases approve "$C"
check "cases approve (IPv6)" cli cases approve "$D"
# SIGKILL in the middle of the hand-overs the approval started, then a restart.
sleep 0.5
kill -9 "$daemon"; wait "$daemon" 2>/dev/null; daemon=
check "the daemon restarts after SIGKILL" start_daemon 2
recovered() { for _ in $(seq 50); do grep -q 'interrupted hand-over resolved' "$DIR/daemon.err" && break; sleep 0.2; done
  grep 'interrupted hand-over resolved' "$DIR/daemon.err"; }
check "the SIGKILL interrupted a hand-over; the restart resolved it" recovered
once() { # user: exactly one report arrived (waits up to 20 s; then 2 s for a duplicate)
  for _ in $(seq 100); do [ -n "$(count_ids "$1")" ] && break; sleep 0.2; done
  sleep 2
  local ids; ids=$(count_ids "$1"); echo "$ids"
  [ "$(echo "$ids" | grep -c .)" = 1 ]
}
check "the first network's desk got its report exactly once" once swcases-a
check "the second network's desk got its report exactly once" once swcases-b
check "the IPv6 source's network got its report exactly once" once swcases-d
check "first case: sent" wait_state 198.19.250.10 sent 15
# The third network's first mailbox bounces (postfix's DSN goes to the reporter's Maildir):
# the case moves to its next contact, whose report arrives exactly once.
check "the third network's second mailbox got the report after the bounce, exactly once" once swcases-c
bounced() { cli cases show "$C" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["bounces"]==1 and d["current_contact"]==1, d'; }
check "the bounce is recorded with the third case; it moved to the next contact" bounced
redacted() { # the report names the source and its port (text and evidence), never this host's address
  local f; f=$(grep -l -r 'Message-ID' /home/swcases-b/Maildir/new | head -1)
  python3 - "$f" <<'PY'
import email, re, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
text = "".join(p.get_payload(decode=True).decode("utf-8", "replace") for p in m.walk() if not p.is_multipart())
print(text[:600])
assert "198.19.250.11 (source port 5062)" in text and "198.19.250.11:5062" in text, "source or port missing"
assert not re.search(r"198\.19\.250\.1(?![0-9])", text), "this host's address leaked"
PY
}
check "the delivered report names the source and port; this host's address is redacted" redacted

# An acknowledgement with a ticket, mailed to the reporter: postfix delivers it into the Maildir.
MID=$(count_ids swcases-a | head -1 | sed 's/^[Mm]essage-[Ii][Dd]: *//')
printf 'From: swcases-a@net-a.test\nTo: swcases-r@op.test\nSubject: [Ticket#2026120312345] Re: abuse report\nMessage-ID: <ack-%s@net-a.test>\nIn-Reply-To: %s\nAuto-Submitted: auto-replied\n\nThank you. Your report has been assigned ticket number 2026120312345.\n' \
  "$$" "$MID" | in_ns /usr/sbin/sendmail -i -f swcases-a@net-a.test -- swcases-r@op.test
check "the answer is matched to its case: acknowledged" wait_state 198.19.250.10 acknowledged 10
ticket() { cli cases show "$A" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ticket"]=="2026120312345", d["ticket"]'; }
check "with its ticket" ticket
check "the source that stopped: mitigated" wait_state 198.19.250.10 mitigated 20
sending() { case "$(state_of 198.19.250.11)" in sent|overdue) ;; *) return 1;; esac && cli cases show "$B" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["last_traffic"] > d["reported"], d'; }
check "the source that keeps sending into its ban: not mitigated, traffic after the report" sending
check "and overdue once its deadline passed" wait_state 198.19.250.11 overdue 40
pack() { cli cases evidence "$B" --out "$DIR/pack" && (cd "$DIR/pack" && sha256sum -c --quiet SHA256SUMS); }
check "cases evidence: a pack whose SHA256SUMS checks" pack
providers() { cli providers --json | python3 -c 'import json,sys; rows=[json.loads(l) for l in sys.stdin]; assert sum(r["cases"] for r in rows)==4 and sum(r["acknowledged"] for r in rows)==1 and sum(r["bounced"] for r in rows)==1, rows'; }
check "providers: four cases, one acknowledged, one bounced" providers

echo "     $(($(date +%s) - T0)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
