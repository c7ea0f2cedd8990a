# SPDX-License-Identifier: GPL-2.0-or-later
# A toy SIP registrar and a client for integration/services/run.sh (UDP, RFC 3261 framing).
#   sip.py pbx ADDR SECONDS COUNTS_FILE   answer every REGISTER with 401, count the
#                                         credentialed ones per source into COUNTS_FILE
#   sip.py client SRC DST COUNT           send COUNT credentialed REGISTERs one after the
#                                         other, each waiting up to 0.5 s for its answer
import json, os, random, socket, sys, time

def request(src, dst, branch, user):
    lines = ["REGISTER sip:%s SIP/2.0" % dst,
             "Via: SIP/2.0/UDP %s:5070;branch=z9hG4bK%s;rport" % (src, branch),
             "Max-Forwards: 70",
             "From: <sip:%s@%s>;tag=t%s" % (user, dst, branch),
             "To: <sip:%s@%s>" % (user, dst),
             "Call-ID: %s@%s" % (branch, src),
             "CSeq: 1 REGISTER",
             "Contact: <sip:%s@%s:5070>" % (user, src),
             'Authorization: Digest username="%s", realm="lab", nonce="n", uri="sip:%s", '
             'response="00112233445566778899aabbccddeeff"' % (user, dst),
             "User-Agent: services-test", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()

def pbx(addr, seconds, counts_file):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 5060))
    s.settimeout(0.2)
    counts = {}
    end = time.time() + seconds
    with open(counts_file, "w") as f:
        json.dump(counts, f)
    while time.time() < end:
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        text = data.decode("utf-8", "replace")
        if not text.startswith("REGISTER "):
            continue
        head = text.split("\r\n\r\n")[0].split("\r\n")
        if any(l.lower().startswith("authorization:") for l in head):
            counts[peer[0]] = counts.get(peer[0], 0) + 1
            with open(counts_file + ".tmp", "w") as f:
                json.dump(counts, f)
            os.replace(counts_file + ".tmp", counts_file)
        via = [l for l in head if l.startswith("Via:")][0]
        keep = [l for l in head if l.split(":")[0] in ("From", "To", "Call-ID", "CSeq")]
        reply = ["SIP/2.0 401 Unauthorized", via + ";received=" + peer[0]] + keep
        reply.append('WWW-Authenticate: Digest realm="lab", nonce="%08x"' % random.getrandbits(32))
        reply += ["Content-Length: 0", "", ""]
        s.sendto("\r\n".join(reply).encode(), peer)

def client(src, dst, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 5070))
    s.settimeout(0.5)
    answered = 0
    for i in range(count):
        s.sendto(request(src, dst, "%d%06d" % (i, random.getrandbits(20)), "10%d" % i), (dst, 5060))
        try:
            s.recvfrom(65535)
            answered += 1
        except socket.timeout:
            pass
    print(answered)

if __name__ == "__main__":
    if sys.argv[1] == "pbx":
        pbx(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]))
