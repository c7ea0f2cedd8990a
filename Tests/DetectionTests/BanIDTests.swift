// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing
import WardenCore

@Suite("Ban IDs")
struct BanIDTests {
    @Test("fresh IDs are version-4 UUIDs, all distinct across several refills of the random pool")
    func freshIDsAreRandomVersion4() {
        let ids = (0..<5_000).map { _ in BanID() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let u = id.uuid.uuid
            #expect(u.6 >> 4 == 4, "version nibble of \(id)")
            #expect(u.8 >> 6 == 0b10, "variant bits of \(id)")
        }
        // Random bits: over 5,000 IDs every one of the 122 random bit positions takes both values.
        var ones = [Int](repeating: 0, count: 128)
        for id in ids {
            withUnsafeBytes(of: id.uuid.uuid) { raw in
                for bit in 0..<128 where raw[bit / 8] & (0x80 >> UInt8(bit % 8)) != 0 { ones[bit] += 1 }
            }
        }
        let fixed: Set<Int> = [48, 49, 50, 51, 64, 65]
        for bit in 0..<128 where !fixed.contains(bit) {
            #expect((1_500...3_500).contains(ones[bit]), "bit \(bit) set in \(ones[bit]) of 5000")
        }
        #expect(BanID(ids[0].description) == ids[0])
    }
}
