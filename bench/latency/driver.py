#!/usr/bin/env python3
"""Ban latency driver: Nth failure line written -> element in the kernel set.

Runs inside the benchmark's network namespace, next to a sipwarden daemon that tails
LOG with the kamailio dialect.  For each of COUNT fresh source addresses (198.18.x.y)
it writes MAXRETRY-1 failure lines, pauses, then takes t0 and writes the MAXRETRY-th
line with one write(2); a `nft monitor` child (line-buffered via stdbuf) reports the
element, t1 is taken when that report is read.  t1-t0 includes the monitor's own
delivery, so the figure is an upper bound of sipwarden's reaction time.

Usage: driver.py LOG COUNT MAXRETRY OUT.tsv     (bounded: 10 s per sample at most)
LOG `syslog:` sends each line with syslog(3) as identifier `kamailio` instead (through
/dev/log to journald: bench/latency/journal.sh), t0 taken before the Nth call.
"""
import os
import select
import subprocess
import sys
import syslog
import time


def main() -> None:
    log, count, maxretry, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    mon = subprocess.Popen(["stdbuf", "-oL", "nft", "monitor", "new", "elements"], stdout=subprocess.PIPE)
    fd = mon.stdout.fileno()
    time.sleep(0.3)
    to_syslog = log == "syslog:"
    if to_syslog:
        syslog.openlog("kamailio", syslog.LOG_NDELAY, syslog.LOG_LOCAL0)
        lf = -1
    else:
        lf = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(data: bytes) -> None:
        if to_syslog:
            syslog.syslog(syslog.LOG_NOTICE, data.decode().rstrip("\n"))
        else:
            os.write(lf, data)
    buf = b""
    results = []
    try:
        for i in range(count):
            ip = "198.18.%d.%d" % (100 + i // 250, 1 + i % 250)
            def line(k: int) -> bytes:
                now = time.time()
                return ('x NOTICE: <script>: SIPWARDEN event=auth_failed ts=%.6f src=%s sport=5060 proto=udp '
                        'method=REGISTER user="100" ua="bench %d/%d"\n' % (now, ip, i, k)).encode()
            for k in range(maxretry - 1):
                emit(line(k))
            time.sleep(0.005)  # let the first lines be judged; the Nth is measured alone
            payload = line(maxretry - 1)
            t0 = time.perf_counter_ns()
            emit(payload)
            needle = (" %s " % ip).encode()
            deadline = time.time() + 10
            t1 = None
            while time.time() < deadline and t1 is None:
                r, _, _ = select.select([fd], [], [], 0.5)
                if not r:
                    continue
                now = time.perf_counter_ns()
                buf += os.read(fd, 65536)
                while b"\n" in buf:
                    l, buf = buf.split(b"\n", 1)
                    # Only the ban sets: the flood guard's suspect sets get the same
                    # address at its first failures, before the Nth line is written.
                    in_ban_set = any(b" %s " % s in l for s in (b"host4", b"host6", b"ban4", b"ban6"))
                    if in_ban_set and needle in l.replace(b"{", b" ").replace(b"}", b" ").replace(b",", b" "):
                        t1 = now
            results.append((ip, (t1 - t0) / 1000 if t1 else -1))
    finally:
        mon.terminate()
        mon.wait(3)
        if lf >= 0:
            os.close(lf)
    with open(out, "w") as f:
        for ip, us in results:
            f.write("%s\t%.1f\n" % (ip, us))
    ok = sorted(us for _, us in results if us >= 0)
    missed = sum(1 for _, us in results if us < 0)
    def pct(p: float) -> float:
        return ok[min(len(ok) - 1, int(p * len(ok)))] if ok else float("nan")
    print("samples=%d missed=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f" % (
        len(ok), missed, pct(0.5), pct(0.9), pct(0.99), ok[-1] if ok else float("nan")))


if __name__ == "__main__":
    main()
