// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import PacketDecoding
import WardenCore

@testable import SIPCorrelation

/// Addresses from the benchmarking range (198.18.0.0/15) and 2001:2::/48.
enum Net {
    static let pbx = IPAddress("198.18.0.10")!
    static let phone = IPAddress("198.18.0.20")!
    static let attacker = IPAddress("198.18.1.66")!
    static let other = IPAddress("198.18.0.99")!
    static let pbx6 = IPAddress("2001:2::10")!
    static let attacker6 = IPAddress("2001:2::66")!
}

/// Builds payloads and SIP messages for the tests, with a running frame number.
struct Wire {
    var frame = 0
    var correlator: SIPCorrelator
    var events: [SecurityEvent] = []

    init(_ configuration: CorrelatorConfiguration = CorrelatorConfiguration()) {
        correlator = SIPCorrelator(configuration: configuration)
    }

    /// Sends `text` from `from` to `to` at `time` seconds; returns the events it produced.
    @discardableResult
    mutating func send(
        _ text: String, from: IPAddress, _ sport: UInt16 = 5060, to: IPAddress, _ dport: UInt16 = 5060,
        at time: Double, transport: Transport = .udp
    ) -> [SecurityEvent] {
        send(bytes: Array(text.utf8), from: from, sport, to: to, dport, at: time, transport: transport)
    }

    @discardableResult
    mutating func send(
        bytes: [UInt8], from: IPAddress, _ sport: UInt16 = 5060, to: IPAddress, _ dport: UInt16 = 5060,
        at time: Double, transport: Transport = .udp
    ) -> [SecurityEvent] {
        frame += 1
        let payload = WirePayload(
            time: Timestamp(microseconds: Int64(time * 1_000_000)),
            flow: FlowKey(source: from, sourcePort: sport, destination: to, destinationPort: dport, transport: transport),
            bytes: bytes, origin: .frame(frame)
        )
        let produced = correlator.ingest(payload, sensor: "test.pcap")
        events += produced
        return produced
    }
}

/// A SIP request and the responses to it, written the way user agents write them.
struct Request {
    var method = "REGISTER"
    var uri = "sip:198.18.0.10"
    var viaHost = "198.18.0.20:5060"
    var transport = "UDP"
    var branch = "z9hG4bK776asdhds"
    var fromURI = "sip:1001@198.18.0.10"
    var fromDisplay = ""
    var fromTag = "1928301774"
    var toURI = "sip:1001@198.18.0.10"
    var callID = "a84b4c76e66710@198.18.0.20"
    var cseq = 1
    var userAgent: String? = "Yealink SIP-T46S 66.86.0.15"
    var authorization: String?
    var contact: String? = "<sip:1001@198.18.0.20:5060>"
    var compact = false
    var body = ""

    /// Digest credentials for `user`.
    mutating func withCredentials(user: String = "1001", header: String = "Authorization") {
        authorization =
            "\(header): Digest username=\"\(user)\", realm=\"asterisk\", nonce=\"5e1b3c\", uri=\"\(uri)\", response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5"
    }

    var text: String {
        let display = fromDisplay.isEmpty ? "" : "\"\(fromDisplay)\" "
        var lines = ["\(method) \(uri) SIP/2.0"]
        lines.append("\(compact ? "v" : "Via"): SIP/2.0/\(transport) \(viaHost);branch=\(branch);rport")
        lines.append("Max-Forwards: 70")
        lines.append("\(compact ? "f" : "From"): \(display)<\(fromURI)>;tag=\(fromTag)")
        lines.append("\(compact ? "t" : "To"): <\(toURI)>")
        lines.append("\(compact ? "i" : "Call-ID"): \(callID)")
        lines.append("CSeq: \(cseq) \(method)")
        if let contact { lines.append("\(compact ? "m" : "Contact"): \(contact)") }
        if let authorization { lines.append(authorization) }
        if let userAgent { lines.append("User-Agent: \(userAgent)") }
        lines.append("\(compact ? "l" : "Content-Length"): \(body.utf8.count)")
        return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    /// A response to this request (the server echoes Via, From, To, Call-ID and CSeq).
    func response(_ code: Int, _ reason: String = "Reason", extra: [String] = []) -> String {
        var lines = ["SIP/2.0 \(code) \(reason)"]
        lines.append("Via: SIP/2.0/\(transport) \(viaHost);branch=\(branch);received=198.18.0.20;rport=5060")
        lines.append("From: <\(fromURI)>;tag=\(fromTag)")
        lines.append("To: <\(toURI)>" + (code > 100 ? ";tag=as5f2c1e" : ""))
        lines.append("Call-ID: \(callID)")
        lines.append("CSeq: \(cseq) \(method)")
        lines.append("Server: Asterisk PBX 20.5.0")
        lines += extra
        lines.append("Content-Length: 0")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }
}

extension Array where Element == SecurityEvent {
    func of(_ kind: EventKind) -> [SecurityEvent] { filter { $0.kind == kind } }
}
