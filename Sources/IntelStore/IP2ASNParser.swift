// SPDX-License-Identifier: GPL-2.0-or-later

/// iptoasn's `ip2asn` TSV: `range_start TAB range_end TAB AS_number TAB country_code TAB
/// AS_description`, inclusive ranges, no header; v4, v6 or both in one file, or IPv4 as
/// 32-bit decimal numbers (`ip2asn-v4-u32.tsv`). Rows with AS 0 ("Not routed") are gaps:
/// counted, not stored.
import NetworkAddress

enum IP2ASNParser {
    static func parse(_ b: UnsafeBufferPointer<UInt8>, name: String) throws(IntelParseError) -> IntelDataset {
        var dataset = IntelDataset(name: name, format: .ip2asn, role: .asn)
        // Interning: the first record of each AS, then a chain through `next`.
        var firstByASN: [UInt32: UInt32] = [:]
        var next: [UInt32] = []
        var records: [ASRecord] = []
        var fields = [Range<Int>](repeating: 0..<0, count: 5)

        func intern(_ b: UnsafeBufferPointer<UInt8>, asn: UInt32, country: Range<Int>, name: Range<Int>, line: Int) throws(IntelParseError) -> UInt32
        {
            let code = IntelText.country(b, country)
            let nameRange = IntelText.trimmed(b, name)
            guard nameRange.count <= IntelLimits.maxFieldBytes else {
                throw IntelParseError(line: line, "AS description longer than \(IntelLimits.maxFieldBytes) bytes")
            }
            let nameBytes = UnsafeBufferPointer(rebasing: b[nameRange])
            var candidate = firstByASN[asn]
            while let id = candidate {
                let record = records[Int(id)]
                if record.country == code, record.name.utf8.elementsEqual(nameBytes) { return id }
                candidate = next[Int(id)] == UInt32.max ? nil : next[Int(id)]
            }
            let id = UInt32(records.count)
            records.append(ASRecord(asn: asn, country: code, name: String(decoding: nameBytes, as: UTF8.self)))
            next.append(firstByASN[asn] ?? UInt32.max)
            firstByASN[asn] = id
            return id
        }

        try IntelText.forEachLine(b) { line, range throws(IntelParseError) in
            var end = range.upperBound
            if end > range.lowerBound, b[end - 1] == 0x0D { end -= 1 }
            if end == range.lowerBound { return }
            // Split on the first four tabs; the description keeps any later tab.
            var count = 0
            var from = range.lowerBound
            var k = from
            while k < end, count < 4 {
                if b[k] == 0x09 {
                    fields[count] = from..<k
                    count += 1
                    from = k + 1
                }
                k += 1
            }
            guard count == 4 else {
                throw IntelParseError(line: line, "expected 5 TAB-separated fields: start, end, AS number, country, description")
            }
            fields[4] = from..<end
            guard let asn64 = IntelText.decimal(b, fields[2]), asn64 <= UInt64(UInt32.max) else {
                throw IntelParseError(line: line, "bad AS number '\(excerpt(b, fields[2]))'")
            }
            let asn = UInt32(asn64)
            guard dataset.entryCount < IntelLimits.maxEntries else {
                throw IntelParseError(line: line, "more than \(IntelLimits.maxEntries) ranges")
            }
            // Addresses: dotted/colon text, or 32-bit decimal (the u32 variant).
            let start = try address(b, fields[0], line: line)
            let last = try address(b, fields[1], line: line)
            switch (start, last) {
            case (.v4(let s), .v4(let e)):
                guard s <= e else { throw IntelParseError(line: line, "range start after its end") }
                if asn == 0 {
                    dataset.skippedRows += 1
                    return
                }
                let id = try intern(b, asn: asn, country: fields[3], name: fields[4], line: line)
                dataset.v4.append(s, e, id)
            case (.v6, .v6):
                let s = start.key128
                let e = last.key128
                guard s <= e else { throw IntelParseError(line: line, "range start after its end") }
                if asn == 0 {
                    dataset.skippedRows += 1
                    return
                }
                let id = try intern(b, asn: asn, country: fields[3], name: fields[4], line: line)
                dataset.v6.append(s, e, id)
            default:
                throw IntelParseError(line: line, "range start and end of different address families")
            }
        }
        dataset.asRecords = records
        return dataset
    }

    private static func address(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, line: Int) throws(IntelParseError) -> IPAddress {
        if let a = IntelText.address(b, r) { return a }
        if let v = IntelText.decimal(b, r), v <= UInt64(UInt32.max) { return .v4(UInt32(v)) }
        throw IntelParseError(line: line, "bad address '\(excerpt(b, r))'")
    }
}
