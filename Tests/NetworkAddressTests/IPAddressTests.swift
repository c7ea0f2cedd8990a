// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import Testing

@Suite struct IPAddressParsingTests {
    @Test(arguments: [
        ("198.18.0.1", "198.18.0.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("2001:2::1", "2001:2::1"),
        ("[2001:2::1]", "2001:2::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8::", "2001:db8::"),
        ("::ffff:198.18.0.1", "::ffff:c612:1"),
        ("fe80:0:0:0:0:0:0:0", "fe80::"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func parsesAndFormatsCanonically(input: String, canonical: String) throws {
        let a = try #require(IPAddress(input))
        #expect(a.description == canonical)
        #expect(IPAddress(a.description) == a, "round trip")
    }

    @Test(arguments: [
        "", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "300.1.1.1", "01.2.3.4", "1.2.3.04", "1..2.3",
        "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "example.com", "localhost", ":", ":::", "1:2:3:4:5:6:7:8:9",
        "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7::8:9", "::1.2.3", "[::1", "::1]", "1.2.3.4/24",
        "2001:db8::1%eth0", "1:2:3:4:5:6:7:", ":1:2:3:4:5:6:7",
    ])
    func rejectsEverythingThatIsNotANumericAddress(input: String) {
        #expect(IPAddress(input) == nil, "\(input) must be rejected")
    }

    @Test func mappedAddressesUnmap() {
        #expect(IPAddress("::ffff:198.18.0.1")?.unmapped == IPAddress("198.18.0.1"))
        #expect(IPAddress("2001:2::1")?.unmapped == IPAddress("2001:2::1"))
    }

    @Test func randomBytesNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefABCDEF:.[]/%x ".utf8)
        for _ in 0..<20_000 {
            let n = Int.random(in: 0...48, using: &rng)
            var bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            if let a = bytes.withUnsafeBufferPointer({ IPAddress(utf8: $0) }) {
                // Whatever parses must format to something that parses to the same value.
                #expect(IPAddress(a.description) == a)
            }
            bytes.removeAll()
        }
    }
}

@Suite struct IPNetworkTests {
    @Test func prefixesClearHostBits() {
        #expect(IPNetwork("198.18.0.77/24")?.description == "198.18.0.0/24")
        #expect(IPNetwork("198.18.0.77/24", strict: true) == nil)
        #expect(IPNetwork("2001:2::1:2:3:4/64")?.description == "2001:2::/64")
        #expect(IPNetwork("2001:2::1/128")?.description == "2001:2::1")
        #expect(IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("::/129") == nil)
        #expect(IPNetwork("1.2.3.4/-1") == nil)
        #expect(IPNetwork("0.0.0.0/0")?.contains(IPAddress("198.18.0.1")!) == true)
    }

    @Test func containment() {
        let n = IPNetwork("198.18.0.0/15")!
        #expect(n.contains(IPAddress("198.19.255.255")!))
        #expect(!n.contains(IPAddress("198.20.0.0")!))
        #expect(!n.contains(IPAddress("2001:2::1")!))
        #expect(n.contains(IPNetwork("198.18.4.0/24")!))
        #expect(!IPNetwork("198.18.4.0/24")!.contains(n))
        let v6 = IPNetwork("2001:2::/48")!
        #expect(v6.contains(IPAddress("2001:2:0:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:3::1")!))
        #expect(IPNetwork("2001:2::/65")!.contains(IPAddress("2001:2::7fff:0:0:1")!))
        #expect(!IPNetwork("2001:2::/65")!.contains(IPAddress("2001:2::8000:0:0:1")!))
    }

    @Test func networkSetMatchesShortestCoveringPrefix() {
        var set = IPNetworkSet()
        #expect(!set.contains(IPAddress("198.18.0.1")!))
        set.insert(IPNetwork("198.18.0.0/24")!)
        set.insert(IPNetwork("198.18.0.5")!)
        set.insert(IPNetwork("2001:2::/48")!)
        #expect(set.match(IPAddress("198.18.0.5")!) == IPNetwork("198.18.0.0/24"))
        #expect(set.contains(IPAddress("198.18.0.200")!))
        #expect(!set.contains(IPAddress("198.18.1.1")!))
        #expect(set.contains(IPAddress("2001:2:0:1::1")!))
        #expect(set.contains(IPAddress("::ffff:198.18.0.9")!), "IPv4-mapped addresses match IPv4 prefixes")
        #expect(!set.contains(IPAddress("2001:3::1")!))
        #expect(set.networks.count == 3)
    }
}
