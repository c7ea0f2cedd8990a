#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Compares fail2ban's stock filters with `sipwarden events`, line by line (see run.sh)."""
import argparse, collections, ipaddress, json, os, subprocess, sys


def norm(host):
    try:
        a = ipaddress.ip_address(host.strip("[]"))
        if a.version == 6 and a.ipv4_mapped:
            a = a.ipv4_mapped
        return str(a)
    except ValueError:
        return host


def fail2ban(log, filt):
    """{line number: set of hosts} that fail2ban-regex matches."""
    out = subprocess.run(["fail2ban-regex", "-r", "-o", "<ip>\t<msg>", log, filt],
                         capture_output=True, text=True, check=False).stdout
    with open(log, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    where = collections.defaultdict(list)
    for n, text in enumerate(lines, 1):
        where[text.rstrip()].append(n)
    used = collections.Counter()
    found = collections.defaultdict(set)
    for row in out.splitlines():
        if "\t" not in row:
            continue
        host, msg = row.split("\t", 1)
        if host in ("", "None"):
            continue
        candidates = where.get(msg.rstrip(), [])
        k = used[msg.rstrip()]
        if k >= len(candidates):
            print(f"  ! fail2ban matched a line not found verbatim in {log}: {msg[:120]}")
            continue
        used[msg.rstrip()] += 1
        found[candidates[k]].add(norm(host))
    return found, lines


def sipwarden(binary, log):
    out = subprocess.run([binary, "events", log], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        print(f"  ! sipwarden events {log} failed: {out.stderr.strip()[:300]}")
    found = collections.defaultdict(set)
    for row in out.stdout.splitlines():
        e = json.loads(row)
        found[e["line"]].add(norm(e["source"]))
    return found


def annotations(lines):
    """fail2ban's `# failJSON:` comments: {line: host or None (match false)}."""
    notes = {}
    pending = None
    for n, text in enumerate(lines, 1):
        if text.startswith("# failJSON:"):
            try:
                pending = json.loads(text[len("# failJSON:"):])
            except ValueError:
                pending = None
            continue
        if text.startswith("#") or not text.strip():
            continue
        if pending is not None:
            notes[n] = norm(pending["host"]) if pending.get("match") and pending.get("host") else None
        pending = None
    return notes


def exceptions(path):
    known = {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            raw = raw.strip()
            if not raw or raw.startswith("#"):
                continue
            key, _, reason = raw.partition(" ")
            if not reason.strip():
                sys.exit(f"exceptions.txt: '{key}' has no reason")
            known[key] = reason.strip()
    return known


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--exceptions", required=True)
    ap.add_argument("--case", nargs=3, action="append", metavar=("LOG", "FILTER", "EXPECT"), required=True)
    a = ap.parse_args()
    known = exceptions(a.exceptions)
    used = set()
    passed = failed = 0
    totals = collections.Counter()
    for log, filt, expect in a.case:
        name = os.path.basename(log)
        if not os.path.exists(log):
            print(f"--- FAILED: {log} missing")
            failed += 1
            continue
        f2b, lines = fail2ban(log, filt)
        sw = sipwarden(a.bin, log)
        notes = annotations(lines)
        expected = {}
        if expect:
            with open(expect, encoding="utf-8") as f:
                for row in f:
                    e = json.loads(row)
                    expected[e["line"]] = norm(e["source"]) if e["source"] else None
        both = sum(1 for n in f2b if f2b[n] and f2b[n] <= sw.get(n, set()))
        totals["f2b"] += len(f2b)
        totals["both"] += both
        totals["sw"] += len(sw)
        print(f"{name}: fail2ban matches {len(f2b)} lines, sipwarden finds {both} of them with the same host; "
              f"sipwarden reports {len(sw)} lines")
        for n in sorted(set(f2b) | set(sw) | set(notes) | set(expected)):
            key = f"{name}:{n}"
            problems = []
            if n in f2b or n in sw:
                if f2b.get(n, set()) != sw.get(n, set()):
                    problems.append(f"fail2ban {sorted(f2b.get(n, set()))} vs sipwarden {sorted(sw.get(n, set()))}")
            if n in notes:
                want = {notes[n]} if notes[n] else set()
                if not notes[n] and sw.get(n):
                    problems.append(f"annotated match:false but sipwarden reports {sorted(sw[n])}")
                elif notes[n] and sw.get(n, set()) != want:
                    problems.append(f"annotated host {notes[n]} but sipwarden reports {sorted(sw.get(n, set()))}")
            if n in expected:
                want = {expected[n]} if expected[n] else set()
                if sw.get(n, set()) != want:
                    problems.append(f"expect.jsonl {sorted(want)} but sipwarden reports {sorted(sw.get(n, set()))}")
            if not problems:
                passed += 1
                continue
            if key in known:
                used.add(key)
                passed += 1
                print(f"--- ok (exception: {known[key]}): {key}: {'; '.join(problems)}")
                continue
            failed += 1
            print(f"--- FAILED: {key}: {'; '.join(problems)}")
            print(f"    {lines[n - 1][:300]}")
    for key in sorted(set(known) - used):
        print(f"--- FAILED: exception {key} no longer needed (remove it from exceptions.txt)")
        failed += 1
    print(f"total: fail2ban matches {totals['f2b']} lines; sipwarden finds {totals['both']} of them with the same host; "
          f"sipwarden reports {totals['sw']} lines")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
