#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sends one SIP request from SRC:SPORT to DST:5060 over UDP and waits (bounded) for a reply.
Usage: sip_client.py METHOD SRC SPORT DST"""
import socket
import sys
import uuid

method, src, sport, dst = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
family = socket.AF_INET6 if ":" in src else socket.AF_INET
host = "[%s]" % dst if family == socket.AF_INET6 else dst
me = "[%s]" % src if family == socket.AF_INET6 else src
tag = uuid.uuid4().hex[:8]
msg = (
    f"{method} sip:{host} SIP/2.0\r\n"
    f"Via: SIP/2.0/UDP {me}:{sport};branch=z9hG4bK-{tag};rport\r\n"
    f"Max-Forwards: 70\r\n"
    f"From: \"100\" <sip:100@{host}>;tag={tag}\r\n"
    f"To: \"100\" <sip:100@{host}>\r\n"
    f"Call-ID: {tag}@{me}\r\n"
    f"CSeq: 1 {method}\r\n"
    f"Contact: <sip:100@{me}:{sport}>\r\n"
    f"User-Agent: sipwarden-hep-fixture\r\n"
    f"Content-Length: 0\r\n\r\n"
)
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((src, sport))
s.settimeout(2.0)
s.sendto(msg.encode(), (dst, 5060))
try:
    data, _ = s.recvfrom(65535)
    print(data.split(b"\r\n", 1)[0].decode(errors="replace"))
except socket.timeout:
    print("no reply")
    sys.exit(1)
