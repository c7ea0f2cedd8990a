// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import SIPCorrelation
import SIPMessage
// Throughput of SIPCorrelator.ingest (release build): `Fuzz/correlation-build.sh bench`
// then `.build-correlationfuzz/correlation-bench`. Three workloads of pre-built UDP
// payloads; prints messages per second for each (best of three runs).
import WardenCore

#if canImport(Glibc)
    import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let pbx = IPAddress.v4(0xC612_000A) // 198.18.0.10

func request(_ method: String, branch: String, user: String, credentials: Bool, agent: String = "Yealink SIP-T46S 66.86.0.15") -> [UInt8] {
    var lines = [
        "\(method) sip:198.18.0.10 SIP/2.0", "Via: SIP/2.0/UDP 198.18.0.20:5060;branch=\(branch);rport", "Max-Forwards: 70",
        "From: <sip:\(user)@198.18.0.10>;tag=1928301774", "To: <sip:\(user)@198.18.0.10>",
        "Call-ID: a84b4c76e66710@198.18.0.20", "CSeq: 1 \(method)", "Contact: <sip:\(user)@198.18.0.20:5060>",
        "User-Agent: \(agent)", "Expires: 3600", "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS",
    ]
    if credentials {
        lines.append(
            "Authorization: Digest username=\"\(user)\", realm=\"asterisk\", nonce=\"5e1b3c7a\", uri=\"sip:198.18.0.10\", response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5"
        )
    }
    lines.append("Content-Length: 0")
    return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
}

func response(_ code: Int, branch: String, user: String, method: String = "REGISTER") -> [UInt8] {
    let lines = [
        "SIP/2.0 \(code) Reason", "Via: SIP/2.0/UDP 198.18.0.20:5060;branch=\(branch);received=198.18.0.20;rport=5060",
        "From: <sip:\(user)@198.18.0.10>;tag=1928301774", "To: <sip:\(user)@198.18.0.10>;tag=as5f2c1e",
        "Call-ID: a84b4c76e66710@198.18.0.20", "CSeq: 1 \(method)", "Server: Asterisk PBX 20.5.0",
        code == 401 ? "WWW-Authenticate: Digest algorithm=MD5, realm=\"asterisk\", nonce=\"5e1b3c7a\"" : "Supported: path",
        "Content-Length: 0",
    ]
    return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
}

func payload(_ bytes: [UInt8], from: IPAddress, to: IPAddress, at t: Int64) -> WirePayload {
    WirePayload(
        time: Timestamp(microseconds: t),
        flow: FlowKey(source: from, sourcePort: 5060, destination: to, destinationPort: 5060, transport: .udp),
        bytes: bytes, origin: .interface("eth0")
    )
}

func measure(_ name: String, _ payloads: [WirePayload]) {
    var best = 0.0
    var events = 0
    for _ in 0..<3 {
        var correlator = SIPCorrelator()
        var count = 0
        let start = now()
        for p in payloads { correlator.ingest(p, sensor: "eth0") { _ in count += 1 } }
        let rate = Double(payloads.count) / (now() - start)
        best = max(best, rate)
        events = count
    }
    let nanos = Int(1e9 / best)
    print("\(name): \(payloads.count) messages, \(events) events, \(Int(best)) messages/s (\(nanos) ns each)")
}

@main
enum Bench {
    static func main() {
        // 1. Normal registrations: REGISTER → 401 → REGISTER with credentials → 200, 2 000 phones.
        var normal: [WirePayload] = []
        for i in 0..<100_000 {
            let phone = IPAddress.v4(0xC612_1000 &+ UInt32(i % 2_000))
            let t = Int64(i) * 100
            normal.append(
                payload(request("REGISTER", branch: "z9hG4bKa\(i)", user: "\(1000 + i % 2_000)", credentials: false), from: phone, to: pbx, at: t))
            normal.append(payload(response(401, branch: "z9hG4bKa\(i)", user: "\(1000 + i % 2_000)"), from: pbx, to: phone, at: t + 10))
            normal.append(
                payload(request("REGISTER", branch: "z9hG4bKb\(i)", user: "\(1000 + i % 2_000)", credentials: true), from: phone, to: pbx, at: t + 20)
            )
            normal.append(payload(response(200, branch: "z9hG4bKb\(i)", user: "\(1000 + i % 2_000)"), from: pbx, to: phone, at: t + 30))
        }
        measure("normal registrations", normal)

        // 2. Brute force: wrong credentials answered 401, from 50 attackers (one event per pair).
        var brute: [WirePayload] = []
        for i in 0..<200_000 {
            let attacker = IPAddress.v4(0xC612_2000 &+ UInt32(i % 50))
            let t = Int64(i) * 100
            brute.append(
                payload(
                    request("REGISTER", branch: "z9hG4bKc\(i)", user: "\(100 + i % 900)", credentials: true, agent: "pplsip"), from: attacker,
                    to: pbx, at: t))
            brute.append(payload(response(401, branch: "z9hG4bKc\(i)", user: "\(100 + i % 900)"), from: pbx, to: attacker, at: t + 10))
        }
        measure("brute force (401 to credentials)", brute)

        // 3. Spoofed-source OPTIONS flood: every request from a new address, no responses.
        var spoofed: [WirePayload] = []
        for i in 0..<400_000 {
            spoofed.append(
                payload(
                    request("OPTIONS", branch: "z9hG4bKd\(i)", user: "100", credentials: false), from: .v4(0x0A00_0000 &+ UInt32(i)), to: pbx,
                    at: Int64(i) * 5))
        }
        measure("spoofed OPTIONS flood", spoofed)

        // Baseline: the parser alone on the same messages (what correlation adds on top).
        var parsed = 0
        let start = now()
        for p in normal {
            p.bytes.withUnsafeBytes { raw in
                if (try? SIPMessage(parsing: raw)) != nil { parsed += 1 }
            }
        }
        let rate = Double(normal.count) / (now() - start)
        print("parser alone (normal registrations): \(parsed) parsed, \(Int(rate)) messages/s")
    }
}
