import socket, time, threading
REG = ("REGISTER sip:198.18.0.1 SIP/2.0\r\nVia: SIP/2.0/{t} {h}:5099;branch=z9hG4bK-{n}\r\nFrom: <sip:100@198.18.0.1>;tag=1\r\n"
       "To: <sip:100@198.18.0.1>\r\nCall-ID: gen-{n}\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n")
RESP = "SIP/2.0 401 Unauthorized\r\nCall-ID: gen-{n}\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("198.18.0.1", 5060)); srv.listen(4)
def serve():
    c, _ = srv.accept(); data = b""
    c.settimeout(3)
    try:
        while data.count(b"\r\n\r\n") < 2:
            d = c.recv(65536)
            if not d: break
            data += d
    except Exception: pass
    c.sendall(RESP.format(n="t1").encode()); c.sendall(RESP.format(n="t2").encode()); time.sleep(0.1); c.close()
th = threading.Thread(target=serve); th.start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("198.18.0.2", 5099))
u.sendto(REG.format(t="UDP", h="198.18.0.2", n="u1").encode(), ("198.18.0.1", 5060))
u.sendto(b"not sip on another port", ("198.18.0.1", 9999))
big = REG.format(t="UDP", h="198.18.0.2", n="big").replace("Content-Length: 0", "X-Pad: " + "a" * 3000 + "\r\nContent-Length: 0")
u.sendto(big.encode(), ("198.18.0.1", 5060))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("2001:2::2", 5099))
u6.sendto(REG.format(t="UDP", h="[2001:2::2]", n="u6").encode(), ("2001:2::1", 5060))
u6.sendto(big.replace("big", "big6").encode(), ("2001:2::1", 5060))
time.sleep(0.05)
t = socket.create_connection(("198.18.0.1", 5060), source_address=("198.18.0.2", 0))
t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
m1 = REG.format(t="TCP", h="198.18.0.2", n="t1").encode(); m2 = REG.format(t="TCP", h="198.18.0.2", n="t2").encode()
t.sendall(m1[:50]); time.sleep(0.02); t.sendall(m1[50:] + m2[:10]); time.sleep(0.02); t.sendall(m2[10:])
resp = b""
t.settimeout(3)
while resp.count(b"\r\n\r\n") < 2:
    d = t.recv(65536)
    if not d: break
    resp += d
t.close(); th.join(5)
