#!/usr/bin/env bash
# Installs what sipwarden needs to build, run and test on Debian 12 (idempotent; root).
# Package scripts are kept from starting daemons (kamailio, fail2ban) in the root
# namespace: the tests start their own copies inside network namespaces.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "install-deps.sh: run as root" >&2; exit 1; }

# build + run (libnftables; libnetfilter-queue and iptables-nft for inline mode); network
# namespaces for tests; the real PBX, the attacker and SIPp (the registration storm); the fail2ban baseline; python3 for the
# lab's tools and clients; libsystemd for the journal source, and journald plus
# journal-remote so the tests can write real journal files and run a private journald; postfix, the real
# MTA the outbox delivers abuse reports through (integration/outbox: "Local only", started by the suite itself);
# openssl, which the SMTP STARTTLS tests use to make a throwaway certificate
PKGS=(
  pkg-config libnftables-dev nftables libsqlite3-dev libsystemd-dev zlib1g-dev
  libnetfilter-queue-dev iptables linux-libc-dev
  iproute2 iputils-ping procps python3 curl
  kamailio sipvicious sip-tester
  fail2ban python3-pyinotify tcpdump
  systemd systemd-journal-remote
  postfix openssl
)

POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY"; chmod 755 "$POLICY"; created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$POLICY"; true' EXIT

missing=()
for p in "${PKGS[@]}"; do
  [[ $p == \#* ]] && continue
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  echo "postfix postfix/mailname string localhost" | debconf-set-selections
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi
# The Prometheus text-format parser, for the /metrics checks (integration/api/check-metrics.py),
# into the python3 on PATH (PyPI; Debian's python3-prometheus-client when pip is absent).
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  if python3 -m pip --version >/dev/null 2>&1; then
    python3 -m pip install -q prometheus-client
  else
    apt-get -o DPkg::Lock::Timeout=600 update -q
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends python3-prometheus-client
  fi
fi
# PyPI: schemathesis checks the control plane's OpenAPI document against a live daemon
# (integration/api/run.sh); pinned, for the pyenv or system Python 3.11.
SCHEMATHESIS=schemathesis==4.32.5
if ! grep -qx "Version: ${SCHEMATHESIS#*==}" <<<"$(python3 -m pip show schemathesis 2>/dev/null)"; then
  python3 -m pip install -q --disable-pip-version-check "$SCHEMATHESIS" \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages "$SCHEMATHESIS"
  missing+=("$SCHEMATHESIS")
fi
# PyPI: python-jsonschema validates the XARF v4 abuse reports against the official
# schemas in ../shared/corpus/xarf (Tests/AbuseTests, integration/xarf/validate.py).
if ! python3 -c 'import jsonschema, referencing' 2>/dev/null; then
  python3 -m pip install -q --disable-pip-version-check 'jsonschema>=4.18' \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages 'jsonschema>=4.18'
  missing+=(jsonschema)
fi
echo "install-deps: ok (${#missing[@]} installed)"
