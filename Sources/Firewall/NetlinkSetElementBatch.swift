// SPDX-License-Identifier: GPL-2.0-or-later

import Netlink
import NetworkAddress

/// One nfnetlink batch (one nf_tables transaction) that adds and deletes elements of
/// sets in an `inet` table: the firewall's use of the `Netlink` codec.
///
/// Pure: builds bytes, does no I/O. Layout (`<linux/netfilter/nf_tables.h>`, framed by
/// `NetlinkBatch`): `NFNL_MSG_BATCH_BEGIN`, one `NFT_MSG_NEWSETELEM` / `NFT_MSG_DELSETELEM`
/// per change (long element lists are split over several messages), `NFNL_MSG_BATCH_END`.
/// Each change message carries `NFTA_SET_ELEM_LIST_TABLE`, `_SET` (NUL-terminated) and a
/// nested `_ELEMENTS` list of `NFTA_LIST_ELEM { NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE },
/// NFTA_SET_ELEM_TIMEOUT (be64 ms) }`. Only change messages ask for an acknowledgement
/// (`changeSequences`); the kernel applies all of them or none.
struct NetlinkSetElementBatch: Sendable {
    /// Add or delete.
    enum Operation: Sendable, Hashable {
        /// `NFT_MSG_NEWSETELEM` with `NLM_F_CREATE`: an element already present is not an error.
        case add
        /// `NFT_MSG_DELSETELEM`: the element must be present.
        case delete
    }

    /// A set element: its key and, for additions, its timeout.
    struct Element: Sendable, Hashable {
        /// The key, as nf_tables stores it: 4 (IPv4) or 16 (IPv6) bytes in network order.
        let key: [UInt8]
        /// Milliseconds until the kernel removes the element; nil = permanent (no
        /// `NFTA_SET_ELEM_TIMEOUT`). Ignored for deletions.
        let timeoutMilliseconds: UInt64?
        /// True for the element that ends an interval in an interval set (key = last
        /// address + 1, `NFTA_SET_ELEM_FLAGS` = `NFT_SET_ELEM_INTERVAL_END`); sent with
        /// additions and deletions alike (the kernel matches on key and flag).
        let intervalEnd: Bool

        init(key: [UInt8], timeoutMilliseconds: UInt64?, intervalEnd: Bool = false) {
            self.key = key
            self.timeoutMilliseconds = timeoutMilliseconds
            self.intervalEnd = intervalEnd
        }
    }

    /// Elements per message at most.
    static let maximumElementsPerMessage = 1_000
    /// Bytes of one message's nested element list at most: its `nla_len` is 16 bits.
    static let maximumListBytes = 60_000
    /// Largest key accepted (`NFT_DATA_VALUE_MAXLEN`).
    static let maximumKeyLength = NFTablesConstant.dataValueMaximumLength

    /// The batch being built (the socket shell sends it).
    var batch: NetlinkBatch
    private let table: String

    /// Starts a batch for `table` (an `inet` table); the messages are numbered from
    /// `firstSequence` on (wrapping).
    ///
    /// Throws `.invalidArgument` when the name is empty, too long or contains a NUL byte.
    init(table: String, firstSequence: UInt32) throws(FirewallError) {
        try Self.checkName(table, what: "table")
        self.table = table
        batch = NetlinkBatch(subsystem: NFNetlink.subsystemNFTables, firstSequence: firstSequence, reservingCapacity: 256)
    }

    /// Sequence number of the `NFNL_MSG_BATCH_BEGIN` message.
    var beginSequence: UInt32 { batch.beginSequence }
    /// Sequence numbers of the change messages, each of which the kernel acknowledges.
    var changeSequences: [UInt32] { batch.acknowledgedSequences }
    /// Sequence number the message after `BATCH_END` would get: where the next batch may start.
    var sequenceAfter: UInt32 { batch.sequenceAfter }
    /// True when the batch holds no change message.
    var isEmpty: Bool { batch.isEmpty }

