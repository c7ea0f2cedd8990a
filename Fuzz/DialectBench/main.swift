// SPDX-License-Identifier: GPL-2.0-or-later

//
// Throughput of LogDialects.parse on a mixed log (one core). Built by Fuzz/bench.sh.
// Usage: dialect-bench [lines]   (default 2,000,000)
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

let templates: [String] = [
    // Ordinary lines (most of a real log).
    "[2015-05-24 08:42:16] VERBOSE[4583][C-00000001] pbx.c:   == Spawn extension (from-internal, 100, 1) exited non-zero on 'PJSIP/100-00000001'",
    "[2015-05-24 08:42:16] NOTICE[4583] chan_sip.c: Peer '100' is now Reachable. (5ms / 2000ms)",
    "[2015-05-24 08:42:16] WARNING[4583] res_rtp_asterisk.c: 203.0.113.1:10000 -- Strict RTP learning after remote address set",
    "2024-01-02 03:04:05.123456 [NOTICE] sofia_reg.c:1757 Registering 1000@test from ip 198.51.100.7",
    "2024-01-02 03:04:05.123456 [DEBUG] switch_core_state_machine.c:581 (sofia/internal/1000@d) Running State Change CS_HANGUP",
    " 5(1234) NOTICE: <script>: LAB-SIP-REGISTER-OK time=2026-11-25T10:16:20 ts=1795601780.545421 src=198.18.0.3 user=101",
    "Jul  8 22:25:10 pbx kernel: [12345.678] eth0: link up",
    // Failures.
    "[2015-05-24 08:42:16] NOTICE[4583] chan_sip.c: Registration from '\"100\" <sip:100@192.0.2.1>' failed for '198.51.100.7:5060' - Wrong password",
    "[2015-05-24 08:42:16] NOTICE[4583] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:100@203.0.113.5>' failed for '198.51.100.7:5060' (callid: abc@1.2.3.4) - Failed to authenticate",
    "[Dec 21 12:57:01] SECURITY[77]: res_security_log.c:114 security_event_stasis_cb: SecurityEvent=\"InvalidAccountID\",EventTV=\"2021-12-21T12:57:01.209+0000\",Severity=\"Error\",Service=\"PJSIP\",EventVersion=\"1\",AccountID=\"100\",SessionID=\"abc\",LocalAddress=\"IPV4/UDP/192.0.2.10/5060\",RemoteAddress=\"IPV4/UDP/198.51.100.7/5060\"",
    "2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1657 SIP auth failure (REGISTER) on sofia profile 'internal' for [1000@192.0.2.1] from ip 198.51.100.20",
    " 5(1234) NOTICE: <script>: SIPWARDEN event=auth_failed ts=1795601780.545421 src=198.18.0.3 sport=39532 proto=udp method=REGISTER user=\"101\" ua=\"friendly-scanner\"",
]

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 2_000_000 : 2_000_000
var blob: [UInt8] = []
var offsets: [(Int, Int)] = []
offsets.reserveCapacity(count)
for i in 0..<count {
    let t = Array(templates[(i &* 7919) % templates.count].utf8)
    offsets.append((blob.count, t.count))
    blob.append(contentsOf: t)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

for selection in [DialectSelection.auto, .only(.asterisk)] {
    var best = Double.infinity
    var found = 0
    for _ in 0..<3 {
        found = 0
        let t0 = now()
        blob.withUnsafeBufferPointer { all in
            for (o, n) in offsets {
                if LogDialects.parse(UnsafeBufferPointer(rebasing: all[o..<(o + n)]), selection: selection) != nil { found += 1 }
            }
        }
        best = min(best, now() - t0)
    }
    print("selection=\(selection) lines=\(count) findings=\(found) best=\(best)s rate=\(Int(Double(count) / best)) lines/s")
}
