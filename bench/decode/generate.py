#!/usr/bin/env python3
"""Writes a reproducible mixed Asterisk log for the decoding benchmark.

Usage: generate.py LINES OUT.log   (seeded: the same LINES always gives the same file)

About 40 % of the lines are security failures in every shape sipwarden and fail2ban's
stock asterisk filter both understand (chan_sip, res_pjsip, security events, IPv4 and
IPv6); the rest is ordinary PBX chatter that must be skipped.  Addresses are from the
benchmarking ranges 198.18.0.0/15 and 2001:2::/48.
"""
import random
import sys

def main() -> None:
    n = int(sys.argv[1])
    out = sys.argv[2]
    rnd = random.Random(4475)
    t = 1_764_000_000
    with open(out, "w") as f:
        for i in range(n):
            t += rnd.random() * 0.01
            sec = int(t)
            ts = "%04d-%02d-%02d %02d:%02d:%02d" % (2025, 11, 24 + (sec // 86400) % 2, (sec // 3600) % 24, (sec // 60) % 60, sec % 60)
            lwp = 1000 + rnd.randrange(9000)
            if rnd.random() < 0.8:
                ip = "198.18.%d.%d" % (rnd.randrange(256), 1 + rnd.randrange(254))
                addr = "%s:%d" % (ip, 5060 + rnd.randrange(100))
            else:
                ip = "2001:2::%x" % rnd.randrange(1, 65535)
                addr = "[%s]:%d" % (ip, 5060)
            user = str(100 + rnd.randrange(900))
            r = rnd.random()
            if r < 0.60:
                msg = rnd.choice([
                    "VERBOSE[%d][C-%08x] pbx.c: Executing [s@macro-dial:1] Dial(\"SIP/100-000001\", \"SIP/101,20\") in new stack" % (lwp, rnd.randrange(1 << 32)),
                    "VERBOSE[%d] netsock2.c: Using SIP RTP TOS bits 184" % lwp,
                    "NOTICE[%d] chan_sip.c: Peer '101' is now Reachable. (12ms / 2000ms)" % lwp,
                    "WARNING[%d] chan_sip.c: Maximum retries exceeded on transmission 1234@198.18.0.1 for seqno 102 (Critical Request)" % lwp,
                    "VERBOSE[%d] res_pjsip_registrar.c: Added contact 'sip:101@198.18.0.3:5060' to AOR '101' with expiration of 3600 seconds" % lwp,
                    "DEBUG[%d] res_pjsip_session.c: Call from 101 answered" % lwp,
                ])
            elif r < 0.70:
                msg = "NOTICE[%d] chan_sip.c: Registration from '\"%s\" <sip:%s@198.18.0.1>' failed for '%s' - %s" % (
                    lwp, user, user, addr, rnd.choice(["Wrong password", "No matching peer found", "Username/auth name mismatch", "Device does not match ACL"]))
            elif r < 0.80:
                msg = "NOTICE[%d] res_pjsip/pjsip_distributor.c: Request '%s' from '<sip:%s@198.18.0.1>' failed for '%s' (callid: %x) - %s" % (
                    lwp, rnd.choice(["REGISTER", "INVITE"]), user, addr, rnd.getrandbits(64),
                    rnd.choice(["No matching endpoint found", "Failed to authenticate", "Not match Endpoint ACL"]))
            elif r < 0.85:
                msg = "NOTICE[%d][C-%08x] chan_sip.c: Call from '' (%s) to extension '%s' rejected because extension not found in context 'default'." % (
                    lwp, rnd.randrange(1 << 32), addr, "9011" + str(rnd.randrange(10**9)))
            else:
                family = "IPV6" if ip.startswith("2001") else "IPV4"
                ev = rnd.choice(["InvalidAccountID", "ChallengeResponseFailed", "InvalidPassword", "ChallengeSent", "SuccessfulAuth"])
                msg = ("SECURITY[%d] res_security_log.c: SecurityEvent=\"%s\",EventTV=\"%d-%06d\",Severity=\"Error\",Service=\"SIP\","
                       "EventVersion=\"1\",AccountID=\"%s\",SessionID=\"0x7f%x\",LocalAddress=\"IPV4/UDP/198.18.0.1/5060\","
                       "RemoteAddress=\"%s/UDP/%s/5060\"") % (lwp, ev, sec, rnd.randrange(10**6), user, rnd.getrandbits(40), family, ip)
            f.write("[%s] %s\n" % (ts, msg))

if __name__ == "__main__":
    main()