    /// Appends the change of `elements` in `set`. Nothing is appended for an empty list.
    ///
    /// Throws `.invalidArgument` for a bad set name or an empty or over-long key; the batch
    /// is then unchanged.
    mutating func append(_ operation: Operation, set: String, elements: [Element]) throws(FirewallError) {
        try Self.checkName(set, what: "set")
        for element in elements where element.key.isEmpty || element.key.count > Self.maximumKeyLength {
            throw FirewallError(.invalidArgument, "set element key of \(element.key.count) bytes (1...\(Self.maximumKeyLength) allowed)")
        }
        let message: UInt16
        let flags: UInt16
        switch operation {
        case .add:
            message = NFTablesConstant.newSetElement
            flags = NetlinkFlag.create | NetlinkFlag.acknowledge
        case .delete:
            message = NFTablesConstant.deleteSetElement
            flags = NetlinkFlag.acknowledge
        }
        let table = self.table
        let withTimeout = operation == .add
        var start = elements.startIndex
        while start < elements.endIndex {
            // Split by count and by the bytes of the nested list (keys up to 64 bytes).
            var end = start
            var listBytes = 0
            while end < elements.endIndex, end - start < Self.maximumElementsPerMessage {
                let size = Self.encodedSize(elements[end], withTimeout: withTimeout)
                guard listBytes + size <= Self.maximumListBytes else { break }
                listBytes += size
                end += 1
            }
            let chunk = elements[start..<end]
            do throws(NetlinkEncodeError) {
                try batch.append(message: message, flags: flags, family: NFProtocolFamily.inet) { (body) throws(NetlinkEncodeError) in
                    try body.append(NFTablesConstant.listTable, string: table)
                    try body.append(NFTablesConstant.listSet, string: set)
                    try body.appendNested(NFTablesConstant.listElements) { (list) throws(NetlinkEncodeError) in
                        for element in chunk {
                            try list.appendNested(NFTablesConstant.listElement) { (item) throws(NetlinkEncodeError) in
                                try item.appendNested(NFTablesConstant.elementKey) { (key) throws(NetlinkEncodeError) in
                                    try key.append(NFTablesConstant.dataValue, bytes: element.key)
                                }
                                if element.intervalEnd {
                                    item.append(NFTablesConstant.elementFlags, bigEndian: NFTablesConstant.elementIntervalEnd)
                                }
                                if withTimeout, let timeout = element.timeoutMilliseconds {
                                    item.append(NFTablesConstant.elementTimeout, bigEndian: timeout)
                                }
                            }
                        }
                    }
                }
            } catch {
                // Not reachable with checked names and keys and the split above.
                throw FirewallError(.invalidArgument, error.description)
            }
            start = end
        }
    }

    /// Appends a flush of `set`: `NFT_MSG_DELSETELEM` without an element list removes every
    /// element, in the same transaction as the rest of the batch.
    mutating func appendFlush(set: String) throws(FirewallError) {
        try Self.checkName(set, what: "set")
        let table = self.table
        do throws(NetlinkEncodeError) {
            try batch.append(message: NFTablesConstant.deleteSetElement, flags: NetlinkFlag.acknowledge, family: NFProtocolFamily.inet) {
                (body) throws(NetlinkEncodeError) in
                try body.append(NFTablesConstant.listTable, string: table)
                try body.append(NFTablesConstant.listSet, string: set)
            }
        } catch {
            throw FirewallError(.invalidArgument, error.description)
        }
    }

    /// Appends `NFNL_MSG_BATCH_END` and returns the batch. Idempotent.
    mutating func finish() -> [UInt8] { batch.finish() }

    // MARK: Keys and timeouts

    /// The key bytes of an address: 4 or 16 bytes, network order.
    static func key(_ address: UInt128, family: IPAddress.Family) -> [UInt8] {
        let count = family == .v4 ? 4 : 16
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = UInt8(truncatingIfNeeded: address >> UInt128(8 * (count - 1 - index))) }
            initialized = count
        }
    }

    /// A lifetime in whole milliseconds as nft would send it: rounded up, at least 1 ms (a
    /// zero timeout would mean "the set default", here: never). Nil when not positive or
    /// too large to express.
    static func milliseconds(_ duration: Duration) -> UInt64? {
        guard duration > .zero else { return nil }
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        guard !overflow else { return nil }
        // attoseconds is in 0..<1e18 for a positive duration; 1 ms = 1e15 as.
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        let (total, overflow2) = whole.addingReportingOverflow(fraction)
        guard !overflow2, total > 0 else { return nil }
        return UInt64(total)
    }

    /// `value` in network byte order.
    static func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        let size = T.bitWidth / 8
        return (0..<size).map { UInt8(truncatingIfNeeded: value >> ((size - 1 - $0) * 8)) }
    }

    // MARK: Checks

    /// `NFTA_LIST_ELEM` with its key (and timeout): 4 + (4 + 4 + padded key) (+ 12).
    private static func encodedSize(_ element: Element, withTimeout: Bool) -> Int {
        let key = (element.key.count + 3) & ~3
        return 12 + key + (withTimeout && element.timeoutMilliseconds != nil ? 12 : 0) + (element.intervalEnd ? 8 : 0)
    }

    /// nf_tables reads names up to their NUL, at most `NFT_NAME_MAXLEN` bytes with it.
    private static func checkName(_ name: String, what: String) throws(FirewallError) {
        let count = name.utf8.count
        guard count > 0, count < NFTablesConstant.nameMaximumLength, !name.utf8.contains(0) else {
            throw FirewallError(.invalidArgument, "\(what) name must be 1...\(NFTablesConstant.nameMaximumLength - 1) bytes without NUL")
        }
    }
}
