#!/usr/bin/python3
"""astlog.py --all FILE --out FILE - the lab's "Asterisk logger".

Reads Kamailio's stderr on stdin. Every line is appended to --all; lines that
carry the marker "SWAST|" (written by conf/kamailio.cfg built with
-A ASTERISK_FORMAT) are also appended to --out with everything up to and
including the marker removed, which leaves Asterisk res_pjsip's exact line:
  [2026-01-01 10:00:00] NOTICE[123] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from ...
Each write is flushed at once (like Asterisk's logger). Ends at EOF (Kamailio
stopped) or on SIGTERM.
"""
import argparse
import os
import signal
import sys

MARK = b'SWAST|'


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--all', required=True)
    p.add_argument('--out', required=True)
    a = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fd_all = os.open(a.all, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    fd_out = os.open(a.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    buf = b''
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        buf += chunk
        # bounded: a line longer than 64 KiB without newline is flushed as is
        while b'\n' in buf or len(buf) > 65536:
            if b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
            else:
                line, buf = buf, b''
            os.write(fd_all, line + b'\n')
            i = line.find(MARK)
            if i >= 0:
                os.write(fd_out, line[i + len(MARK):] + b'\n')
    if buf:
        os.write(fd_all, buf + b'\n')


if __name__ == '__main__':
    main()
