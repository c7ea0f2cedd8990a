#!/usr/bin/python3
"""analyze.py RUN_DIR - metrics of one lab run as key=value lines.

Reads from RUN_DIR (files that are missing are skipped):
  meta.env        key=value: attacker, client, maxretry, format (kamailio|asterisk),
                  t_attack_start, t_attack_end, defender
  kamailio.log    Kamailio's stderr: SIPWARDEN event=... ts=... src=... lines
  asterisk.log    the Asterisk-format log (format=asterisk)
  nftmon.txt      tsmon.py output of `nft monitor` in netns swlab-pbx
  legit.csv       legit-client.py rows
  attack.pcap     tcpdump -s 64 of udp/5060 from the attacker (before netfilter)
  defender.log    sipwarden's stderr or fail2ban's log

Keys (times in epoch seconds, durations in ms unless the name says _us):
  fails_total, fails_auth, fails_unknown     failure lines for the attacker
  attacker_register_ok                       SWLAB-REGISTER-OK lines from the attacker
  t_fail_maxretry                            ts= of the maxretry-th failure (kamailio format)
  banned, t_ban_nft                          attacker address added to an nft set (nft monitor read time)
  ban_latency_us                             t_ban_nft - t_fail_maxretry
  fails_before_ban, fails_after_ban          by Kamailio ts= (kamailio format)
  client_banned                              legit client's address ever added to a set
  att_requests, att_requests_before_ban, att_req_rate_per_s
  legit_attempts, legit_ok, legit_failed, legit_latency_ms_max, legit_retransmissions
  sw_latency_us                              sipwarden's own `ban ... latency_us=` for the attacker
  f2b_found_to_ban_ms ...                    fail2ban log timestamps (ms resolution)
"""
import re
import struct
import sys
from datetime import datetime
from pathlib import Path

KAM_RX = re.compile(rb'SIPWARDEN event=(auth_failed|unknown_user) ts=(\d+\.\d+) src=(\S+) ')
OK_RX = re.compile(rb'SWLAB-REGISTER-OK ts=(\d+\.\d+) src=(\S+) ')
AST_RX = re.compile(rb"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\] NOTICE\[\d+\] res_pjsip/pjsip_distributor\.c: "
                    rb"Request '[^']*' from '.*' failed for '([^']+)' \(callid: .*\) - "
                    rb"(Failed to authenticate|No matching endpoint found)$")


def read_meta(d):
    meta = {}
    p = d / 'meta.env'
    if p.exists():
        for line in p.read_text().splitlines():
            k, sep, v = line.partition('=')
            if sep and not line.startswith('#'):
                meta[k.strip()] = v.strip()
    return meta


def kam_failures(d, src):
    """[(ts, kind)] of SIPWARDEN failure lines for src, and the REGISTER-OK count"""
    fails, oks = [], 0
    p = d / 'kamailio.log'
    if not p.exists():
        return fails, oks
    want = src.encode()
    for line in p.read_bytes().splitlines():
        m = KAM_RX.search(line)
        if m and m.group(3) == want:
            fails.append((float(m.group(2)), m.group(1).decode()))
            continue
        m = OK_RX.search(line)
        if m and m.group(2) == want:
            oks += 1
    fails.sort()
    return fails, oks


def ast_failures(d, src):
    """[(time, kind)] of Asterisk-format failure lines for src (1 s resolution)"""
    out = []
    p = d / 'asterisk.log'
    if not p.exists():
        return out
    for line in p.read_bytes().splitlines():
        m = AST_RX.match(line)
        if not m:
            continue
        addr = m.group(2).decode('utf-8', 'replace').rsplit(':', 1)[0].strip('[]')
        if addr != src:
            continue
        t = datetime.strptime(m.group(1).decode(), '%Y-%m-%d %H:%M:%S').timestamp()
        out.append((t, 'auth_failed' if m.group(3).startswith(b'Failed') else 'unknown_user'))
    return out


def ban_time(d, addr):
    """first nft monitor 'add element' containing addr (read time) in a ban set, or None.
    The flood guard's own table (inet sipwarden_guard: suspects, meters) holds no bans."""
    p = d / 'nftmon.txt'
    if not p.exists():
        return None
    tok = re.compile(r'[{ ,]' + re.escape(addr) + r'(?=[ ,}/])')
    for line in p.read_text(errors='replace').splitlines():
        ts, _, body = line.partition(' ')
        if body.startswith('add element') and not body.startswith('add element inet sipwarden_guard ') and tok.search(body):
            try:
                return float(ts)
            except ValueError:
                continue
    return None


