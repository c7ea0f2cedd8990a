#!/usr/bin/python3
"""legit-client.py - the lab's legitimate SIP user agent (UDP, MD5 digest).

One registration = REGISTER without credentials -> 401 challenge -> REGISTER
with an Authorization header -> 200 OK. Requests are retransmitted like an
RFC 3261 client (timer A: 0.5 s, doubling) until --txn-timeout.

  legit-client.py                      one registration, exit 0 on 200 OK
  legit-client.py --count N --interval 0.2 --max-seconds S --csv FILE
                                       one registration every 0.2 s (bounded by
                                       N and S); one CSV row per registration;
                                       summary key=value lines on stdout;
                                       exit 0 only if every registration succeeded

Talks only to lab addresses (198.18.0.0/15, 2001:2::/48).
"""
import argparse
import hashlib
import ipaddress
import re
import secrets
import select
import signal
import socket
import sys
import time

LAB_NETS = [ipaddress.ip_network('198.18.0.0/15'), ipaddress.ip_network('2001:2::/48')]


def in_lab(addr):
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in LAB_NETS)


def md5hex(text):
    return hashlib.md5(text.encode()).hexdigest()


def status_code(msg):
    m = re.match(r'SIP/2\.0 (\d{3}) ', msg)
    return int(m.group(1)) if m else 0


def digest_params(msg):
    """parameters of the first WWW-Authenticate: Digest header, or None"""
    for line in msg.split('\r\n'):
        name, _, value = line.partition(':')
        if name.strip().lower() == 'www-authenticate' and value.strip().lower().startswith('digest'):
            rest = value.strip()[6:]
            return {k.lower(): v.strip('"') for k, v in re.findall(r'([A-Za-z-]+)\s*=\s*("[^"]*"|[^,\s]+)', rest)}
    return None


