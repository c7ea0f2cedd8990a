// SPDX-License-Identifier: GPL-2.0-or-later

import Netlink
public import NetworkAddress
import Synchronization

/// The packets and bytes the kernel counted for one element of a ban set: packets the
/// banned source kept sending into its ban.
public struct ElementCounter: Sendable, Hashable {
    /// The banned network (a merged interval that is no single prefix is reported once per
    /// prefix it consists of, each with the interval's counter).
    public var network: IPNetwork
    /// Packets dropped by the element since it was added.
    public var packets: UInt64
    /// Bytes of those packets.
    public var bytes: UInt64
    /// The element's lifetime as added (nil: permanent).
    public var timeout: Duration?
    /// Time left before the kernel removes it (nil: permanent).
    public var expiresIn: Duration?

    /// A counter with the given values.
    public init(network: IPNetwork, packets: UInt64, bytes: UInt64, timeout: Duration? = nil, expiresIn: Duration? = nil) {
        self.network = network
        self.packets = packets
        self.bytes = bytes
        self.timeout = timeout
        self.expiresIn = expiresIn
    }

    /// How long ago the element was added (or its timeout last refreshed): timeout − time
    /// left; nil for a permanent element.
    public var age: Duration? {
        guard let timeout, let expiresIn else { return nil }
        return max(.zero, timeout - expiresIn)
    }
}

/// One reading of every ban set's per-element counters.
public struct CounterSnapshot: Sendable, Hashable {
    /// Every element with a counter.
    public var elements: [ElementCounter] = []
    /// Elements without a counter (a table of an older build not yet upgraded) or with an
    /// unusable key.
    public var withoutCounter = 0
}

/// Reads the ban sets' per-element counters with a netlink dump (`NFT_MSG_GETSETELEM`,
/// `NLM_F_DUMP`) on a socket and lock of its own: never the ban path's lock, no
/// libnftables (no parsing of the whole ruleset as text or JSON).
///
/// The sets count per element because they are declared with `counter`
/// (`NFTSyntax.setUpCommands`); the ban path's add message is unchanged.
public final class SetCounterReader: Sendable {
    private let table: String
    private let socket: Mutex<NetlinkSocket?>

    /// Longest wait for one set's dump.
    static let timeout: Duration = .seconds(5)

    /// A reader of the ban sets of `configuration`'s table. Opens its socket at the first read.
    public init(configuration: NFTablesConfiguration) throws(FirewallError) {
        try configuration.validate()
        table = configuration.tableName
        socket = Mutex(nil)
    }

    /// Dumps the four ban sets. Throws `.unavailable` when no netlink socket can be opened,
    /// `.commandFailed` when the kernel refuses (no such table or set: errno ENOENT).
    public func read() throws(FirewallError) -> CounterSnapshot {
        try socket.withLock { (socket: inout NetlinkSocket?) throws(FirewallError) -> CounterSnapshot in
            if socket == nil {
                do throws(NetlinkError) {
                    socket = try NetlinkSocket()
                } catch {
                    throw error.firewallError
                }
            }
            guard let open = socket else { throw FirewallError(.unavailable, "no netlink socket") }
            var snapshot = CounterSnapshot()
            for set in NFTSyntax.SetName.allCases {
                var elements: [NFTSetElement] = []
                var skipped = 0
                let sequence = open.takeSequence()
                let request: [UInt8]
                do throws(NetlinkEncodeError) {
                    request = try NFTSetElementDump.request(table: table, set: set.rawValue, sequence: sequence)
                } catch {
                    throw FirewallError(.invalidArgument, error.description)
                }
                do throws(NetlinkError) {
                    try open.dump(request, sequence: sequence, timeout: Self.timeout) { (message) throws(NetlinkError) in
                        guard NFTSetElementDump.isElementMessage(message) else { return }
                        do throws(NetlinkDecodeError) {
                            let part = try NFTSetElementDump.decode(message)
                            elements += part.elements
                            skipped += part.skipped
                        } catch {
                            throw .unexpectedReply("set element dump: \(error)")
                        }
                    }
                } catch {
                    if error.kind != .kernel { socket = nil } // out of step: reopen next time
                    throw error.firewallError
                }
                let counted = Self.counters(elements, family: set.family, interval: set.isInterval)
                snapshot.elements += counted.elements
                snapshot.withoutCounter += counted.withoutCounter + skipped
            }
            return snapshot
        }
    }

    /// The counters of one set's dumped elements (pure). In an interval set each interval
    /// is its start element (which carries the counter and timeout) and an end element
    /// (`NFT_SET_ELEM_INTERVAL_END`, key = last address + 1; none when the interval reaches
    /// the top of the family); the kernel returns them in no promised order, so they are
    /// paired by key: each start with the lowest end above it.
    static func counters(_ elements: [NFTSetElement], family: IPAddress.Family, interval: Bool) -> (elements: [ElementCounter], withoutCounter: Int) {
        let width = family == .v4 ? 4 : 16
        func value(_ key: [UInt8]) -> UInt128? {
            guard key.count == width else { return nil }
            return key.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        }
        let top: UInt128 = family == .v4 ? UInt128(UInt32.max) : .max
        let ends = interval ? elements.filter(\.isIntervalEnd).compactMap { value($0.key) }.sorted() : []
        var result: [ElementCounter] = []
        var withoutCounter = 0
        for element in elements where !element.isIntervalEnd {
            guard let low = value(element.key), let counter = element.counter else {
                withoutCounter += 1
                continue
            }
            var high = low
            if interval {
                // The lowest end key above `low`, by bisection.
                var lower = 0
                var upper = ends.count
                while lower < upper {
                    let middle = (lower + upper) / 2
                    if ends[middle] <= low { lower = middle + 1 } else { upper = middle }
                }
                high = lower < ends.count ? ends[lower] - 1 : top
            }
            guard let range = AddressInterval(family: family, low: low, high: high) else {
                withoutCounter += 1
                continue
            }
            let timeout = element.timeoutMilliseconds.map { Duration.milliseconds($0) }
            let expires = element.expirationMilliseconds.map { Duration.milliseconds($0) }
            for network in range.networks {
                result.append(ElementCounter(network: network, packets: counter.packets, bytes: counter.bytes, timeout: timeout, expiresIn: expires))
            }
        }
        return (result, withoutCounter)
    }
}
