// SPDX-License-Identifier: GPL-2.0-or-later

public import AddressRanges
import Glibc
public import Logging
import Netlink
import NetworkAddress
import Synchronization

/// Range blocks in the kernel: whole providers', AS's or lists' ranges, each block in two
/// nftables interval sets of its own (`<block>_4`, `<block>_6`), separate from the ban
/// table's sets.
///
/// Structure (table, base chain, per-block chain and sets, the base chain's jumps) goes
/// through libnftables, in small transactions that carry no elements. Elements never do:
/// they go as one raw nfnetlink batch — one nf_tables transaction — built here, because
/// nft 1.0.6 reads every interval set back before each element command. A load flushes
/// both sets and adds every interval in that one transaction; a refresh deletes the
/// intervals that went away and adds the new ones, also in one transaction. Either way the
/// packet path sees the old contents until the commit and the new ones after it: there is
/// no moment with neither.
///
/// An interval `low...high` is two kernel elements: the start (key `low`) and the end
/// (key `high + 1` with `NFT_SET_ELEM_INTERVAL_END`; none when `high` is the family's last
/// address). The sets must hold merged ranges (`RangeSet`): the kernel refuses overlaps.
///
/// Thread-safe: every call holds one mutex (blocks change rarely).
public final class RangeBlockFirewall: Sendable {
    /// The configuration the table is built from.
    public let configuration: RangeBlockConfiguration
    private let logger: Logger
    private let state: Mutex<State>

    private struct State: ~Copyable {
        let command: NFTContext
        var socket: NetlinkSocket?
        /// What this process loaded per block (kernel name): the base of a delta.
        var loaded: [String: Loaded] = [:]
    }

    private struct Loaded {
        var scope: RangeBlockScope
        var ranges: RangeSet
    }

    /// Longest wait for the kernel's acknowledgements of one batch.
    static let netlinkTimeout: Duration = .seconds(5)

