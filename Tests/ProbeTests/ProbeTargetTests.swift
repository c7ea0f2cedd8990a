// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Probe
import Testing

@Suite struct ProbeTargetTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1", UInt16(5060)),
        ("127.0.0.1:5070", "127.0.0.1", 5070),
        (" 127.1.2.3:1 ", "127.1.2.3", 1),
        ("[::1]:5071", "::1", 5071),
        ("[::1]", "::1", 5060),
        ("::1", "::1", 5060),
        ("[::ffff:127.0.0.1]:5062", "127.0.0.1", 5062),
    ])
    func acceptsLoopback(text: String, address: String, port: UInt16) throws {
        let target = try ProbeTarget(parsing: text, iOwnThisHost: false)
        #expect(target.address == IPAddress(address))
        #expect(target.port == port)
        #expect(target.transport == .udp)
    }

    @Test func describesWithBrackets() throws {
        #expect(try ProbeTarget(parsing: "[::1]:5071", iOwnThisHost: false).description == "[::1]:5071")
        #expect(try ProbeTarget(parsing: "127.0.0.1", iOwnThisHost: false).description == "127.0.0.1:5060")
    }

    @Test(arguments: [
        "localhost", "pbx.example.com:5060", "example", "[localhost]:5060", "[127.0.0.1]:5060", "[::1", "[::1]x", "1.2.3:5060", "127.0.0.1.5",
    ])
    func refusesNonNumericHosts(text: String) {
        #expect(throws: ProbeTargetError.self) { try ProbeTarget(parsing: text, iOwnThisHost: true) }
        do {
            _ = try ProbeTarget(parsing: text, iOwnThisHost: true)
        } catch {
            guard case .notNumeric = error else {
                Issue.record("\(text): expected notNumeric, got \(error)")
                return
            }
            #expect(error.description.contains("does not resolve host names"))
        }
    }

    @Test(arguments: ["127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:abc", "127.0.0.1:+50", "[::1]:-1", "[::1]:123456"])
    func refusesBadPorts(text: String) {
        do {
            _ = try ProbeTarget(parsing: text, iOwnThisHost: true)
            Issue.record("\(text) accepted")
        } catch {
            guard case .badPort = error else {
                Issue.record("\(text): expected badPort, got \(error)")
                return
            }
        }
    }

    @Test func refusesEmpty() {
        #expect(throws: ProbeTargetError.empty) { try ProbeTarget(parsing: "  ", iOwnThisHost: true) }
    }

    @Test(arguments: ["198.18.0.1", "198.18.0.1:5060", "[2001:2::1]:5060", "10.0.0.1", "192.0.2.7"])
    func nonLoopbackNeedsOwnership(text: String) throws {
        do {
            _ = try ProbeTarget(parsing: text, iOwnThisHost: false)
            Issue.record("\(text) accepted without --i-own-this-host")
        } catch {
            guard case .notLoopback = error else {
                Issue.record("\(text): expected notLoopback, got \(error)")
                return
            }
            #expect(error.description.contains("--i-own-this-host"))
            #expect(error.description.contains("not a loopback address"))
        }
        let owned = try ProbeTarget(parsing: text, iOwnThisHost: true)
        #expect(!owned.address.isLoopback)
    }

    @Test(arguments: [
        ("0.0.0.0", "unspecified"), ("0.1.2.3:5060", "unspecified"), ("255.255.255.255", "broadcast"),
        ("224.0.0.1", "multicast"), ("239.255.255.250:1900", "multicast"), ("240.0.0.1", "reserved"),
        ("::", "unspecified"), ("[::]:5060", "unspecified"), ("ff02::1", "multicast"), ("[ff05::fb]:5353", "multicast"),
        ("[::ffff:224.0.0.9]:5060", "multicast"),
    ])
    func alwaysRefusesSpecialAddresses(text: String, reason: String) {
        for owned in [false, true] {
            do {
                _ = try ProbeTarget(parsing: text, iOwnThisHost: owned)
                Issue.record("\(text) accepted (iOwnThisHost: \(owned))")
            } catch {
                guard case .forbiddenAddress(_, let why) = error else {
                    Issue.record("\(text): expected forbiddenAddress, got \(error)")
                    continue
                }
                #expect(why.hasPrefix(reason))
                #expect(error.description.contains("never probed"))
            }
        }
    }

    @Test func messagesDoNotEchoControlCharacters() {
        do {
            _ = try ProbeTarget(parsing: "evil\u{1b}[31m.example", iOwnThisHost: true)
            Issue.record("accepted")
        } catch {
            #expect(!error.description.unicodeScalars.contains { $0.value < 0x20 })
        }
    }
}
