#!/usr/bin/env bash
# `sipwarden abuse contact` against recorded RDAP answers of the five registries
# (../shared/corpus/rdap), served by a local stand-in for IANA and the registries
# (rdap_server.py) inside a throwaway network namespace: nothing reaches the internet.
# Usage: integration/abuse/run.sh PATH/TO/sipwarden. Ends with "N passed, N failed".
set -uo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sipwarden}")
HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$(readlink -f "$HERE/../../../shared/corpus/rdap")
NS=swabuse-$$
DIR=$(mktemp -d /tmp/swabuse.XXXXXX)
PORT=8443
pass=0; fail=0; server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; ip netns del "$NS" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
check() { # name, then a command that must succeed
  local name=$1; shift
  if "$@" >"$DIR/out" 2>"$DIR/err"; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     | /' "$DIR/out" "$DIR/err" | head -20; fi
}

# The served tree: IANA's bootstrap files with each registry's base URL pointed here, and
# the registries' answers at the paths a client asks for.
W=$DIR/www; mkdir -p "$W/iana" "$W/arin/ip" "$W/apnic/ip" "$W/ripe/ip" "$W/lacnic/ip" "$W/afrinic/ip"
for f in ipv4 ipv6 asn; do
  sed -e "s#https://rdap.arin.net/registry/#http://127.0.0.1:$PORT/arin/#g" \
      -e "s#https://rdap.apnic.net/#http://127.0.0.1:$PORT/apnic/#g" \
      -e "s#https://rdap.db.ripe.net/#http://127.0.0.1:$PORT/ripe/#g" \
      -e "s#https://rdap.lacnic.net/rdap/#http://127.0.0.1:$PORT/lacnic/#g" \
      -e "s#https://rdap.afrinic.net/rdap/#http://127.0.0.1:$PORT/afrinic/#g" \
      -e 's#"http://rdap[^"]*"##g; s#, *\]#]#g; s#\[ *, *#[#g' \
      "$CORPUS/iana-bootstrap-$f.json" > "$W/iana/$f.json"
done
cp "$CORPUS/arin-ip6-2606.4700.4700..1111-cloudflare.json" "$W/arin/ip/2606:4700:4700::1111"
cp "$CORPUS/apnic-ip-1.1.1.1-apnic-labs-cloudflare.json" "$W/apnic/ip/1.1.1.1"
cp "$CORPUS/ripe-ip-130.59.0.0-switch.json" "$W/ripe/ip/130.59.31.80"
cp "$CORPUS/lacnic-ip-200.3.12.0-lacnic.json" "$W/lacnic/ip/200.3.12.1"
cp "$CORPUS/afrinic-ip-196.11.240.215-mtn-ipwhois2015.json" "$W/afrinic/ip/196.11.240.215"
# 130/8 is ARIN's in the bootstrap; ARIN redirects to RIPE for SWITCH's legacy block.
echo "/arin/ip/130.59.31.80 http://127.0.0.1:$PORT/ripe/ip/130.59.31.80" > "$W/redirects.txt"

# Not through in_ns: a function would run in a subshell, and $! would be that subshell, not the server.
ip netns exec "$NS" python3 "$HERE/rdap_server.py" "$W" "$PORT" 2>"$DIR/server.log" &
server=$!
for _ in $(seq 50); do in_ns python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break; sleep 0.1; done

STATE=$DIR/state
contact() { in_ns "$BIN" abuse contact --state "$STATE" --rdap-bootstrap "http://127.0.0.1:$PORT/iana/" "$@"; }
# has ADDRESS KEY=VALUE...: the JSON answer for ADDRESS has these members.
has() {
  local address=$1; shift
  contact --json "$address" > "$DIR/answer" || return 1
  python3 - "$DIR/answer" "$@" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
bad = [kv for kv in sys.argv[2:] if json.dumps(d.get(kv.split("=", 1)[0]), separators=(",", ":")) != kv.split("=", 1)[1]]
print(d)
sys.exit(1 if bad else 0)
PY
}
exits() { local want=$1; shift; "$@"; [ "$?" = "$want" ]; }

check "ARIN: the abuse entity listed twice gives abuse@cloudflare.com once" \
  has 2606:4700:4700::1111 'email="abuse@cloudflare.com"' 'alternatives=[]' 'registry="arin"' 'source="network-abuse-role"'
check "APNIC: the same mailbox twice, one with pref: helpdesk@apnic.net once" has 1.1.1.1 'email="helpdesk@apnic.net"' 'alternatives=[]'
check "RIPE, reached through ARIN's redirect: abuse@switch.ch" has 130.59.31.80 'email="abuse@switch.ch"' 'registry="ripe"'
check "LACNIC: one entity with every role, origin AS 28001" has 200.3.12.1 'email="ipadmin@lacnic.net"' 'asn=28001'
no_contact() { contact "$1" 2>"$DIR/why"; local s=$?; cat "$DIR/why" >&2; [ "$s" = 1 ] && grep -q "no abuse contact for $1" "$DIR/why"; }
check "AFRINIC without roles and without an origin AS: no contact, exit 1, says why" no_contact 196.11.240.215
check "an address no registry holds: exit 1" exits 1 contact 10.1.2.3
check "not an address: usage error, exit 2" exits 2 contact not-an-ip
check "contacts are cached in STATE/abuse/contacts.json" test -s "$STATE/abuse/contacts.json"
kill "$server"; wait "$server" 2>/dev/null; server=
check "with the registries gone, a cached contact is still answered" has 1.1.1.1 'email="helpdesk@apnic.net"'
check "and an uncached one fails cleanly (exit 1)" exits 1 contact 200.3.12.2

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
