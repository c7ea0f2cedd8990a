// SPDX-License-Identifier: GPL-2.0-or-later

//
// libFuzzer target for the Netlink codec's readers: the message walk (NetlinkMessageReader),
// NLMSG_ERROR decoding, nfgenmsg and the attribute reader, recursively into nested
// attributes, and the nf_tables set element dump decoder (NFTSetElementDump). Built by Fuzz/netlink-build.sh from Sources/Netlink/Codec (one module), run by
// Fuzz/netlink-run.sh. Besides "never traps": every message and attribute lies inside the
// input, messages are contiguous and 4-aligned, a datagram never yields more messages than
// 16-byte headers fit, an acknowledgement's errno is never negative, and every attribute
// list read without error survives a round trip through NetlinkAttributeWriter.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let raw = UnsafeRawBufferPointer(start: size > 0 ? data : nil, count: size > 0 ? size : 0)
    var reader = NetlinkMessageReader(raw)
    var count = 0
    var expectedOffset = 0
    while true {
        let next: NetlinkMessage?
        do throws(NetlinkDecodeError) {
            next = try reader.next()
        } catch {
            _ = error.description
            break
        }
        guard let message = next else { break }
        count += 1
        precondition(message.offset == expectedOffset, "messages are not contiguous")
        precondition(Int(message.header.length) == NetlinkHeader.size + message.payload.count, "payload and nlmsg_len disagree")
        precondition(message.offset + Int(message.header.length) <= size, "a message past the end")
        expectedOffset = (message.offset + Int(message.header.length) + 3) & ~3
        if message.isError, let acknowledgement = try? message.acknowledgement() {
            precondition(acknowledgement.errno >= 0, "a negative errno")
        }
        if let (_, attributes) = try? message.nfnetlink() {
            check(attributes, depth: 0, end: size)
            checkSetElements(message)
            roundTrip(UnsafeRawBufferPointer(rebasing: message.payload[NFGenHeader.size...]))
        }
    }
    precondition(count <= size / NetlinkHeader.size, "more messages than headers fit")
    return 0
}

/// Walks `reader` and every nested list below it (bounded depth); each attribute must lie
/// inside the input.
private func check(_ reader: NetlinkAttributeReader, depth: Int, end: Int) {
    var reader = reader
    while let attribute = try? reader.next() {
        precondition(attribute.offset >= 0 && attribute.offset + 4 + attribute.payload.count <= end, "an attribute past the end")
        _ = attribute.string(limit: 64)
        _ = try? attribute.bigEndianUInt32()
        if depth < 16 { check(attribute.nested, depth: depth + 1, end: end) }
    }
}

/// An attribute list read without error is written again and must read back the same.
private func roundTrip(_ bytes: UnsafeRawBufferPointer) {
    var reader = NetlinkAttributeReader(bytes)
    guard let original = try? reader.all() else { return }
    var writer = NetlinkAttributeWriter()
    for attribute in original {
        let type =
            attribute.type | (attribute.isNested ? NetlinkAttributeFlag.nested : 0)
            | (attribute.isNetworkByteOrder ? NetlinkAttributeFlag.networkByteOrder : 0)
        do throws(NetlinkEncodeError) {
            try writer.append(type, bytes: attribute.payload)
        } catch {
            preconditionFailure("an attribute that was read cannot be written: \(error)")
        }
    }
    writer.bytes.withUnsafeBytes { copy in
        var again = NetlinkAttributeReader(copy)
        guard let reread = try? again.all() else { preconditionFailure("the written attributes do not read back") }
        precondition(reread.count == original.count, "attribute count changed in the round trip")
        for (a, b) in zip(original, reread) {
            precondition(a.type == b.type && a.isNested == b.isNested && a.isNetworkByteOrder == b.isNetworkByteOrder, "type changed")
            precondition(a.payload.elementsEqual(b.payload), "payload changed")
        }
    }
}

/// The set element dump decoder on any nfnetlink message: every element it returns has a
/// key of 1...64 bytes, and it decodes the same bytes the same way twice.
private func checkSetElements(_ message: NetlinkMessage) {
    guard let part = try? NFTSetElementDump.decode(message) else { return }
    for element in part.elements {
        precondition(!element.key.isEmpty && element.key.count <= NFTablesConstant.dataValueMaximumLength, "a key of \(element.key.count) bytes")
    }
    // Invalid UTF-8 is replaced (one U+FFFD per bad sequence): scalars, not bytes, are bounded.
    precondition(part.table.unicodeScalars.count <= NFTablesConstant.nameMaximumLength, "a table name past the limit")
    precondition((try? NFTSetElementDump.decode(message)) == part, "decoding is not deterministic")
}