class UA:
    def __init__(self, opt):
        self.o = opt
        v6 = ':' in opt.server
        self.sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((opt.bind, 0))
        self.port = self.sock.getsockname()[1]
        self.srv = f'[{opt.server}]' if v6 else opt.server
        self.me = f'[{opt.bind}]' if v6 else opt.bind
        self.call_id = f'{secrets.token_hex(8)}@{opt.bind}'
        self.tag = secrets.token_hex(4)
        self.cseq = 0
        self.retransmissions = 0

    def request(self, authorization=None):
        self.cseq += 1
        branch = 'z9hG4bK' + secrets.token_hex(6)
        u = self.o.user
        hdrs = [
            f'REGISTER sip:{self.srv} SIP/2.0',
            f'Via: SIP/2.0/UDP {self.me}:{self.port};rport;branch={branch}',
            'Max-Forwards: 70',
            f'From: <sip:{u}@{self.srv}>;tag={self.tag}',
            f'To: <sip:{u}@{self.srv}>',
            f'Call-ID: {self.call_id}',
            f'CSeq: {self.cseq} REGISTER',
            f'Contact: <sip:{u}@{self.me}:{self.port}>',
            'Expires: 60',
            'User-Agent: swlab-legit/1.0',
        ]
        if authorization:
            hdrs.append(authorization)
        hdrs += ['Content-Length: 0', '', '']
        return '\r\n'.join(hdrs).encode(), branch

    def transaction(self, data, branch):
        """send with retransmissions; final response text or None on timeout"""
        dest = (self.o.server, 5060)
        end = time.monotonic() + self.o.txn_timeout
        interval = 0.5
        self.sock.sendto(data, dest)
        resend = time.monotonic() + interval
        while True:
            now = time.monotonic()
            if now >= end:
                return None
            r, _, _ = select.select([self.sock], [], [], max(0.0, min(end, resend) - now))
            if not r:
                if time.monotonic() >= resend and time.monotonic() < end:
                    self.sock.sendto(data, dest)
                    self.retransmissions += 1
                    interval = min(interval * 2, 4.0)
                    resend = time.monotonic() + interval
                continue
            try:
                pkt = self.sock.recv(65535)
            except OSError:      # e.g. ICMP unreachable reported on the socket
                continue
            text = pkt.decode('utf-8', 'replace')
            if f'branch={branch}' not in text:
                continue         # a late answer to an earlier request
            code = status_code(text)
            if code >= 200:
                return text

    def register(self):
        """returns (result, status code); result 'ok' on success"""
        data, br = self.request()
        resp = self.transaction(data, br)
        if resp is None:
            return 'timeout', 0
        code = status_code(resp)
        if code == 200:
            return 'ok-noauth', code
        if code != 401:
            return f'unexpected-{code}', code
        ch = digest_params(resp)
        if not ch or 'nonce' not in ch:
            return 'no-challenge', code
        realm, nonce, uri = ch.get('realm', ''), ch['nonce'], f'sip:{self.srv}'
        ha1 = md5hex(f'{self.o.user}:{realm}:{getattr(self, "password", self.o.password)}')
        ha2 = md5hex(f'REGISTER:{uri}')
        auth = f'Authorization: Digest username="{self.o.user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
        qops = [q.strip() for q in ch.get('qop', '').split(',') if q.strip()]
        if 'auth' in qops:
            cnonce, nc = secrets.token_hex(4), '00000001'
            response = md5hex(f'{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}')
            auth += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        else:
            response = md5hex(f'{ha1}:{nonce}:{ha2}')
        auth += f', response="{response}"'
        if 'opaque' in ch:
            auth += f', opaque="{ch["opaque"]}"'
        data, br = self.request(auth)
        resp = self.transaction(data, br)
        if resp is None:
            return 'timeout-auth', 0
        code = status_code(resp)
        return ('ok' if code == 200 else f'failed-{code}'), code


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--server', default='198.18.0.1')
    ap.add_argument('--bind', default='198.18.0.3')
    ap.add_argument('--user', default='101')
    ap.add_argument('--password', default='SwLab-Pw-101-Kz4')
    ap.add_argument('--count', type=int, default=1)
    ap.add_argument('--interval', type=float, default=0.2)
    ap.add_argument('--max-seconds', type=float, default=120.0)
    ap.add_argument('--txn-timeout', type=float, default=4.0)
    ap.add_argument('--csv')
    ap.add_argument('--typos', type=int, default=0,
                    help='registrations 1, 3, 5, ... up to this many use a wrong password (a real user\'s typos, '
                         'each followed by a successful registration); they are written as result "typo-CODE"')
    o = ap.parse_args()
    if not in_lab(o.server) or not in_lab(o.bind):
        sys.exit('legit-client: refusing, --server and --bind must be lab addresses (198.18.0.0/15, 2001:2::/48)')
    if not (1 <= o.count <= 1_000_000) or o.interval < 0 or not (0 < o.max_seconds <= 3600):
        sys.exit('legit-client: --count 1..1000000, --interval >= 0, --max-seconds 0..3600')
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    ua = UA(o)
    deadline = time.monotonic() + o.max_seconds
    csv = open(o.csv, 'w', buffering=1) if o.csv else None
    if csv:
        csv.write('start,end,latency_ms,result,code,retransmissions\n')
    n = ok = 0
    for i in range(o.count):
        if stop or time.monotonic() >= deadline:
            break
        t0 = time.time()
        typo = i % 2 == 0 and i // 2 < o.typos
        ua.password = o.password + 'x' if typo else o.password
        res, code = ua.register()
        t1 = time.time()
        if typo:
            res = f'typo-{code}'
        else:
            n += 1
            ok += res == 'ok'
        if csv:
            csv.write(f'{t0:.6f},{t1:.6f},{(t1 - t0) * 1000:.1f},{res},{code},{ua.retransmissions}\n')
        if o.count == 1:
            print(f'register user={o.user} result={res} code={code} latency_ms={(t1 - t0) * 1000:.1f}')
        pause = o.interval - (time.time() - t0)
        if i + 1 < o.count and pause > 0 and not stop:
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
    if csv:
        csv.close()
    if o.count > 1:
        print(f'legit_attempts={n}\nlegit_ok={ok}\nlegit_failed={n - ok}\nlegit_retransmissions={ua.retransmissions}')
    sys.exit(0 if n > 0 and ok == n else 1)


if __name__ == '__main__':
    main()
