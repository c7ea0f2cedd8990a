#!/usr/bin/python3
"""tsmon.py --out FILE --max-seconds N -- CMD ARGS...

Runs CMD (here: `nft monitor` inside netns swlab-pbx) and writes each line it
prints to FILE prefixed with the wall-clock time the line was read
(epoch seconds with microseconds). Flushed per read. Stops after --max-seconds
or on SIGTERM/SIGINT; the child is then terminated by its PID.
The first line of FILE ("<ts> # ready") is written once CMD is running.
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
    p.add_argument('--max-seconds', type=float, default=300.0)
    p.add_argument('cmd', nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ['--'] else a.cmd
    if not cmd:
        sys.exit('tsmon: no command')
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    # stdbuf: make the child's stdio line-buffered so lines arrive at once
    child = subprocess.Popen(['stdbuf', '-oL'] + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    fd = child.stdout.fileno()
    deadline = time.monotonic() + a.max_seconds
    buf = b''
    with open(a.out, 'w') as f:
        f.write(f'{time.time():.6f} # ready pid={child.pid}\n')
        f.flush()
        while not stop and time.monotonic() < deadline:
            try:
                r, _, _ = select.select([fd], [], [], 0.2)
            except InterruptedError:
                continue
            if not r:
                if child.poll() is not None:
                    break
                continue
            now = time.time()
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                f.write(f'{now:.6f} {line.decode("utf-8", "replace")}\n')
            f.flush()
        f.write(f'{time.time():.6f} # stopped\n')
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(3)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(3)


if __name__ == '__main__':
    main()
