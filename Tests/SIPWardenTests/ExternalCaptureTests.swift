// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import SIPWarden
import Testing
import WardenCore

/// Real devices' captures from other projects' test suites (../shared/corpus/external/pcap,
/// provenance in its README.md and index.jsonl), through the same path as
/// `sipwarden events --pcap FILE`.
@Suite("External captures: no false events")
struct ExternalCaptureTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/corpus/external/pcap").standardizedFileURL.path

    /// Captures that hold only legitimate traffic, each with why (from the corpus README and
    /// index.jsonl). sipwarden must emit no event at all on them.
    static let legitimate: [(file: String, why: String)] = [
        (
            "heplify-erspan_sip_ipv4_udp.pcapng",
            "Alcatel OmniPCX calls and transfers; 407 challenges without credentials, 481/488 in normal dialog handling"
        ),
        ("heplify-sip_ipv4_tcp.pcap", "one ordinary call over TCP"),
        ("heplify-sip_ipv4_tcp_fragmented.pcap", "an Avaya CM ↔ SBC trunk in production: calls, updates, busy and cancelled calls"),
        ("heplify-sip_ipv4_tcp_retrans.pcap", "MicroSIP registering (401 challenge then 200) over UDP and TCP with retransmissions"),
        ("heplify-sip_ipv6_udp.pcap", "one IPv6 call whose phone writes unbracketed IPv6 addresses in Via"),
        ("heplify-sip_tcp_websocket.pcap", "SIP.js over WebSocket through OpenSIPS, FreeSWITCH legs over UDP"),
        ("ndpi-http_on_sip_port.pcap", "HTTP on port 5060, not SIP"),
        ("ndpi-sip_hello.pcapng", "a Huawei SoftX3000 registering (401 then 200) and `hello` keep-alive datagrams on 5060"),
        ("sngrep-ipip.pcap", "one call over TCP, partly inside IP-in-IP"),
        ("sngrep-ipv6frag.pcap", "two IPv6 calls with 100rel, fragmented"),
        ("sv-sip-body-frames-public-cloudshark-sip-s0.pcap", "X-Lite registering and calling"),
        ("sv-sip-body-large-sip-body-large.pcap", "one INVITE over TCP with a 64 KiB body: larger than the sensor's limit, not broken"),
        ("sv-sip-compact-form-sip_compact_form.pcap", "a softphone's INVITE in compact form with a backslash-escaped display name"),
        ("sv-sip-header-multi-value-sip_header_multi_val.pcap", "the same softphone's INVITE with multi-valued headers"),
        ("sv-sip-options-method-input.pcap", "OPTIONS answered 200"),
        ("sv-sip-pattern-matching-sip.pcap", "one REGISTER challenged with 401 (capture ends before the retry)"),
        ("sv-sip-sdp-sdp.pcap", "the same softphone's INVITE with SDP, answered 200"),
        ("sv-sip-ssdp-pm-ssdp.pcap", "SSDP `NOTIFY * HTTP/1.1`, not SIP"),
        ("sv-sip-tcp-method-sip-tcp.pcap", "Zoiper registering over TCP, 200"),
        ("sv-sip-tcp-pattern-matching-sip.pcap", "one REGISTER over TCP challenged with 401"),
        ("zeek-invalid-content-length.pcap", "an INVITE with `Content-Length: bad` that the server accepted with 200"),
        ("zeek-sip-long-request-response-paths.pcap", "OPTIONS and 200 with many long Via headers"),
    ]

    /// Captures left out of the legitimate set, and why: they hold real failures that
    /// sipwarden exists to report. They must still produce no `malformed`, `flood` or `scanner`.
    static let withFailures: [(file: String, why: String)] = [
        (
            "heplify-ipip0.pcap",
            "a Polycom phone's wrong credentials (401 to REGISTER with credentials) and an unauthenticated INVITE to an international number from another address (403)"
        ),
        ("heplify-sip_sctp.pcap", "an INVITE refused with 403 (over SCTP, which the correlator does not decode)"),
        (
            "sv-sip-method-sip.pcap",
            "Wireshark's aaa.pcap: wrong passwords answered 401/403 (the same 8 auth_failed as zeek's wireshark.pcap), plus five-space keep-alives"
        ),
        ("voipddos-sip.pcapng", "a lab for a DDoS tool: INVITE and SUBSCRIBE with credentials refused with 403"),
    ]

    static func events(_ file: String) throws -> [SecurityEvent] {
        var events: [SecurityEvent] = []
        try WireAnalysis.decode(files: [directory + "/" + file]) { events.append($0) }
        return events
    }

    @Test("every capture of the corpus is classified here, and the corpus is present")
    func everyFileClassified() throws {
        let present = try FileManager.default.contentsOfDirectory(atPath: Self.directory)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
        #expect(!present.isEmpty, "no captures in \(Self.directory)")
        let listed = Set(Self.legitimate.map(\.file) + Self.withFailures.map(\.file))
        #expect(Set(present) == listed)
    }

    @Test("legitimate-only captures: no event at all", arguments: Self.legitimate.map(\.file))
    func legitimateCapture(file: String) throws {
        let events = try Self.events(file)
        #expect(events.isEmpty, "\(file): \(events.map { "\($0.kind) \($0.source) \($0.reason ?? "")" })")
    }

    @Test("captures with real failures: only the failures, never malformed, flood or scanner", arguments: Self.withFailures.map(\.file))
    func captureWithFailures(file: String) throws {
        let events = try Self.events(file)
        let kinds = Set(events.map(\.kind))
        #expect(kinds.isSubset(of: [.authFailed, .unknownUser, .unauthenticatedCall]), "\(file): \(kinds)")
    }
}
