#!/usr/bin/python3
"""aggregate.py DIR - median [min–max] table of bench/attack/run.sh results.

DIR/<defender>-t<pace>-r<rep>/result.txt (key=value, integration/e2e/tools/analyze.py)
-> markdown table on stdout, one row per (attack pace, defender); DIR/runs.tsv
with every run's values.
"""
import sys
from pathlib import Path

PACE_NAME = {'0.005': 'svcrack default pace (-t 0.005)', '0': 'svcrack full speed (-t 0)'}


def load(d):
    runs = []
    for rf in sorted(d.glob('*/result.txt')):
        kv = {}
        for line in rf.read_text().splitlines():
            k, sep, v = line.partition('=')
            if sep:
                kv[k] = v
        name = rf.parent.name                      # sipwarden-t0.005-r1
        defender, _, rest = name.partition('-t')
        pace, _, rep = rest.rpartition('-r')
        kv.update(defender=defender, pace=pace, rep=rep)
        runs.append(kv)
    return runs


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def fmt(x, ms=False):
    if ms:
        return f'{x:.2f}' if x < 10 else f'{x:.0f}'
    return f'{x:.0f}' if abs(x) >= 10 or x == int(x) else f'{x:.1f}'


def cell(runs, key, scale=1.0, ms=False):
    vals = [num(r.get(key)) for r in runs]
    vals = sorted(v * scale for v in vals if v is not None)
    if not vals:
        return '–'
    m = fmt(median(vals), ms)
    if len(vals) == 1 or vals[0] == vals[-1]:
        return m + ('' if len(vals) == len(runs) else f' (n={len(vals)})')
    return f'{m} [{fmt(vals[0], ms)}–{fmt(vals[-1], ms)}]' + ('' if len(vals) == len(runs) else f' (n={len(vals)})')


def main():
    d = Path(sys.argv[1])
    runs = load(d)
    if not runs:
        sys.exit(f'no results in {d}')
    cols = ['defender', 'pace', 'rep', 'att_req_rate_per_s', 'fails_total', 'banned', 'ban_latency_us',
            'sw_latency_us', 'f2b_detect_ms', 'f2b_found_to_ban_ms', 'f2b_ban_to_nft_ms',
            'legit_ok', 'legit_attempts', 'legit_failed', 'client_banned',
            'attack_packets', 'defender_cpu_ms', 'defender_cpu_us_per_packet']
    (d / 'runs.tsv').write_text('\t'.join(cols) + '\n' + ''.join(
        '\t'.join(r.get(c, '') for c in cols) + '\n' for r in runs))

    print('| attack | defender | runs | attacker req/s | failures that reached Kamailio | '
          'ban latency, 5th failure → kernel set (ms) | defender\'s own latency (ms) | banned | legit REGISTERs ok / tried | '
          'attack packets sent | defender CPU (ms) | defender CPU per attack packet (µs) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    order = {'sipwarden': 0, 'sipwarden-noguard': 1, 'sipwarden-capture': 2, 'sipwarden-inline': 3, 'fail2ban': 4}
    groups = {}
    for r in runs:
        groups.setdefault((r['pace'], r['defender']), []).append(r)
    for (pace, defender) in sorted(groups, key=lambda k: (-float(k[0]), order.get(k[1], 9), k[1])):
        g = groups[(pace, defender)]
        banned = sum(1 for r in g if r.get('banned') == 'yes')
        ok = sum(int(r.get('legit_ok', 0) or 0) for r in g)
        tried = sum(int(r.get('legit_attempts', 0) or 0) for r in g)
        own = cell(g, 'sw_latency_us', 1e-3, ms=True) if defender.startswith('sipwarden') else '–'
        if defender == 'fail2ban':
            own = 'Found#5→Ban ' + cell(g, 'f2b_found_to_ban_ms', ms=True) + ', Ban→nft ' + cell(g, 'f2b_ban_to_nft_ms', ms=True)
        print(f'| {PACE_NAME.get(pace, "-t " + pace)} | {defender} | {len(g)} | {cell(g, "att_req_rate_per_s")} | '
              f'{cell(g, "fails_total")} | {cell(g, "ban_latency_us", 1e-3, ms=True)} | {own} | {banned}/{len(g)} | '
              f'{ok}/{tried} | {cell(g, "attack_packets")} | {cell(g, "defender_cpu_ms")} | '
              f'{cell(g, "defender_cpu_us_per_packet", ms=True)} |')


if __name__ == '__main__':
    main()
