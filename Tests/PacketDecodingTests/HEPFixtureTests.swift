// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import NetworkAddress
import PacketDecoding
import Testing
import WardenCore

/// Real datagrams from Kamailio 5.6's siptrace (see HEPFixtures/README.md and
/// integration/e2e-hep/capture-fixtures.sh).
@Suite("HEP fixtures from Kamailio")
struct HEPFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("HEPFixtures")
    static let key = "sipwarden-fixture-key"
    /// Kamailio's HEP socket (it sends from its SIP listening address).
    static let kamailio = IPAddress("198.18.20.1")!

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func decode(_ name: String, key: String? = HEPFixtureTests.key) throws -> WirePayload {
        let decoded = try HEPDecoder(authKey: key).decode(try fixture(name), agent: kamailio, receivedAt: Timestamp(seconds: 0))
        guard case .sip(let payload) = decoded else { throw HEPError.missingChunk(type: HEPChunkType.payload) }
        return payload
    }

    static func text(_ p: WirePayload) -> String { String(decoding: p.bytes, as: UTF8.self) }

    /// Kamailio stamped these in late 2026 (HEP time, not the test's clock).
    static func plausible(_ t: Timestamp) -> Bool {
        t > Timestamp(seconds: 1_700_000_000) && t < Timestamp(seconds: 2_000_000_000) && t.microseconds % 1_000_000 != 0
    }

    @Test func registerOverIPv4() throws {
        let p = try Self.decode("kamailio-v3-register-ipv4.bin")
        #expect(
            p.flow
                == FlowKey(
                    source: IPAddress("198.18.20.66")!, sourcePort: 5070, destination: IPAddress("198.18.20.1")!, destinationPort: 5060,
                    transport: .udp))
        #expect(p.origin == .hep(agent: Self.kamailio, captureID: 2001))
        #expect(Self.text(p).hasPrefix("REGISTER sip:198.18.20.1 SIP/2.0\r\n"))
        #expect(Self.text(p).hasSuffix("Content-Length: 0\r\n\r\n"))
        #expect(Self.plausible(p.time))
    }

    @Test func replyOverIPv4() throws {
        let p = try Self.decode("kamailio-v3-reply-ipv4.bin")
        #expect(p.flow.source == IPAddress("198.18.20.1") && p.flow.sourcePort == 5060)
        #expect(p.flow.destination == IPAddress("198.18.20.66") && p.flow.destinationPort == 5070)
        #expect(Self.text(p).hasPrefix("SIP/2.0 404 Not Found\r\n"))
    }

    @Test func optionsOverIPv6() throws {
        let p = try Self.decode("kamailio-v3-options-ipv6.bin")
        #expect(
            p.flow
                == FlowKey(
                    source: IPAddress("2001:2::66")!, sourcePort: 5070, destination: IPAddress("2001:2::1")!, destinationPort: 5060,
                    transport: .udp))
        #expect(Self.text(p).hasPrefix("OPTIONS sip:[2001:2::1] SIP/2.0\r\n"))
    }

    @Test func registerAsHEPv2() throws {
        let p = try Self.decode("kamailio-v2-register-ipv4.bin", key: nil)
        #expect(p.flow.source == IPAddress("198.18.20.66") && p.flow.sourcePort == 5070)
        #expect(p.flow.destination == IPAddress("198.18.20.1") && p.flow.destinationPort == 5060)
        #expect(p.origin == .hep(agent: Self.kamailio, captureID: 2001))
        #expect(Self.text(p).hasPrefix("REGISTER sip:198.18.20.1 SIP/2.0\r\n"))
        #expect(Self.plausible(p.time))
        // Both captures came from the same Kamailio minutes apart at most.
        let v3 = try Self.decode("kamailio-v3-register-ipv4.bin")
        #expect(abs((p.time - v3.time).microsecondsClamped) < 600_000_000)
    }

    @Test func realPacketsEnforceTheKey() throws {
        let bytes = try Self.fixture("kamailio-v3-register-ipv4.bin")
        #expect(throws: HEPError.authenticationFailed) {
            try HEPDecoder(authKey: "another-key").decode(bytes, agent: Self.kamailio, receivedAt: Timestamp(seconds: 0))
        }
        #expect(throws: HEPError.authenticationMissing) {
            try HEPDecoder(authKey: "any").decode(
                try Self.fixture("kamailio-v2-register-ipv4.bin"), agent: Self.kamailio, receivedAt: Timestamp(seconds: 0))
        }
        // Accepted without a configured key too.
        #expect(try Self.decode("kamailio-v3-register-ipv4.bin", key: nil).flow.source == IPAddress("198.18.20.66"))
    }

    @Test func everyPrefixOfARealPacketIsRejected() throws {
        for name in ["kamailio-v3-register-ipv4.bin", "kamailio-v3-options-ipv6.bin"] {
            let bytes = try Self.fixture(name)
            for cut in 0..<bytes.count {
                #expect(hepError(Array(bytes[..<cut])) != nil)
            }
        }
    }
}
