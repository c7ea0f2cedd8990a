#!/usr/bin/python3
"""spawn.py --out FILE --pidfile FILE [--ready TEXT] [--stop-at-ready] [--max-seconds N] -- CMD ARGS...

Supervises one daemon for the lab (used for sipwarden): starts CMD, writes its
PID to --pidfile, copies its stdout+stderr to --out line by line (flushed).
When a line contains --ready TEXT, writes FILE.ready ("<epoch> <line>").
With --stop-at-ready it sends SIGSTOP to CMD the moment that line is read and
writes FILE.ready only after the stop, so a test can inspect the kernel state
exactly as it was when the daemon declared itself ready; the test resumes it
with `kill -CONT`. Forwards SIGTERM/SIGINT to CMD; ends when CMD's output
ends; terminates CMD after --max-seconds (safety bound).
"""
import argparse
import os
import select
import signal
import subprocess
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True)
    p.add_argument('--pidfile', required=True)
    p.add_argument('--ready', default='sipwarden ready')
    p.add_argument('--stop-at-ready', action='store_true')
    p.add_argument('--max-seconds', type=float, default=600.0)
    p.add_argument('cmd', nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ['--'] else a.cmd
    if not cmd:
        sys.exit('spawn: no command')
    child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with open(a.pidfile, 'w') as f:
        f.write(f'{child.pid}\n')

    def forward(sig, _frame):
        if child.poll() is None:
            child.send_signal(sig)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)

    ready_seen = False
    deadline = time.monotonic() + a.max_seconds
    fd = child.stdout.fileno()
    buf = b''
    out = os.open(a.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    needle = a.ready.encode()
    terminated_at = None
    while True:
        now = time.monotonic()
        if child.poll() is None:
            if terminated_at is None and now >= deadline:
                child.terminate()
                terminated_at = now
            elif terminated_at is not None and now - terminated_at > 5:
                child.kill()
        try:
            r, _, _ = select.select([fd], [], [], 0.2)
        except InterruptedError:
            continue
        if not r:
            if child.poll() is not None:
                break            # exited; a grandchild may still hold the pipe
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            os.write(out, line + b'\n')
            if not ready_seen and needle in line:
                ready_seen = True
                if a.stop_at_ready and child.poll() is None:
                    os.kill(child.pid, signal.SIGSTOP)
                with open(a.out + '.ready', 'w') as f:
                    f.write(f'{time.time():.6f} {line.decode("utf-8", "replace")}\n')
    if buf:
        os.write(out, buf + b'\n')
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(5)
    sys.exit(child.returncode if child.returncode is not None and child.returncode >= 0 else 1)


if __name__ == '__main__':
    main()