    /// Checks the configuration and opens a libnftables context; touches nothing.
    public init(
        configuration: RangeBlockConfiguration = RangeBlockConfiguration(),
        logger: Logger = Logger(label: "sipwarden.ranges")
    ) throws(FirewallError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(command: try NFTContext(json: false)))
    }

    private var table: String { configuration.tableName }

    /// The kernel name of a block: `r` and 12 hex digits of a stable hash of its key (any
    /// text, e.g. a selector), so names are valid nft identifiers whatever the key.
    public static func kernelName(for key: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        let hex = String(hash & 0xFFFF_FFFF_FFFF, radix: 16)
        return "r" + String(repeating: "0", count: 12 - hex.count) + hex
    }

    // MARK: Structure

    /// Creates the table and its base chain if missing. Idempotent; leaves blocks in place.
    public func setUp() throws(FirewallError) {
        let command =
            "add table inet \(table)\n"
            + "add chain inet \(table) \(Self.baseChain) { type filter hook \(configuration.hook.rawValue) priority \(configuration.priority); policy accept; }\n"
        try state.withLock { (state: inout State) throws(FirewallError) in _ = try state.command.run(command) }
    }

    /// Removes the table with every block. Idempotent.
    public func tearDown() throws(FirewallError) {
        try state.withLock { (state: inout State) throws(FirewallError) in
            _ = try state.command.run("add table inet \(table)\ndelete table inet \(table)\n")
            state.loaded = [:]
        }
    }

    /// The kernel names of the blocks present in the table (its per-block chains).
    public func blockNames() throws(FirewallError) -> [String] {
        try state.withLock { (state: inout State) throws(FirewallError) in try listBlocks(state) }
    }

    // MARK: Elements

    /// Makes block `name` (see `kernelName(for:)`) drop `ranges` in `scope`; elements
    /// expire after `timeout` (nil: permanent).
    ///
    /// A block this object loaded before with the same scope gets a delta (the intervals
    /// that changed, in one transaction); otherwise its sets are created if needed and
    /// flushed and refilled in one transaction, and its chain's rules are (re)written.
    /// A delta the kernel refuses (its contents differ from what was loaded) is retried as
    /// a full replace.
    @discardableResult
    public func load(block name: String, scope: RangeBlockScope, ranges: RangeSet, timeout: Duration?) throws(FirewallError) -> RangeLoadReport {
        guard NFTSyntax.isIdentifier(name), name.utf8.count <= 28 else {
            throw FirewallError(.invalidArgument, "block name \"\(name)\" must be an nft identifier of at most 28 characters")
        }
        var milliseconds: UInt64?
        if let timeout {
            guard let value = NetlinkSetElementBatch.milliseconds(timeout) else {
                throw FirewallError(.invalidArgument, "block timeout \(timeout) must be positive")
            }
            milliseconds = value
        }
        return try state.withLock { (state: inout State) throws(FirewallError) -> RangeLoadReport in
            if let previous = state.loaded[name], previous.scope == scope {
                do throws(FirewallError) {
                    let report = try sendDelta(name, from: previous.ranges, to: ranges, timeout: milliseconds, &state)
                    state.loaded[name] = Loaded(scope: scope, ranges: ranges)
                    return report
                } catch {
                    logger.info("range delta refused, replacing the block", metadata: ["block": "\(name)", "error": "\(error.message)"])
                }
            }
            try writeStructure(name, scope: scope, &state)
            state.loaded[name] = nil
            let report = try sendReplace(name, ranges: ranges, timeout: milliseconds, &state)
            state.loaded[name] = Loaded(scope: scope, ranges: ranges)
            return report
        }
    }

    /// Removes block `name` (its jump, chain and sets) in one transaction. Idempotent.
    public func remove(block name: String) throws(FirewallError) {
        guard NFTSyntax.isIdentifier(name) else { throw FirewallError(.invalidArgument, "bad block name \"\(name)\"") }
        try state.withLock { (state: inout State) throws(FirewallError) in
            let remaining = try listBlocks(state).filter { $0 != name }
            var command = jumps(remaining)
            // `add` first makes each deletion succeed when the object is already gone.
            command += "add chain inet \(table) \(name)\ndelete chain inet \(table) \(name)\n"
            for suffix in ["4", "6"] {
                let type = suffix == "4" ? "ipv4_addr" : "ipv6_addr"
                command += "add set inet \(table) \(name)_\(suffix) { type \(type); flags interval, timeout; }\n"
                command += "delete set inet \(table) \(name)_\(suffix)\n"
            }
            _ = try state.command.run(command)
            state.loaded[name] = nil
        }
    }

    // MARK: Internals

    static let baseChain = "blocks"

    /// Sets and chain of block `name` with the rules of `scope`, and the base chain's jumps,
    /// in one transaction (no elements: cheap however large the sets are). Nothing is
    /// written when the block's chain already has the rules of `scope` (its counters go on).
    private func writeStructure(_ name: String, scope: RangeBlockScope, _ state: inout State) throws(FirewallError) {
        var names = try listBlocks(state)
        if names.contains(name), currentScope(name, state) == scope { return }
        if !names.contains(name) { names.append(name) }
        var command = ""
        for family in [IPAddress.Family.v4, .v6] {
            command +=
                "add set inet \(table) \(Self.setName(name, family)) { type \(family == .v4 ? "ipv4_addr" : "ipv6_addr"); flags interval, timeout; }\n"
        }
        command += "add chain inet \(table) \(name)\nflush chain inet \(table) \(name)\n"
        var match = ""
        if scope == .sip {
            match = "meta l4proto { tcp, udp } th dport { \(configuration.sipPorts.map(\.description).joined(separator: ", ")) } "
        }
        command += "add rule inet \(table) \(name) \(match)ip saddr @\(Self.setName(name, .v4)) counter drop\n"
        command += "add rule inet \(table) \(name) \(match)ip6 saddr @\(Self.setName(name, .v6)) counter drop\n"
        command += jumps(names)
        _ = try state.command.run(command)
    }

    /// The scope of the rules in block `name`'s chain: nil when it has not both rules.
    private func currentScope(_ name: String, _ state: borrowing State) -> RangeBlockScope? {
        guard let output = try? state.command.run("list chain inet \(table) \(name)\n") else { return nil }
        let rules = output.split(separator: "\n").filter { $0.contains(" saddr @\(name)_") }
        guard rules.count == 2 else { return nil }
        let ports = "th dport { \(configuration.sipPorts.map(\.description).joined(separator: ", ")) }"
        if rules.allSatisfy({ !$0.contains("dport") }) { return .all }
        // nft prints a one-port set without braces: compare loosely, by the ports' text.
        let sipPorts = configuration.sipPorts.map(\.description)
        if rules.allSatisfy({ rule in rule.contains("dport") && sipPorts.allSatisfy { rule.contains($0) } })
            || rules.allSatisfy({ $0.contains(ports) })
        {
            return .sip
        }
        return nil
    }

    /// The base chain rewritten to jump to `names` (flush and refill: one transaction).
    private func jumps(_ names: [String]) -> String {
        var command = "flush chain inet \(table) \(Self.baseChain)\n"
        for name in names.sorted() { command += "add rule inet \(table) \(Self.baseChain) jump \(name)\n" }
        return command
    }

    static func setName(_ block: String, _ family: IPAddress.Family) -> String {
        block + (family == .v4 ? "_4" : "_6")
    }

    private func listBlocks(_ state: borrowing State) throws(FirewallError) -> [String] {
        // nft 1.0.6 lists chains per family only ("table inet NAME {", then "\tchain NAME {"
        // lines); no elements are listed, so this stays cheap however large the sets are.
        let output = try state.command.run("list chains inet\n")
        var names: [String] = []
        var inOurTable = false
        for line in output.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2 else { continue }
            if words[0] == "table" {
                inOurTable = words.count >= 3 && words[1] == "inet" && words[2] == Substring(table)
            } else if inOurTable, words[0] == "chain" {
                let name = String(words[1])
                if name != Self.baseChain, NFTSyntax.isIdentifier(name) { names.append(name) }
            }
        }
        return names
    }

    /// Flush both sets and add every interval: one transaction.
    private func sendReplace(_ name: String, ranges: RangeSet, timeout: UInt64?, _ state: inout State) throws(FirewallError) -> RangeLoadReport {
        let started = ContinuousClock.now
        let socket = try openSocket(&state)
        var batch = try NetlinkSetElementBatch(table: table, firstSequence: socket.nextSequence)
        for family in [IPAddress.Family.v4, .v6] {
            let set = Self.setName(name, family)
            try batch.appendFlush(set: set)
            try batch.append(.add, set: set, elements: Self.elements(ranges.ranges(family), timeout: timeout))
        }
        try send(&batch, socket, &state)
        return RangeLoadReport(added: ranges.count, removed: 0, replaced: true, kernelTime: ContinuousClock.now - started)
    }

    /// Delete the intervals that went away, add the new ones: one transaction.
    private func sendDelta(_ name: String, from old: RangeSet, to new: RangeSet, timeout: UInt64?, _ state: inout State) throws(FirewallError)
        -> RangeLoadReport
    {
        let started = ContinuousClock.now
        let (removed, added) = new.changes(from: old)
        guard !removed.isEmpty || !added.isEmpty else {
            return RangeLoadReport(added: 0, removed: 0, replaced: false, kernelTime: .zero)
        }
        let socket = try openSocket(&state)
        var batch = try NetlinkSetElementBatch(table: table, firstSequence: socket.nextSequence)
        for family in [IPAddress.Family.v4, .v6] {
            let set = Self.setName(name, family)
            try batch.append(.delete, set: set, elements: Self.elements(removed.filter { $0.family == family }, timeout: nil))
        }
        for family in [IPAddress.Family.v4, .v6] {
            let set = Self.setName(name, family)
            try batch.append(.add, set: set, elements: Self.elements(added.filter { $0.family == family }, timeout: timeout))
        }
        try send(&batch, socket, &state)
        return RangeLoadReport(added: added.count, removed: removed.count, replaced: false, kernelTime: ContinuousClock.now - started)
    }

    /// The kernel elements of `ranges` (one family): a start, and an end unless the range
    /// reaches the family's last address. Only the start carries the timeout (the kernel
    /// refuses one on an end element and collects the end with its expired start).
    static func elements(_ ranges: [AddressRange], timeout: UInt64?) -> [NetlinkSetElementBatch.Element] {
        var result: [NetlinkSetElementBatch.Element] = []
        result.reserveCapacity(ranges.count * 2)
        for range in ranges {
            let family = range.family
            result.append(.init(key: NetlinkSetElementBatch.key(range.low, family: family), timeoutMilliseconds: timeout))
            if range.high < AddressRange.largest(family) {
                result.append(.init(key: NetlinkSetElementBatch.key(range.high + 1, family: family), timeoutMilliseconds: nil, intervalEnd: true))
            }
        }
        return result
    }

    private func openSocket(_ state: inout State) throws(FirewallError) -> NetlinkSocket {
        if let socket = state.socket { return socket }
        do throws(NetlinkError) {
            let socket = try NetlinkSocket()
            state.socket = socket
            return socket
        } catch {
            throw error.firewallError
        }
    }

    private func send(_ batch: inout NetlinkSetElementBatch, _ socket: NetlinkSocket, _ state: inout State) throws(FirewallError) {
        let bytes = batch.finish()
        // One datagram: the socket's send buffer must hold it (netlink refuses larger ones).
        var size = Int32(clamping: bytes.count + 65_536)
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(socket.descriptor, SOL_SOCKET, SO_SNDBUFFORCE, &size, length) != 0 {
            _ = setsockopt(socket.descriptor, SOL_SOCKET, SO_SNDBUF, &size, length)
        }
        do throws(NetlinkError) {
            try socket.send(&batch, timeout: Self.netlinkTimeout)
        } catch {
            if error.kind != .kernel { state.socket = nil }
            throw error.firewallError
        }
    }
}
