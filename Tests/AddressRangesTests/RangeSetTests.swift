// SPDX-License-Identifier: GPL-2.0-or-later

import AddressRanges
import NetworkAddress
import Testing

private func net(_ text: String) -> IPNetwork {
    guard let network = IPNetwork(text, strict: true) else { fatalError("bad test network \(text)") }
    return network
}

private func addr(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
    return address
}

private func texts(_ set: RangeSet) -> [String] { set.networks.map(\.description) }

/// A small reference model: the set as individual addresses (only for tiny IPv4 spaces).
private func members(_ set: RangeSet, in space: ClosedRange<UInt32>) -> Set<UInt32> {
    Set(space.filter { set.contains(.v4($0)) })
}

@Suite("RangeSet: merging, subtraction, differences (IPv4 and IPv6)")
struct RangeSetTests {
    @Test func overlappingAndAdjacentPrefixesAreMerged() {
        let set = RangeSet([net("198.18.0.0/24"), net("198.18.1.0/24"), net("198.18.0.128/25"), net("198.18.3.0/24")])
        #expect(set.v4.count == 2)
        #expect(texts(set) == ["198.18.0.0/23", "198.18.3.0/24"])
        #expect(set.contains(addr("198.18.1.255")))
        #expect(!set.contains(addr("198.18.2.0")))
        #expect(set.contains(addr("198.18.3.7")))
    }

    @Test func mergedRunThatIsNoPrefixSplitsIntoFewestPrefixes() {
        let set = RangeSet([net("198.18.1.0/24"), net("198.18.2.0/23"), net("198.18.4.0/24")])
        #expect(set.count == 1)
        #expect(set.v4[0].description == "198.18.1.0-198.18.4.255")
        #expect(texts(set) == ["198.18.1.0/24", "198.18.2.0/23", "198.18.4.0/24"])
    }

    @Test func ipv6MergesAndKeepsFamiliesApart() {
        let set = RangeSet([net("2001:2::/49"), net("2001:2:0:8000::/49"), net("2001:2:1::/48"), net("198.18.0.0/15")])
        #expect(set.v6.count == 1)
        #expect(set.v4.count == 1)
        #expect(texts(set) == ["198.18.0.0/15", "2001:2::/47"])
        #expect(set.contains(addr("2001:2:1:ffff::1")))
        #expect(!set.contains(addr("2001:2:2::")))
        // An IPv4-mapped address is looked up as IPv4.
        #expect(set.contains(addr("::ffff:198.19.1.1")))
    }

    @Test func theWholeSpaceAndItsLastAddressDoNotOverflow() {
        let all6 = RangeSet([net("::/0"), net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")])
        #expect(texts(all6) == ["::/0"])
        let cut = all6.subtracting([net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")])
        #expect(!cut.contains(addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(cut.contains(addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")))
        let all4 = RangeSet([net("0.0.0.0/0")]).subtracting([net("0.0.0.0/32"), net("255.255.255.255/32")])
        #expect(all4.v4 == [AddressRange(family: .v4, low: 1, high: 0xFFFF_FFFE)!])
    }

    @Test func allowlistedAddressesAreCarvedOut() {
        let block = RangeSet([net("198.18.0.0/22")])
        let carved = block.subtracting([net("198.18.1.7/32"), net("198.18.2.0/24"), net("198.19.0.0/16")])
        #expect(!carved.contains(addr("198.18.1.7")))
        #expect(carved.contains(addr("198.18.1.6")))
        #expect(carved.contains(addr("198.18.1.8")))
        #expect(!carved.contains(addr("198.18.2.100")))
        #expect(carved.contains(addr("198.18.3.0")))
        #expect(
            texts(carved) == [
                "198.18.0.0/24", "198.18.1.0/30", "198.18.1.4/31", "198.18.1.6",
                "198.18.1.8/29", "198.18.1.16/28", "198.18.1.32/27", "198.18.1.64/26", "198.18.1.128/25",
                "198.18.3.0/24",
            ])
    }

    @Test func ipv6CarveOut() {
        let carved = RangeSet([net("2001:2::/48")]).subtracting([net("2001:2:0:1::/64")])
        #expect(!carved.contains(addr("2001:2:0:1::5")))
        #expect(carved.contains(addr("2001:2::1")))
        #expect(carved.contains(addr("2001:2:0:2::")))
        #expect(carved.v6.count == 2)
        // An allowlisted IPv4 address leaves the IPv6 ranges alone.
        #expect(RangeSet([net("2001:2::/48")]).subtracting([net("198.18.0.1/32")]).v6.count == 1)
    }

    @Test func holeCoveringRangesAndSpanningSeveral() {
        let block = RangeSet([net("198.18.0.0/24"), net("198.18.2.0/24"), net("198.18.4.0/24")])
        let carved = block.subtracting([net("198.18.0.128/25"), net("198.18.1.0/24"), net("198.18.2.0/23"), net("198.18.4.0/24")])
        #expect(texts(carved) == ["198.18.0.0/25"])
    }

    /// Subtraction and union agree with a set of addresses, on random small inputs.
    @Test func subtractionAgreesWithAddressSets() {
        var generator = SystemRandomNumberGenerator()
        let space: ClosedRange<UInt32> = 0xC612_0000...0xC612_00FF // 198.18.0.0/24
        for _ in 0..<200 {
            func randomNetworks() -> [IPNetwork] {
                (0..<Int.random(in: 0...6, using: &generator)).compactMap { _ in
                    IPNetwork(address: .v4(UInt32.random(in: space, using: &generator)), prefixLength: Int.random(in: 26...32, using: &generator))
                }
            }
            let a = randomNetworks()
            let b = randomNetworks()
            let setA = RangeSet(a)
            let setB = RangeSet(b)
            let expectedA = Set(space.filter { value in a.contains { $0.contains(IPAddress.v4(value)) } })
            let expectedB = Set(space.filter { value in b.contains { $0.contains(IPAddress.v4(value)) } })
            #expect(members(setA, in: space) == expectedA)
            #expect(members(setA.subtracting(setB), in: space) == expectedA.subtracting(expectedB))
            #expect(members(setA.union(setB), in: space) == expectedA.union(expectedB))
            // Normal form: sorted, disjoint, never adjacent.
            let ranges = setA.subtracting(setB).v4
            for (left, right) in zip(ranges, ranges.dropFirst()) {
                #expect(left.high + 1 < right.low)
            }
        }
    }

    @Test func changesGiveExactlyTheNewSet() {
        let old = RangeSet([net("198.18.0.0/24"), net("198.18.2.0/24"), net("2001:2::/48")])
        let new = RangeSet([net("198.18.0.0/24"), net("198.18.2.0/23"), net("198.18.8.0/24")])
        let (removed, added) = new.changes(from: old)
        #expect(removed.map(\.description) == ["198.18.2.0/24", "2001:2::/48"])
        #expect(added.map(\.description) == ["198.18.2.0/23", "198.18.8.0/24"])
        let kept = old.ranges.filter { !removed.contains($0) }
        #expect(RangeSet(ranges: kept + added) == new)
        #expect(new.changes(from: new).removed.isEmpty && new.changes(from: new).added.isEmpty)
    }
}
