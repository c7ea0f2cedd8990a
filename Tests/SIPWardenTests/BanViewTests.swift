// SPDX-License-Identifier: GPL-2.0-or-later

import ControlPlane
import Foundation
import NetworkAddress
import Storage
import Testing
import WardenCore

@testable import SIPWarden

@Suite struct BanViewTests {
    private let record = BanRecord(
        id: 42, network: IPNetwork("198.18.7.0/24")!, reason: "abuse \"case\" 1\nsecond line", rule: .manual,
        createdAt: Timestamp(seconds: 1_764_072_000), expiresAt: Timestamp(seconds: 1_764_075_600), offence: 2,
        liftedAt: Timestamp(seconds: 1_764_073_000), origin: .manual)

    @Test func aRecordIsShownWithEveryFieldOnce() {
        let view = BanView(record, inKernel: false)
        #expect(view.id == 42 && view.network == "198.18.7.0/24" && view.kind == "manual" && view.origin == "manual")
        #expect(view.offence == 2 && view.reason == record.reason)
        #expect(view.created == "2025-11-25T12:00:00Z" && view.expires == "2025-11-25T13:00:00Z" && view.lifted == "2025-11-25T12:16:40Z")
        #expect(view.banID == record.banID.description && view.inKernel == false)
    }

    @Test func bansListJSONIsTheAPIsViewOneLineEach() throws {
        let views = [
            BanView(record, inKernel: true),
            BanView(
                BanRecord(
                    network: IPNetwork("2001:2::66/128")!, reason: "manual", rule: .manual, createdAt: Timestamp(seconds: 1_764_072_000),
                    expiresAt: nil, origin: .manual), inKernel: nil),
        ]
        let text = Administration.render(views, all: true, limit: 10, json: true)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines.last == "", "one line per ban, newline-terminated")
        let decoded = try lines.dropLast().map { try JSONDecoder().decode(BanView.self, from: Data($0.utf8)) }
        #expect(decoded == views)
        // Absent values are left out, not written as null.
        #expect(!lines[1].contains("expires") && !lines[1].contains("in_kernel") && !lines[1].contains("null"))
        #expect(lines[1].contains(#""network":"2001:2::66","kind":"manual""#))
    }
}
