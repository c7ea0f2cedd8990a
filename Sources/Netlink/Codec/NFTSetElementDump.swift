// SPDX-License-Identifier: GPL-2.0-or-later

/// `<linux/netfilter/nf_tables.h>`: what reading a set's elements back needs (the dump
/// request and the attributes of its answer).
extension NFTablesConstant {
    /// `NFT_MSG_GETSETELEM`: with `NLM_F_DUMP`, every element of one set.
    public static let getSetElement: UInt16 = 13
    /// `NFTA_SET_ELEM_EXPIRATION`: be64 milliseconds left.
    public static let elementExpiration: UInt16 = 5
    /// `NFTA_SET_ELEM_EXPR`: one nested expression (`NFTA_EXPR_NAME`, `NFTA_EXPR_DATA`),
    /// used when the set has exactly one per-element expression.
    public static let elementExpression: UInt16 = 7
    /// `NFTA_SET_ELEM_EXPRESSIONS`: nested `NFTA_LIST_ELEM`s, each an expression (sets with
    /// more than one per-element expression).
    public static let elementExpressions: UInt16 = 11
    /// `NFTA_EXPR_NAME` (enum nft_expr_attributes): NUL-terminated.
    public static let expressionName: UInt16 = 1
    /// `NFTA_EXPR_DATA`: the expression's own attributes.
    public static let expressionData: UInt16 = 2
    /// `NFTA_COUNTER_BYTES` (enum nft_counter_attributes): be64.
    public static let counterBytes: UInt16 = 1
    /// `NFTA_COUNTER_PACKETS`: be64.
    public static let counterPackets: UInt16 = 2
}

/// One element of an nf_tables set as a `NFT_MSG_GETSETELEM` dump returns it.
public struct NFTSetElement: Sendable, Hashable {
    /// The key (`NFTA_SET_ELEM_KEY` / `NFTA_DATA_VALUE`): 4 or 16 bytes for an address, network order.
    public var key: [UInt8]
    /// `NFTA_SET_ELEM_FLAGS` (0 when absent); `NFT_SET_ELEM_INTERVAL_END` marks the end of an interval.
    public var flags: UInt32
    /// `NFTA_SET_ELEM_TIMEOUT`: the element's lifetime in ms (nil: none).
    public var timeoutMilliseconds: UInt64?
    /// `NFTA_SET_ELEM_EXPIRATION`: ms left (nil: none).
    public var expirationMilliseconds: UInt64?
    /// The element's `counter` expression: packets and bytes (nil when it has none).
    public var counter: Counter?

    /// A per-element counter.
    public struct Counter: Sendable, Hashable {
        /// `NFTA_COUNTER_PACKETS`.
        public var packets: UInt64
        /// `NFTA_COUNTER_BYTES`.
        public var bytes: UInt64

        /// A counter with the given values.
        public init(packets: UInt64, bytes: UInt64) {
            self.packets = packets
            self.bytes = bytes
        }
    }

    /// An element with the given fields.
    public init(key: [UInt8], flags: UInt32 = 0, timeoutMilliseconds: UInt64? = nil, expirationMilliseconds: UInt64? = nil, counter: Counter? = nil) {
        self.key = key
        self.flags = flags
        self.timeoutMilliseconds = timeoutMilliseconds
        self.expirationMilliseconds = expirationMilliseconds
        self.counter = counter
    }

    /// True for the element that ends an interval (`NFT_SET_ELEM_INTERVAL_END`).
    public var isIntervalEnd: Bool { flags & NFTablesConstant.elementIntervalEnd != 0 }
}

/// The dump of a set's elements: the request and a pure decoder of the answer.
///
/// Request (`<linux/netfilter/nf_tables.h>`): `NFT_MSG_GETSETELEM` with
/// `NLM_F_REQUEST | NLM_F_DUMP`, `nfgenmsg` of the table's family, `NFTA_SET_ELEM_LIST_TABLE`
/// and `_SET`. Answer: multi-part `NFT_MSG_NEWSETELEM` messages, each with the table, the set
/// and a nested `NFTA_SET_ELEM_LIST_ELEMENTS` of `NFTA_LIST_ELEM { KEY { DATA_VALUE },
/// FLAGS be32, TIMEOUT be64, EXPIRATION be64, EXPR { NAME "counter", DATA { BYTES be64,
/// PACKETS be64 } } }`, then `NLMSG_DONE`.
///
/// The answer comes from the kernel but is decoded defensively all the same: lengths are
/// checked by the attribute reader, unknown attributes are skipped, and an element without
/// a usable key is counted in `skipped`, never guessed.
public enum NFTSetElementDump {
    /// The dump request for set `set` of table `table` (family `family`, `inet` by default).
    /// The caller checks the names (non-empty, shorter than `NFT_NAME_MAXLEN`, no NUL byte).
    public static func request(table: String, set: String, sequence: UInt32, family: UInt8 = NFProtocolFamily.inet) throws(NetlinkEncodeError)
        -> [UInt8]
    {
        var writer = NetlinkMessageWriter(reservingCapacity: 64 + table.utf8.count + set.utf8.count)
        try writer.append(
            type: NFNetlink.messageType(subsystem: NFNetlink.subsystemNFTables, message: NFTablesConstant.getSetElement),
            flags: NetlinkFlag.request | NetlinkFlag.dump, sequence: sequence, nfgen: NFGenHeader(family: family, resourceID: 0)
        ) { (body) throws(NetlinkEncodeError) in
            try body.append(NFTablesConstant.listTable, string: table)
            try body.append(NFTablesConstant.listSet, string: set)
        }
        return writer.bytes
    }