def pcap_requests(path, src):
    """timestamps of UDP packets from src to port 5060 (ethernet/IPv4 pcap)"""
    out = []
    if not path.exists():
        return out
    data = path.read_bytes()
    if len(data) < 24:
        return out
    magic = data[:4]
    if magic == b'\xd4\xc3\xb2\xa1':
        end, scale = '<', 1e-6
    elif magic == b'\x4d\x3c\xb2\xa1':
        end, scale = '<', 1e-9
    elif magic == b'\xa1\xb2\xc3\xd4':
        end, scale = '>', 1e-6
    else:
        return out
    if struct.unpack(end + 'I', data[20:24])[0] != 1:   # LINKTYPE_ETHERNET only
        return out
    want = bytes(int(x) for x in src.split('.'))
    off, n = 24, len(data)
    while off + 16 <= n:
        sec, frac, incl, _ = struct.unpack(end + 'IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 14 + 20 + 8 or pkt[12:14] != b'\x08\x00':
            continue
        ip = pkt[14:]
        if ip[9] != 17 or ip[12:16] != want:
            continue
        ihl = (ip[0] & 0x0f) * 4
        if len(ip) < ihl + 4 or struct.unpack('!H', ip[ihl + 2:ihl + 4])[0] != 5060:
            continue
        out.append(sec + frac * scale)
    return out


def legit_rows(d):
    rows = []
    p = d / 'legit.csv'
    if not p.exists():
        return rows
    for line in p.read_text().splitlines()[1:]:
        f = line.split(',')
        if len(f) >= 6:
            try:
                rows.append((float(f[0]), float(f[1]), float(f[2]), f[3], int(f[5])))
            except ValueError:
                continue
    return rows


def sw_latency(d, src):
    """sipwarden's own 'ban ... <src> ... latency_us=N' (first), or None"""
    p = d / 'defender.log'
    if not p.exists():
        return None
    ban = re.compile(r'\bban (?:' + re.escape(src) + r')(?![\d.])')
    lat = re.compile(r'\blatency_us=(\d+)')
    for line in p.read_text(errors='replace').splitlines():
        m = lat.search(line)
        if m and ban.search(line):
            return int(m.group(1))
    return None


def f2b_times(d, src):
    p = d / 'defender.log'
    found, ban = [], None
    if not p.exists():
        return found, ban
    rx = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*?\] (Found|Ban) ' + re.escape(src) + r'(?![\d.])')
    for line in p.read_text(errors='replace').splitlines():
        m = rx.search(line)
        if not m:
            continue
        t = datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S').timestamp() + int(m.group(2)) / 1000
        if m.group(3) == 'Found':
            found.append(t)
        elif ban is None:
            ban = t
    return found, ban


def main():
    d = Path(sys.argv[1])
    meta = read_meta(d)
    src = meta.get('attacker', '198.18.0.2')
    cli = meta.get('client', '198.18.0.3')
    maxretry = int(meta.get('maxretry', '5'))
    fmt = meta.get('format', 'kamailio')
    kv = {}

    fails, oks = kam_failures(d, src)
    if fmt == 'asterisk':
        fails = ast_failures(d, src)
    kv['fails_total'] = len(fails)
    kv['fails_auth'] = sum(1 for f in fails if f[1] == 'auth_failed')
    kv['fails_unknown'] = sum(1 for f in fails if f[1] == 'unknown_user')
    kv['attacker_register_ok'] = oks

    t5 = fails[maxretry - 1][0] if fmt != 'asterisk' and len(fails) >= maxretry else None
    if t5:
        kv['t_fail_maxretry'] = f'{t5:.6f}'
    t_ban = ban_time(d, src)
    kv['banned'] = 'yes' if t_ban else 'no'
    kv['client_banned'] = 'yes' if ban_time(d, cli) else 'no'
    if t_ban:
        kv['t_ban_nft'] = f'{t_ban:.6f}'
        if t5:
            kv['ban_latency_us'] = f'{(t_ban - t5) * 1e6:.0f}'
        if fmt != 'asterisk':
            kv['fails_before_ban'] = sum(1 for f in fails if f[0] < t_ban)
            kv['fails_after_ban'] = sum(1 for f in fails if f[0] >= t_ban)

    reqs = pcap_requests(d / 'attack.pcap', src)
    if reqs:
        kv['att_requests'] = len(reqs)
        active = [t for t in reqs if t_ban is None or t < t_ban]
        kv['att_requests_before_ban'] = len(active)
        if len(active) > 1 and active[-1] > active[0]:
            kv['att_req_rate_per_s'] = f'{(len(active) - 1) / (active[-1] - active[0]):.0f}'

    rows = legit_rows(d)
    if rows:
        ok = [r for r in rows if r[3] == 'ok']
        kv['legit_attempts'] = len(rows)
        kv['legit_ok'] = len(ok)
        kv['legit_failed'] = len(rows) - len(ok)
        t0 = float(meta.get('t_attack_start', '0') or 0)
        t1 = float(meta.get('t_attack_end', '0') or 0)
        during = [r for r in rows if t0 <= r[0] <= t1]
        kv['legit_attempts_during_attack'] = len(during)
        kv['legit_ok_during_attack'] = sum(1 for r in during if r[3] == 'ok')
        if ok:
            kv['legit_latency_ms_max'] = f'{max(r[2] for r in ok):.1f}'
        kv['legit_retransmissions'] = rows[-1][4]
        bad = sorted({r[3] for r in rows if r[3] != 'ok'})
        if bad:
            kv['legit_failure_kinds'] = ','.join(bad)

    lat = sw_latency(d, src)
    if lat is not None:
        kv['sw_latency_us'] = lat
    found, ban_log = f2b_times(d, src)
    if len(found) >= maxretry and t5:
        kv['f2b_detect_ms'] = f'{(found[maxretry - 1] - t5) * 1000:.1f}'
        if ban_log:
            kv['f2b_found_to_ban_ms'] = f'{(ban_log - found[maxretry - 1]) * 1000:.1f}'
    if ban_log and t_ban:
        kv['f2b_ban_to_nft_ms'] = f'{(t_ban - ban_log) * 1000:.1f}'

    for k, v in meta.items():
        if k in ('defender', 'attack', 'tool_t', 'rep', 'format', 'tool_exit'):
            kv.setdefault(k, v)
    for k, v in kv.items():
        print(f'{k}={v}')


if __name__ == '__main__':
    main()
