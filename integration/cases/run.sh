#!/usr/bin/env bash
# The case service end to end in the attack lab (issue 11's "done means"): Kamailio with the
# lab's configuration, sipwarden reading its log, Debian's postfix delivering into local
# Maildirs, a local RDAP server serving four registries' recorded answers
# (../shared/corpus/rdap, their mailboxes pointed at local ones), and sipvicious' svcrack
# attacking from four networks, each a scripted provider:
#   A (RIPE's SWITCH answer)        acknowledges with a ticket number; its attacker stops:
#                                   `mitigated`, with the ticket.
#   B (ARIN's Microsoft answer)     stays silent while its attacker keeps sending into the
#                                   ban (the ban set's per-element counter): `overdue`, then
#                                   `escalated` step by step (next contact — an upstream the
#                                   operator added by hand —, national CERT, law enforcement)
#                                   with the evidence pack on disk.
#   C (RIPE's BT answer)            its abuse mailbox does not exist: postfix's DSN lands in
#                                   sipwarden's Maildir and the case moves to the next
#                                   contact, which gets the report.
#   D (ARIN's IPv6 Cloudflare)      an IPv6 attacker (the lab's user agent with wrong
#                                   passwords: svcrack -6 writes the IPv6 address in Via
#                                   without brackets, which Kamailio refuses); reported,
#                                   then mitigated.
# Review mode: nothing leaves before `cases approve`; the daemon is killed with SIGKILL in
# the middle of a hand-over (a slow sendmail) and restarted: every report arrives exactly
# once. The provider scorecard shows each network as it behaved. Deadlines are seconds;
# about 90 s in all.
# Usage: integration/cases/run.sh PATH/TO/sipwarden. Ends with "N passed, N failed".
# Needs root, nftables, kamailio, sipvicious and postfix (scripts/install-deps.sh); stops
# everything it started, by PID.
set -uo pipefail
source "$(dirname "$0")/../lib/postfix.sh"
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
HERE=$(cd "$(dirname "$0")" && pwd)
E2E=$(cd "$HERE/../e2e" && pwd)
CORPUS=$(readlink -f "$HERE/../../../shared/corpus/rdap")
NS=cases-d-$$
PEER=cases-a-$$
DIR=$(mktemp -d /tmp/swcases.XXXXXX)
STATE=$DIR/state
KLOG=$DIR/kamailio.log
MAILLOG=/var/log/postfix-cases.log
USERS=(swcases-a swcases-b swcases-u swcases-c swcases-d swcases-r)
PBX=198.19.250.1 PBX6=2001:2:0:250::1
SRC_A=198.19.251.10 SRC_B=198.19.252.10 SRC_C=198.19.253.10 SRC_D=2001:2:0:250::10
PORT=8444
pass=0; fail=0; server=; daemon=; sender=; kamailio=
stop_daemon() { [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null; daemon=; }
cleanup() {
  stop_daemon
  for p in $sender $server $kamailio; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  postfix_stop "$NS" "${USERS[@]}"
  ip netns del "$NS" 2>/dev/null; ip netns del "$PEER" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT
check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$DIR/out" 2>"$DIR/err"; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$DIR/out" "$DIR/err" | head -20; fi
}
for tool in postfix kamailio svcrack; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (scripts/install-deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done
T0=$(date +%s)

# Two namespaces on a veth: the PBX's (Kamailio, sipwarden, postfix, the RDAP stand-in)
# and the attackers' (one address in each of three networks, and one IPv6 address).
ip netns add "$NS"; ip netns add "$PEER"
ip -n "$NS" link set lo up; ip -n "$PEER" link set lo up
ip link add cases-d$$ netns "$NS" type veth peer name cases-a$$ netns "$PEER"
ip -n "$NS" addr add $PBX/16 dev cases-d$$; ip -n "$NS" addr add $PBX6/64 dev cases-d$$ nodad
for a in $SRC_A $SRC_B $SRC_C; do ip -n "$PEER" addr add "$a/16" dev cases-a$$; done
ip -n "$PEER" addr add $SRC_D/64 dev cases-a$$ nodad
ip -n "$NS" link set cases-d$$ up; ip -n "$PEER" link set cases-a$$ up
in_ns() { ip netns exec "$NS" "$@"; }

# Kamailio: the lab's configuration, on this suite's addresses, its own subscriber table.
mkdir -p "$DIR/dbtext"; cp "$E2E/conf/dbtext/"* "$DIR/dbtext/"
KAM=(kamailio -f "$E2E/conf/kamailio.cfg" -A "SWLAB_IP=\"$PBX\"" -A "SWLAB_DB=\"text://$DIR/dbtext\""
  -l "udp:$PBX:5060" -l "udp:[$PBX6]:5060" -Y "$DIR" -m 64 -M 8)
in_ns "${KAM[@]}" -c > "$DIR/kamcheck.log" 2>&1 || { cat "$DIR/kamcheck.log"; echo "0 passed, 1 failed"; exit 1; }
ip netns exec "$NS" "${KAM[@]}" -DD -E -P "$DIR/kamailio.pid" < /dev/null >> "$KLOG" 2>&1 &
kamailio=$!
kamailio_up() { for _ in $(seq 100); do in_ns ss -lun | grep -qF "[$PBX6]:5060" && return 0; sleep 0.05; done; return 1; }
check "Kamailio listens on $PBX and [$PBX6]" kamailio_up

# postfix: local delivery for the networks' abuse desks (net-a … net-d.test; net-b's
# upstream swcases-u) and for the reporter (swcases-r@op.test), whose Maildir
# is sipwarden's inbox.
postfix_start "$NS" "$MAILLOG" "localhost net-a.test net-b.test net-c.test net-d.test op.test" "${USERS[@]}"

# The RDAP stand-in: IANA's bootstrap with each attacker's network given to a registry
# here, and that registry's recorded answer for it, its mailboxes made local.
W=$DIR/www; mkdir -p "$W/iana" "$W/ripe/ip" "$W/arin/ip"
python3 - "$CORPUS" "$W" "$PORT" "$SRC_A" "$SRC_B" "$SRC_C" "$SRC_D" <<'PY'
import json, re, sys
corpus, www, port, a, b, c, d = sys.argv[1:]
base = lambda r: [f"http://127.0.0.1:{port}/{r}/"]
extra = {"ipv4": [(a, "ripe"), (b, "arin"), (c, "ripe")], "ipv6": [(d, "arin")]}
for f in ("ipv4", "ipv6", "asn"):
    doc = json.load(open(f"{corpus}/iana-bootstrap-{f}.json"))
    for addr, registry in extra.get(f, []):
        net = addr.rsplit(".", 1)[0] + ".0/24" if f == "ipv4" else "2001:2:0:250::/64"
        doc["services"].append([[net], base(registry)])
    json.dump(doc, open(f"{www}/iana/{f}.json", "w"))
def serve(registry, addr, recorded, mapping):
    text = open(f"{corpus}/{recorded}").read()
    for pattern, box in mapping:
        text = re.sub(pattern, box, text)
    open(f"{www}/{registry}/ip/{addr}", "w").write(text)
serve("ripe", a, "ripe-ip-130.59.0.0-switch.json", [(r"abuse@switch\.ch", "swcases-a@net-a.test")])
serve("arin", b, "arin-ip-13.64.0.0-microsoft.json", [(r"[A-Za-z0-9.]+@microsoft\.com", "swcases-b@net-b.test")])
# C: the abuse role's first mailbox does not exist; its second (the next contact) does.
serve("ripe", c, "ripe-ip-62.239.237.1-bt-ipwhois2015.json",
      [(r"zzdnsr@bt\.com", "nobody-here@net-c.test"), (r"[a-z.-]+@bt\.com", "swcases-c@net-c.test")])
serve("arin", d, "arin-ip6-2606.4700.4700..1111-cloudflare.json", [(r"[a-z]+@cloudflare\.com", "swcases-d@net-d.test")])
PY
ip netns exec "$NS" python3 "$HERE/../abuse/rdap_server.py" "$W" "$PORT" > /dev/null 2>"$DIR/rdap.log" &
server=$!

# A sendmail that takes its time (1.5 s) before it is postfix's: the SIGKILL below lands
# in the middle of a hand-over, not only between them. Each hand-over leaves a mark.
SLOW=$DIR/bin/sendmail; mkdir -p "$DIR/bin"
printf '#!/bin/sh\ntouch "%s/handover.$$"\nsleep 1.5\nexec /usr/sbin/sendmail "$@"\n' "$DIR" > "$SLOW"; chmod 755 "$SLOW"

cat > "$DIR/sipwarden.yaml" <<YAML
state: $STATE
logs: [kamailio:$KLOG]
firewall: nftables
nftables: { table: cases_t$$ }
flood-guard: off
detection: { max-retry: 3, find-time: 60s, ban-time: 10m }
abuse:
  mode: review
  escalate: auto
  reporter: swcases-r@op.test
  maildir: /home/swcases-r/Maildir
  organisation: sipwarden integration test
  rdap-bootstrap: http://127.0.0.1:$PORT/iana/
  transport: sendmail
  sendmail: $SLOW
  postfix-log: $MAILLOG
  acknowledge-within: 40s
  mitigate-within: 14s
  quiet-time: 9s
  counter-interval: 1s
  tick: 1s
  group-within: 1s
YAML
install -d -o swcases-r -m 0700 /home/swcases-r/Maildir /home/swcases-r/Maildir/new /home/swcases-r/Maildir/cur /home/swcases-r/Maildir/tmp
start_daemon() {
  ip netns exec "$NS" "$BIN" run --config "$DIR/sipwarden.yaml" 2>> "$DIR/daemon.err" &
  daemon=$!
  for _ in $(seq 150); do [ "$(grep -c 'sipwarden ready' "$DIR/daemon.err")" -ge "$1" ] && return 0; sleep 0.1; done
  return 1
}
check "the daemon starts with the case service" start_daemon 1

# The attacks: svcrack against account 100 with a wordlist, one network after the other;
# each stops when it gets no answer (sipwarden banned it).
seq -f 'guess%04g' 1 40 > "$DIR/words"
attack() { # source
  mkdir -p "$DIR/sv/$1"
  HOME="$DIR/sv/$1" timeout 20 ip netns exec "$PEER" python3 "$E2E/tools/sv-bind.py" svcrack -u 100 -d "$DIR/words" \
    -b "$1" -t 0.05 --maximumtime 3 "$PBX" > "$DIR/sv/$1.out" 2>&1
}
attack6() { # source: registrations with a wrong password, bounded (8, 10 s)
  timeout 20 ip netns exec "$PEER" python3 "$E2E/legit-client.py" --server $PBX6 --bind "$1" --user 100 --password wrong-guess \
    --count 8 --interval 0.1 --max-seconds 10 --txn-timeout 1 > "$DIR/sv/$1.out" 2>&1
}
cli() { in_ns "$BIN" "$@" --config "$DIR/sipwarden.yaml"; }
banned() { local sets; sets=$(in_ns nft list table inet "cases_t$$" 2>/dev/null); grep -qF "$1" <<< "$sets"; }
attack $SRC_A; attack $SRC_B; attack $SRC_C; attack6 $SRC_D
check "the attackers' failures reached Kamailio's log from all four" \
  bash -c "for s in $SRC_A $SRC_B $SRC_C $SRC_D; do grep -q \"event=auth_failed.*src=\$s \" '$KLOG' || { echo \"none from \$s\"; exit 1; }; done"
for s in $SRC_A $SRC_B $SRC_C $SRC_D; do check "the attacker $s banned in the kernel" banned "$s"; done

cases_json() { cli cases list --json --all; }
case_of() { cases_json | python3 -c "import json,sys; print(next(d['id'] for d in map(json.loads, sys.stdin) if '$1' in d['sources']))"; }
state_of() { cases_json | python3 -c "import json,sys; print(next(d['state'] for d in map(json.loads, sys.stdin) if '$1' in d['sources']))"; }
wait_state() { # address state seconds
  for _ in $(seq $(($3 * 5))); do [ "$(state_of "$1" 2>/dev/null)" = "$2" ] && return 0; sleep 0.2; done
  echo "state of $1: $(state_of "$1")"; return 1
}
for s in $SRC_A $SRC_B $SRC_C $SRC_D; do check "a case of its own for $s, held for review" wait_state "$s" review 20; done
A=$(case_of $SRC_A); B=$(case_of $SRC_B); C=$(case_of $SRC_C); D=$(case_of $SRC_D)
contact_found() { cli cases show "$A" | grep -q 'swcases-a@net-a.test'; }
check "the abuse contact came from the RDAP answer" contact_found
xarf_ok() {
  cli report render "$A" --format xarf | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d['source_identifier'] == '$SRC_A' and d['source_port'] > 0, d
assert d['report']['attempts'] >= 3 if 'attempts' in d.get('report', {}) else True, d"
}
check "report render --format xarf: the case's XARF report (source and its port)" xarf_ok
mime_ok() { local m; m=$(cli report render "$A" --format mime) || return 1
  grep -q "^Message-ID: <sipwarden.$A.1@op.test>" <<< "$m" && grep -q 'multipart/report; report-type="xarf"' <<< "$m"; }
check "report render --format mime: the message as it will leave (its Message-ID)" mime_ok
sleep 1
nothing_yet() { local u; for u in swcases-a swcases-b swcases-c swcases-d; do [ -z "$(maildir_message_ids $u)" ] || return 1; done; }
check "nothing is sent before approval" nothing_yet

# B's attacker keeps sending into its ban (bounded: at most 200 REGISTERs, 100 s).
ip netns exec "$PEER" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("'$SRC_B'", 5062))
for i in range(200):
    s.sendto(b"REGISTER sip:198.19.250.1 SIP/2.0\r\nCall-ID: %d\r\n\r\n" % i, ("198.19.250.1", 5060)); time.sleep(0.5)' &
sender=$!

for id in "$A" "$B" "$C" "$D"; do check "cases approve ${id:0:8}" cli cases approve "$id"; done
# SIGKILL in the middle of a hand-over the approval started, then a restart.
for _ in $(seq 100); do compgen -G "$DIR/handover.*" > /dev/null && break; sleep 0.05; done
sleep 0.3
kill -9 "$daemon"; wait "$daemon" 2>/dev/null; daemon=
check "the daemon restarts after SIGKILL" start_daemon 2
recovered() { for _ in $(seq 50); do grep -q 'interrupted hand-over resolved' "$DIR/daemon.err" && break; sleep 0.2; done
  grep 'interrupted hand-over resolved' "$DIR/daemon.err"; }
check "the SIGKILL interrupted a hand-over; the restart resolved it" recovered
arrived() { # user: a report arrived (waits up to 20 s)
  for _ in $(seq 100); do [ -n "$(maildir_message_ids "$1")" ] && return 0; sleep 0.2; done; return 1
}
# A acknowledges with a ticket as soon as its report arrives, mailed to the reporter:
# postfix delivers it into sipwarden's Maildir.
check "A's abuse desk got its report" arrived swcases-a
MID=$(maildir_message_ids swcases-a | head -1 | sed 's/^[Mm]essage-[Ii][Dd]: *//')
printf 'From: swcases-a@net-a.test\nTo: swcases-r@op.test\nSubject: [Ticket#2026120312345] Re: abuse report\nMessage-ID: <ack-%s@net-a.test>\nIn-Reply-To: %s\nAuto-Submitted: auto-replied\n\nThank you. Your report has been assigned ticket number 2026120312345.\n' \
  "$$" "$MID" | in_ns /usr/sbin/sendmail -i -f swcases-a@net-a.test -- swcases-r@op.test
# B's registry names no contact beyond its abuse desk: the operator adds its upstream by hand.
check "cases contacts --add: B's upstream added by hand" cli cases contacts "$B" --add swcases-u@net-b.test
once() { # user: exactly one report arrived (waits up to 20 s; then 2 s for a duplicate)
  arrived "$1"; sleep 2
  local ids; ids=$(maildir_message_ids "$1"); echo "$ids"
  [ "$(echo "$ids" | grep -c .)" = 1 ]
}
check "A's abuse desk got its report exactly once" once swcases-a
check "B's abuse desk got its report exactly once" once swcases-b
check "D's abuse desk (IPv6 source) got its report exactly once" once swcases-d
check "C's next contact got the report after the bounce, exactly once" once swcases-c
bounced() { cli cases show "$C" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["bounces"]==1 and d["current_contact"]==1, d'; }
check "C: the bounce is recorded; the case moved to the next contact" bounced
redacted() { # the report names the source and its port, never this host's address
  local f; f=$(grep -l -r 'Message-ID' /home/swcases-b/Maildir/new | head -1)
  python3 - "$f" "$SRC_B" <<'PY'
import email, re, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
text = "".join(p.get_payload(decode=True).decode("utf-8", "replace") for p in m.walk() if not p.is_multipart())
print(text[:600])
assert re.search(re.escape(sys.argv[2]) + r" \(source port [0-9]+\)", text), "source or port missing"
assert not re.search(r"198\.19\.250\.1(?![0-9])", text), "this host's address leaked"
assert '"100"' not in text and "[redacted]" in text, "the real account svcrack tried leaked"
PY
}
check "the delivered report names the source and port; this host's address and the real account tried are redacted" redacted
history_has() { # case state: the case passed through the state
  cli cases show "$1" --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert any(h['state']=='$2' for h in d['history']), d['history']"
}
check "A: its attacker stopped: mitigated" wait_state $SRC_A mitigated 30
check "A: the answer was matched to its case: acknowledged first" history_has "$A" acknowledged
ticket() { cli cases show "$A" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ticket"]=="2026120312345", d["ticket"]'; }
check "A: with its ticket number" ticket
check "C: its attacker stopped too: mitigated" wait_state $SRC_C mitigated 20
check "D: mitigated" wait_state $SRC_D mitigated 20
sending() { cli cases show "$B" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"] in ("sent", "overdue", "escalated") and d["last_traffic"] > d["reported"], d'; }
check "B: its attacker keeps sending into the ban: traffic after the report, not mitigated" sending
# B, silent while its attacker goes on: overdue, then up the ladder (escalate: auto) step
# by step, each after the mitigation deadline passed again.
escalated_to() { # step seconds
  for _ in $(seq $(($2 * 5))); do
    cli cases show "$B" --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['state']=='escalated' and '$1' in d['escalations'], d" 2>/dev/null && return 0
    sleep 0.2
  done
  cli cases show "$B" --json; return 1
}
check "B: overdue, then escalated to the next contact" escalated_to next-contact 30
check "B: was overdue first" history_has "$B" overdue
nothing_to_u() { sleep 1; [ -z "$(maildir_message_ids swcases-u)" ]; }
check "B: the escalation's report waits for approval (review mode)" nothing_to_u
check "B: the escalation approved" cli cases approve "$B"
check "B's upstream (the contact added by hand) got the report exactly once" once swcases-u
check "B: still sending: escalated to the national CERT" escalated_to national-cert 30
check "B: still sending: escalated to law enforcement" escalated_to law-enforcement 30
pack_on_disk() {
  local p; p=$(find "$STATE/cases" -type d -name evidence-pack | head -1)
  [ -n "$p" ] && [ -s "$p/README.txt" ] || { ls -R "$STATE/cases"; return 1; }
  (cd "$p" && sha256sum -c --quiet SHA256SUMS) && grep -rqE "udp $SRC_B:[0-9]+ auth_failed .*kamailio.log:[0-9]+" "$p/evidence" && echo "$p"
}
check "B: the evidence pack is on disk: its SHA256SUMS check, Kamailio's failures in it" pack_on_disk
notice() { grep 'evidence pack for law enforcement written' "$DIR/daemon.err"; }
check "B: the operator was told" notice

# The scorecard: each network as it behaved.
providers() {
  cli providers --json | python3 -c '
import json, sys
rows = {r.get("organisation"): r for r in map(json.loads, sys.stdin)}
print(json.dumps(rows, indent=1))
assert len(rows) == 4 and all(r["cases"] == 1 and r["reported"] == 1 for r in rows.values()), rows
a, b, c = rows["SWITCH-LAN"], rows["MSFT"], rows["BT-CORPORATE"]
assert a["acknowledged"] == 1 and a["bounced"] == 0 and a["overdue_now"] == 0 and a.get("median_seconds_until_stopped") is not None, a
assert b["acknowledged"] == 0 and b["overdue_now"] == 1 and b.get("never_acted_share") == 1, b
assert c["bounced"] == 1 and c["acknowledged"] == 0 and c["overdue_now"] == 0, c'
}
check "providers: A acknowledged and stopped, B never acted and is overdue, C bounced" providers

echo "     $(($(date +%s) - T0)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