    /// What one answer message holds.
    public struct Part: Sendable, Hashable {
        /// `NFTA_SET_ELEM_LIST_TABLE` ("" when absent).
        public var table = ""
        /// `NFTA_SET_ELEM_LIST_SET` ("" when absent).
        public var set = ""
        /// The elements, in the kernel's order.
        public var elements: [NFTSetElement] = []
        /// Elements left out: no key, or a key longer than `NFT_DATA_VALUE_MAXLEN`.
        public var skipped = 0
    }

    /// True when `message` is a part of a set element dump (`NFT_MSG_NEWSETELEM` of nf_tables).
    public static func isElementMessage(_ message: NetlinkMessage) -> Bool {
        message.header.type == NFNetlink.messageType(subsystem: NFNetlink.subsystemNFTables, message: NFTablesConstant.newSetElement)
    }

    /// Decodes one answer message (its `nfgenmsg` and attributes). Throws on a malformed
    /// attribute list; a malformed element's fields are dropped one by one where possible.
    public static func decode(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> Part {
        var (_, attributes) = try message.nfnetlink()
        var part = Part()
        while let attribute = try attributes.next() {
            switch attribute.type {
            case NFTablesConstant.listTable: part.table = attribute.string(limit: NFTablesConstant.nameMaximumLength)
            case NFTablesConstant.listSet: part.set = attribute.string(limit: NFTablesConstant.nameMaximumLength)
            case NFTablesConstant.listElements:
                var list = attribute.nested
                while let item = try list.next() {
                    guard item.type == NFTablesConstant.listElement else { continue }
                    if let element = try decodeElement(item) {
                        part.elements.append(element)
                    } else {
                        part.skipped += 1
                    }
                }
            default: continue
            }
        }
        return part
    }

    /// One `NFTA_LIST_ELEM`; nil when it carries no usable key.
    static func decodeElement(_ item: NetlinkAttribute) throws(NetlinkDecodeError) -> NFTSetElement? {
        var fields = item.nested
        var key: [UInt8]?
        var element = NFTSetElement(key: [])
        while let field = try fields.next() {
            switch field.type {
            case NFTablesConstant.elementKey:
                var data = field.nested
                while let value = try data.next() {
                    guard key == nil, value.type == NFTablesConstant.dataValue else { continue }
                    if value.payload.count > 0, value.payload.count <= NFTablesConstant.dataValueMaximumLength { key = Array(value.payload) }
                }
            case NFTablesConstant.elementFlags: element.flags = (try? field.bigEndianUInt32()) ?? 0
            case NFTablesConstant.elementTimeout: element.timeoutMilliseconds = try? field.bigEndianUInt64()
            case NFTablesConstant.elementExpiration: element.expirationMilliseconds = try? field.bigEndianUInt64()
            case NFTablesConstant.elementExpression: element.counter = try counter(field) ?? element.counter
            case NFTablesConstant.elementExpressions:
                var expressions = field.nested
                while let expression = try expressions.next() {
                    guard expression.type == NFTablesConstant.listElement else { continue }
                    if let found = try counter(expression) { element.counter = found }
                }
            default: continue
            }
        }
        guard let key else { return nil }
        element.key = key
        return element
    }

    /// The counter of one expression (`NFTA_EXPR_NAME` "counter"); nil for any other expression
    /// or a counter missing either value.
    static func counter(_ expression: NetlinkAttribute) throws(NetlinkDecodeError) -> NFTSetElement.Counter? {
        var attributes = expression.nested
        var name = ""
        var packets: UInt64?
        var bytes: UInt64?
        while let attribute = try attributes.next() {
            switch attribute.type {
            case NFTablesConstant.expressionName: name = attribute.string(limit: 32)
            case NFTablesConstant.expressionData:
                var data = attribute.nested
                while let value = try data.next() {
                    switch value.type {
                    case NFTablesConstant.counterPackets: packets = try? value.bigEndianUInt64()
                    case NFTablesConstant.counterBytes: bytes = try? value.bigEndianUInt64()
                    default: continue
                    }
                }
            default: continue
            }
        }
        guard name == "counter", let packets, let bytes else { return nil }
        return NFTSetElement.Counter(packets: packets, bytes: bytes)
    }
}
