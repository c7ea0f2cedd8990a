#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Stores every UDP datagram received on ADDR:PORT as OUTDIR/NNN.bin, plus
OUTDIR/index.tsv (number, sender, size). Bounded: exits after MAX_SECONDS, or
IDLE_SECONDS after the last datagram once at least one arrived, or MAX_COUNT datagrams.
Usage: hep_receiver.py ADDR PORT OUTDIR [MAX_SECONDS] [MAX_COUNT]"""
import os
import socket
import sys
import time

addr, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
max_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
max_count = int(sys.argv[5]) if len(sys.argv) > 5 else 50
idle_seconds = 2.0

os.makedirs(outdir, exist_ok=True)
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((addr, port))
open(os.path.join(outdir, "ready"), "w").close()
deadline = time.monotonic() + max_seconds
last = None
n = 0
with open(os.path.join(outdir, "index.tsv"), "w") as index:
    while n < max_count:
        now = time.monotonic()
        if now >= deadline or (last is not None and now - last >= idle_seconds):
            break
        s.settimeout(min(0.2, deadline - now))
        try:
            data, sender = s.recvfrom(65535)
        except socket.timeout:
            continue
        n += 1
        last = time.monotonic()
        with open(os.path.join(outdir, "%03d.bin" % n), "wb") as f:
            f.write(data)
        index.write("%d\t%s\t%d\n" % (n, sender[0], len(data)))
        index.flush()
print("received %d datagrams" % n)
