// SPDX-License-Identifier: GPL-2.0-or-later

public import Logging
import Netlink
public import NetworkAddress
import Synchronization

/// Bans sources in the kernel through libnftables (`table inet sipwarden`).
///
/// Layout (see `NFTablesConfiguration`): sets `host4`/`host6` (single addresses, hash)
/// and `ban4`/`ban6` (prefixes, `flags interval, timeout`), a chain hooked at prerouting,
/// priority raw (-300) — before conntrack, so an established UDP flow is cut off too —
/// with one `saddr @set counter name droppedN drop` rule per set.
///
/// Every call holds a mutex around the (not thread-safe) libnftables contexts, so the
/// daemon may call `ban` from its hot-path thread while other threads list or reconcile;
/// `list()` and `dropCounters()` use a context and a mutex of their own, so a read never
/// waits for a ban nor a ban for a read.
/// A `ban` of single addresses goes straight to the kernel as one nfnetlink batch on a
/// socket opened by `setUp` (no libnftables parsing or cache fetch; tens of µs), falling
/// back to libnftables on any netlink trouble; prefixes that overlap existing ones take a
/// slower path that reads the set back and merges (see `ban(_:)`).
public final class NFTablesFirewall: Firewall {
    /// The configuration the table is built from.
    public let configuration: NFTablesConfiguration
    private let logger: Logger
    private let state: Mutex<State>
    /// The suspect marking (`markSuspect`): its own lock and netlink socket, so that it
    /// never holds up a ban. Used only when this firewall manages a flood guard.
    private let suspects: Mutex<SuspectState>
    private let marksSuspects: Bool
    private let origin = ContinuousClock.now
    /// A JSON context of its own for `list()` and `dropCounters()`: reads (status, the
    /// control plane) never take the ban path's lock, so they cannot delay a ban.
    private let reader: Mutex<NFTContext>

    private struct SuspectState: ~Copyable {
        var filter: SuspectFilter
        var socket: NetlinkSocket?
        var retryAt: ContinuousClock.Instant?
        var refreshesInPlace = false
        var failed = 0
    }

    private struct State: ~Copyable {
        /// Runs commands; plain text output.
        let command: NFTContext
        /// Runs `list` commands; JSON output.
        let json: NFTContext
        /// True when the kernel replaces an existing element's timeout on a plain `add`
        /// (checked by `setUp`). Otherwise re-bans use add + delete + add.
        var refreshesInPlace = false
        /// Raw nfnetlink socket for the hot ban of single addresses (opened by `setUp`);
        /// nil before `setUp` and after a socket-level failure.
        var netlink: NetlinkSocket?
        /// When a socket that failed (or could not be opened) may be tried again.
        var netlinkRetryAt: ContinuousClock.Instant?
        /// What the fast path did so far (for tests and diagnostics).
        var netlinkCounters = NetlinkCounters()
    }

    /// How often `ban` went straight to the kernel through nfnetlink, and how often it had
    /// to fall back to libnftables after trying.
    struct NetlinkCounters: Hashable, Sendable {
        /// Bans applied by a raw nfnetlink batch.
        var bans = 0
        /// Bans where the raw batch failed and libnftables was used instead.
        var fallbacks = 0
    }

    /// Host bans larger than this go through libnftables (one big datagram would approach
    /// the socket's send buffer limit).
    static let netlinkMaximumElements = 1_024
    /// Longest wait for the kernel's acknowledgements (it answers inside `sendto`; this only
    /// bounds the unexpected).
    static let netlinkTimeout: Duration = .milliseconds(500)
    /// Pause before a failed socket is reopened.
    static let netlinkRetryDelay: Duration = .seconds(30)

    /// Checks the configuration and opens libnftables contexts. Does not touch the kernel;
    /// call `setUp()` next.
    public init(configuration: NFTablesConfiguration, logger: Logger = Logger(label: "sipwarden.firewall")) throws(FirewallError) {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(command: try NFTContext(json: false), json: try NFTContext(json: true)))
        reader = Mutex(try NFTContext(json: true))
        let floodGuard = configuration.floodGuard ?? .standard
        marksSuspects = configuration.managesFloodGuard && configuration.floodGuard != nil
        suspects = Mutex(
            SuspectState(
                filter: SuspectFilter(
                    timeout: floodGuard.suspectTimeout, capacity: floodGuard.meterSize,
                    marksPerSecond: Self.suspectMarksPerSecond, prefixLengthV6: floodGuard.prefixLengthV6)))
    }

    /// Most suspect adds per second (each one netlink round trip, ~20–50 µs): a spoofed
    /// flood of failures from ever new sources costs at most a few % of a core here.
    static let suspectMarksPerSecond = 2_000

    /// True when `setUp()` found that this kernel refreshes an element's timeout on a plain
    /// re-add (Linux ≥ 6.10 or so); re-bans are then a single `add`.
    public var refreshesTimeoutInPlace: Bool {
        state.withLock { $0.refreshesInPlace }
    }

    /// True while single-address bans go straight to the kernel over nfnetlink (after a
    /// successful `setUp` self-test); false when they use libnftables (no socket, or it
    /// failed recently and is retried later).
    public var usesNetlinkFastPath: Bool {
        state.withLock { $0.netlink != nil }
    }

    private var table: String { configuration.tableName }

    /// Tests force the add + delete + add re-ban path used on kernels without in-place refresh.
    func overrideRefreshesInPlace(_ value: Bool) {
        state.withLock { $0.refreshesInPlace = value }
    }

    /// What the nfnetlink fast path did so far.
    var netlinkCounters: NetlinkCounters {
        state.withLock { $0.netlinkCounters }
    }

    /// Tests: closes the nfnetlink socket (bans then use libnftables until `setUp`).
    func closeNetlink() {
        state.withLock { state in
            state.netlink = nil
            state.netlinkRetryAt = nil
        }
    }

    // MARK: Firewall

    public func setUp() throws(FirewallError) {
        let commands = NFTSyntax.setUpCommands(configuration)
        try state.withLock { (state: inout State) throws(FirewallError) in
            do throws(FirewallError) {
                _ = try state.command.run(commands)
            } catch {
                // Something incompatible is in the way (a set of another type, or sets with
                // per-element counters where none are wanted, or the other way round). Replace the whole table in one
                // transaction that re-adds the elements it held (see `rebuildCommands`); the
                // caller reconciles with the ledger right after setUp anyway.
                logger.warning("nftables table \(table) is incompatible, rebuilding it", metadata: ["error": "\(error.message)"])
                try rebuild(commands, &state)
            }
            state.refreshesInPlace = probeRefreshInPlace(state)
            if state.netlink == nil { openNetlink(&state) }
            checkNetlink(&state)
            logger.debug("nftables table ready", metadata: ["table": "\(table)", "refreshInPlace": "\(state.refreshesInPlace)"])
        }
        guard marksSuspects else { return }
        let refreshes = refreshesTimeoutInPlace
        suspects.withLock { suspect in
            suspect.refreshesInPlace = refreshes
            // The guard table was rebuilt empty: every source must be marked afresh.
            suspect.filter.reset()
            if suspect.socket == nil {
                suspect.socket = try? NetlinkSocket()
                suspect.retryAt = suspect.socket == nil ? ContinuousClock.now + Self.netlinkRetryDelay : nil
            }
        }
    }

    /// Adds the elements in one kernel transaction.
    ///
    /// Single addresses go to the host sets and never conflict; a batch of only those is
    /// sent as raw nfnetlink messages (same transaction as the `add element` text), and
    /// through libnftables if that fails for any reason. A prefix that overlaps
    /// a prefix already banned (or another one in the batch) makes the kernel refuse the
    /// transaction; the set is then read back and the request merged (see
    /// `BanPlanner.mergeIntervals`: the hull of the overlapping prefixes is banned for the
    /// longest of their lifetimes), and applied in a second transaction.
    public func ban(_ elements: [BanElement]) throws(FirewallError) {
        let planned = try BanPlanner.normalize(elements, configuration: configuration).elements
        guard !planned.isEmpty else { return }
        try state.withLock { (state: inout State) throws(FirewallError) in
            // Hosts and prefixes alike: a prefix overlapping one already banned makes the
            // kernel refuse the batch, and the merge below takes over.
            if banThroughNetlink(planned, &state) { return }
            let fast = fastBanCommands(planned, refreshesInPlace: state.refreshesInPlace)
            let firstError: FirewallError
            do throws(FirewallError) {
                _ = try state.command.run(fast)
                return
            } catch {
                firstError = error
            }
            guard planned.contains(where: { $0.set.isInterval }) else { throw firstError }
            logger.debug("ban needs merging", metadata: ["error": "\(firstError.message)"])
            var lastError = firstError
            for _ in 0..<3 {
                do throws(FirewallError) {
                    let current = try listSets(state)
                    var changes = SetChanges()
                    let hosts = planned.filter { !$0.set.isInterval }
                    for set in NFTSyntax.SetName.allCases where set.isInterval {
                        let requested = planned.filter { $0.set == set }.map { ($0.interval, $0.lifetime) }
                        guard !requested.isEmpty else { continue }
                        let merged = BanPlanner.mergeIntervals(current: current[set]?.elements ?? [], requested: requested)
                        changes.deletes[set] = merged.deletes
                        changes.adds[set] = merged.adds
                    }
                    let command = fastBanCommands(hosts, refreshesInPlace: state.refreshesInPlace) + changes.commands(table: table)
                    if !command.isEmpty { _ = try state.command.run(command) }
                    return
                } catch {
                    lastError = error // an element may have expired between list and delete
                }
            }
            throw lastError
        }
    }

    public func unban(_ networks: [IPNetwork]) throws(FirewallError) {
        var targets: [AddressInterval] = []
        var seen: Set<AddressInterval> = []
        for network in networks {
            let interval = AddressInterval(BanPlanner.unmapped(network))
            if seen.insert(interval).inserted { targets.append(interval) }
        }
        guard !targets.isEmpty else { return }
        try state.withLock { (state: inout State) throws(FirewallError) in
            // Hosts only: try the exact deletion first (the common case, no listing).
            if targets.allSatisfy({ $0.low == $0.high }) {
                var changes = SetChanges()
                for target in targets {
                    changes.deletes[target.family == .v4 ? .host4 : .host6, default: []].append(target)
                }
                if (try? state.command.run(changes.commands(table: table))) != nil { return }
            }
            var lastError: FirewallError?
            for _ in 0..<3 {
                do throws(FirewallError) {
                    let current = try listSets(state)
                    var changes = SetChanges()
                    for (set, contents) in current {
                        let doomed = contents.elements.map(\.interval).filter { element in
                            targets.contains { $0.contains(element) }
                        }
                        if !doomed.isEmpty { changes.deletes[set] = doomed }
                    }
                    if !changes.isEmpty { _ = try state.command.run(changes.commands(table: table)) }
                    return
                } catch {
                    lastError = error
                }
            }
            if let lastError { throw lastError }
        }
    }

    public func list() throws(FirewallError) -> [BanElement] {
        let current = try reader.withLock { (json: inout NFTContext) throws(FirewallError) in try listSets(json) }
        var result: [BanElement] = []
        for set in NFTSyntax.SetName.allCases {
            for element in current[set]?.elements ?? [] {
                for network in element.interval.networks {
                    result.append(BanElement(network: network, timeout: element.remaining))
                }
            }
        }
        return result
    }

    /// Makes the sets hold exactly `elements` (with their timeouts, within 2 s).
    ///
    /// Elements the firewall refuses (expired, prefix too short, …) are logged and left
    /// out rather than failing the whole reconciliation; overlapping prefixes are merged
    /// as `ban` would.
    public func reconcile(with elements: [BanElement]) throws(FirewallError) {
        let (planned, rejected) = try BanPlanner.normalize(elements, configuration: configuration, lenient: true)
        for (element, error) in rejected {
            logger.warning("not restoring ban", metadata: ["element": "\(element)", "reason": "\(error.message)"])
        }
        var desired: [NFTSyntax.SetName: [(AddressInterval, Duration?)]] = [:]
        for set in NFTSyntax.SetName.allCases {
            let wanted = planned.filter { $0.set == set }.map { ($0.interval, $0.lifetime) }
            desired[set] = set.isInterval ? BanPlanner.mergeIntervals(current: [], requested: wanted).adds : wanted
        }
        try state.withLock { (state: inout State) throws(FirewallError) in
            var lastError: FirewallError?
            for _ in 0..<3 {
                do throws(FirewallError) {
                    let current = try listSets(state)
                    var changes = SetChanges()
                    for set in NFTSyntax.SetName.allCases {
                        let diff = BanPlanner.difference(current: current[set]?.elements ?? [], desired: desired[set] ?? [])
                        changes.deletes[set] = diff.deletes
                        changes.adds[set] = diff.adds
                    }
                    if !changes.isEmpty { _ = try state.command.run(changes.commands(table: table)) }
                    return
                } catch {
                    lastError = error
                }
            }
            if let lastError { throw lastError }
        }
    }

    public func tearDown() throws(FirewallError) {
        // `add` first makes the deletion succeed when the table is already gone.
        let guardTable = NFTSyntax.guardTableName(configuration)
        let command = "add table inet \(table)\ndelete table inet \(table)\nadd table inet \(guardTable)\ndelete table inet \(guardTable)\n"
        try state.withLock { (state: inout State) throws(FirewallError) in _ = try state.command.run(command) }
    }

    public func dropCounters() throws(FirewallError) -> DropCounters {
        try reader.withLock { (json: inout NFTContext) throws(FirewallError) in
            let v4 = try NFTListing.parseCounter(json.run("list counter inet \(table) \(NFTSyntax.counterV4)\n"))
            let v6 = try NFTListing.parseCounter(json.run("list counter inet \(table) \(NFTSyntax.counterV6)\n"))
            var counters = DropCounters(packetsV4: v4.packets, bytesV4: v4.bytes, packetsV6: v6.packets, bytesV6: v6.bytes)
            // The guard's table exists only while a daemon with the guard on set it up.
            let guardTable = NFTSyntax.guardTableName(configuration)
            if let flood4 = try? NFTListing.parseCounter(json.run("list counter inet \(guardTable) \(NFTSyntax.guardCounterV4)\n")),
                let flood6 = try? NFTListing.parseCounter(json.run("list counter inet \(guardTable) \(NFTSyntax.guardCounterV6)\n"))
            {
                counters.floodPackets = flood4.packets &+ flood6.packets
            }
            return counters
        }
    }

    /// Adds `source` (IPv6: its guard prefix) to the guard's suspect set for the guard's
    /// suspect timeout, unless it was marked recently or the mark rate is exhausted
    /// (`SuspectFilter`). One nfnetlink batch with one element on the suspect socket,
    /// under its own lock: a ban on another thread never waits for it. Failures are
    /// counted and logged at debug level; the next failure of the source tries again.
    public func markSuspect(_ source: IPAddress) {
        guard marksSuspects, let floodGuard = configuration.floodGuard else { return }
        let elapsed = (ContinuousClock.now - origin).components
        let now = elapsed.seconds &* 1_000_000 &+ elapsed.attoseconds / 1_000_000_000_000
        suspects.withLock { suspect in
            guard let key = suspect.filter.mark(source, now: now) else { return }
            if !sendSuspect(key, floodGuard: floodGuard, &suspect) {
                suspect.filter.forget(key)
                suspect.failed += 1
            }
        }
    }

    /// What the suspect marking did so far (nil without a managed flood guard).
    public var suspectCounters: SuspectCounters? {
        guard marksSuspects else { return nil }
        return suspects.withLock { suspect in
            var counters = suspect.filter.counters
            counters.failed = suspect.failed
            return counters
        }
    }

    private func sendSuspect(_ key: IPAddress, floodGuard: FloodGuard, _ suspect: inout SuspectState) -> Bool {
        if suspect.socket == nil {
            guard let retryAt = suspect.retryAt, ContinuousClock.now >= retryAt else { return false }
            suspect.socket = try? NetlinkSocket()
            suspect.retryAt = suspect.socket == nil ? ContinuousClock.now + Self.netlinkRetryDelay : nil
        }
        guard let socket = suspect.socket else { return false }
        let set = key.family == .v4 ? NFTSyntax.suspectSetV4 : NFTSyntax.suspectSetV6
        let element = NetlinkSetElementBatch.Element(
            key: NetlinkSetElementBatch.key(key.integer, family: key.family),
            timeoutMilliseconds: NetlinkSetElementBatch.milliseconds(floodGuard.suspectTimeout))
        do throws(FirewallError) {
            var batch = try NetlinkSetElementBatch(table: NFTSyntax.guardTableName(configuration), firstSequence: socket.nextSequence)
            try batch.append(.add, set: set, elements: [element])
            if !suspect.refreshesInPlace {
                // An element already present keeps its old timeout on a plain add here.
                try batch.append(.delete, set: set, elements: [element])
                try batch.append(.add, set: set, elements: [element])
            }
            do throws(NetlinkError) {
                try socket.send(&batch, timeout: Self.netlinkTimeout)
                return true
            } catch {
                if error.kind != .kernel {
                    suspect.socket = nil
                    suspect.retryAt = ContinuousClock.now + Self.netlinkRetryDelay
                }
                logger.debug("could not mark a suspect", metadata: ["source": "\(key)", "error": "\(error.firewallError.message)"])
                return false
            }
        } catch {
            logger.debug("suspect not encodable", metadata: ["source": "\(key)", "error": "\(error.message)"])
            return false
        }
    }

    // MARK: Internals

    /// `add element` per set; without in-place refresh, add + delete + add so that an
    /// element already present gets the new timeout (the first add makes the delete safe).
    private func fastBanCommands(_ planned: [PlannedElement], refreshesInPlace: Bool) -> String {
        var bySet: [NFTSyntax.SetName: [PlannedElement]] = [:]
        for element in planned { bySet[element.set, default: []].append(element) }
        var text = ""
        for set in NFTSyntax.SetName.allCases {
            guard let elements = bySet[set] else { continue }
            let items = elements.map { NFTSyntax.element($0.interval, timeout: $0.lifetime) }
            guard let add = NFTSyntax.elementCommand("add", table: table, set: set, items) else { continue }
            text += add
            if !refreshesInPlace, let delete = NFTSyntax.elementCommand("delete", table: table, set: set, elements.map(\.interval.nftKey)) {
                text += delete
                text += add
            }
        }
        return text
    }

    /// The hot ban: single addresses as one nfnetlink batch on the socket opened by `setUp`,
    /// no libnftables (no parsing, no cache fetch). Same transaction as `fastBanCommands`:
    /// per set an add, and without in-place refresh add + delete + add.
    ///
    /// Returns false when the batch was not applied for any reason (no socket, kernel
    /// refusal, odd reply): the caller then runs the libnftables path, once, so behaviour is
    /// never worse than without this path. A refused batch changed nothing (nf_tables
    /// aborts the whole transaction); one that timed out may have been applied, which the
    /// idempotent libnftables commands tolerate.
    private func banThroughNetlink(_ planned: [PlannedElement], _ state: inout State) -> Bool {
        guard planned.count <= Self.netlinkMaximumElements else { return false }
        if state.netlink == nil {
            guard let retryAt = state.netlinkRetryAt, ContinuousClock.now >= retryAt else { return false }
            openNetlink(&state)
        }
        guard let socket = state.netlink else { return false }
        var batch: NetlinkSetElementBatch
        do throws(FirewallError) {
            guard let built = try netlinkBatch(planned, refreshesInPlace: state.refreshesInPlace, firstSequence: socket.nextSequence) else {
                return false
            }
            batch = built
        } catch {
            logger.debug("nfnetlink ban not encodable, using libnftables", metadata: ["error": "\(error.message)"])
            return false
        }
        do throws(NetlinkError) {
            try socket.send(&batch, timeout: Self.netlinkTimeout)
            state.netlinkCounters.bans += 1
            return true
        } catch {
            state.netlinkCounters.fallbacks += 1
            if error.kind != .kernel {
                // The socket may be out of step with the kernel: drop it, reopen later.
                state.netlink = nil
                state.netlinkRetryAt = ContinuousClock.now + Self.netlinkRetryDelay
            }
            logger.debug("nfnetlink ban failed, retrying through libnftables", metadata: ["error": "\(error.firewallError.message)"])
            return false
        }
    }

    /// The nfnetlink batch `fastBanCommands` would send; nil when an element cannot be
    /// expressed (an out-of-range timeout). A prefix in an interval set is two elements, as
    /// nft sends it: its first address (with the timeout) and the address after its last,
    /// flagged as the interval's end (none when the prefix reaches the top of the family).
    /// Without libnftables there is no read-back of the ruleset, whose cost grows with
    /// every other set in the namespace (a range block of 10 k intervals made each prefix
    /// ban cost ~150 ms that way).
    func netlinkBatch(_ planned: [PlannedElement], refreshesInPlace: Bool, firstSequence: UInt32) throws(FirewallError) -> NetlinkSetElementBatch? {
        var bySet: [NFTSyntax.SetName: [NetlinkSetElementBatch.Element]] = [:]
        for element in planned {
            var timeout: UInt64?
            if let lifetime = element.lifetime {
                guard let milliseconds = NetlinkSetElementBatch.milliseconds(lifetime) else { return nil }
                timeout = milliseconds
            }
            let interval = element.interval
            let key = NetlinkSetElementBatch.key(interval.low, family: interval.family)
            bySet[element.set, default: []].append(.init(key: key, timeoutMilliseconds: timeout))
            if element.set.isInterval {
                let top: UInt128 = interval.family == .v4 ? UInt128(UInt32.max) : UInt128.max
                if interval.high < top {
                    let end = NetlinkSetElementBatch.key(interval.high + 1, family: interval.family)
                    bySet[element.set, default: []].append(.init(key: end, timeoutMilliseconds: nil, intervalEnd: true))
                }
            } else if interval.low != interval.high {
                return nil // a range in a host set cannot be expressed
            }
        }
        var batch = try NetlinkSetElementBatch(table: table, firstSequence: firstSequence)
        for set in NFTSyntax.SetName.allCases {
            guard let elements = bySet[set], !elements.isEmpty else { continue }
            try batch.append(.add, set: set.rawValue, elements: elements)
            if !refreshesInPlace {
                try batch.append(.delete, set: set.rawValue, elements: elements)
                try batch.append(.add, set: set.rawValue, elements: elements)
            }
        }
        return batch
    }

    /// Checks the nfnetlink path end to end on a scratch set of our table (removed again),
    /// so that the first real ban neither finds it broken nor pays for first-use costs
    /// (Swift runtime metadata and conformance look-ups, cold code: ~0.15 ms measured).
    /// On failure the socket is dropped and bans use libnftables.
    private func checkNetlink(_ state: inout State) {
        guard let socket = state.netlink else { return }
        let scratch = "netlink_probe"
        do throws(FirewallError) {
            _ = try state.command.run("add set inet \(table) \(scratch) { type ipv4_addr; flags timeout; }\n")
        } catch {
            logger.debug("could not create the nfnetlink probe set", metadata: ["error": "\(error.message)"])
            return
        }
        defer {
            do throws(FirewallError) {
                _ = try state.command.run("delete set inet \(table) \(scratch)\n")
            } catch {
                logger.warning("could not remove the nfnetlink probe set", metadata: ["error": "\(error.message)"])
            }
        }
        do throws(FirewallError) {
            // The same steps as a ban of 192.0.2.1 (TEST-NET-1), sent to the scratch set.
            let sample = [BanElement(network: IPNetwork(host: .v4(0xC000_0201)), timeout: .seconds(1))]
            let planned = try BanPlanner.normalize(sample, configuration: configuration).elements
            _ = try netlinkBatch(planned, refreshesInPlace: state.refreshesInPlace, firstSequence: socket.nextSequence)
            var batch = try NetlinkSetElementBatch(table: table, firstSequence: socket.nextSequence)
            try batch.append(
                .add, set: scratch, elements: [.init(key: NetlinkSetElementBatch.key(0xC000_0201, family: .v4), timeoutMilliseconds: 1_000)])
            do throws(NetlinkError) {
                try socket.send(&batch, timeout: Self.netlinkTimeout)
            } catch {
                state.netlink = nil
                state.netlinkRetryAt = ContinuousClock.now + Self.netlinkRetryDelay
                logger.debug("nfnetlink self-test failed, bans use libnftables", metadata: ["error": "\(error.firewallError.message)"])
            }
        } catch {
            logger.debug("nfnetlink self-test not encodable", metadata: ["error": "\(error.message)"])
        }
    }

    /// Opens the nfnetlink socket; on failure, logs and schedules a later attempt.
    private func openNetlink(_ state: inout State) {
        do throws(NetlinkError) {
            state.netlink = try NetlinkSocket()
            state.netlinkRetryAt = nil
        } catch {
            state.netlink = nil
            state.netlinkRetryAt = ContinuousClock.now + Self.netlinkRetryDelay
            logger.debug("no nfnetlink socket, bans use libnftables", metadata: ["error": "\(error.message)"])
        }
    }

    /// Rebuilds the table carrying its elements over (`rebuildCommands`); empty if they cannot be.
    private func rebuild(_ setUp: String, _ state: inout State) throws(FirewallError) {
        let current = try? listSets(state)
        do throws(FirewallError) {
            _ = try state.command.run(rebuildCommands(setUp, carrying: current))
        } catch {
            guard current != nil else { throw error }
            logger.warning("could not carry the elements over, rebuilding the table empty", metadata: ["error": "\(error.message)"])
            _ = try state.command.run(rebuildCommands(setUp, carrying: nil))
        }
    }

    private func listSets(_ state: borrowing State) throws(FirewallError) -> [NFTSyntax.SetName: NFTListing.SetContents] {
        try listSets(state.json)
    }

    private func listSets(_ json: borrowing NFTContext) throws(FirewallError) -> [NFTSyntax.SetName: NFTListing.SetContents] {
        let output = try json.run("list table inet \(table)\n")
        let sets = try NFTListing.parseSets(output)
        for (set, contents) in sets where contents.skipped > 0 {
            logger.warning(
                "ignored elements nft listed in a form not understood", metadata: ["set": "\(set.rawValue)", "count": "\(contents.skipped)"])
        }
        return sets
    }

    /// Does a plain `add` of an existing element replace its timeout (and permanence)?
    /// Checked on scratch sets in our table, which are removed again.
    private func probeRefreshInPlace(_ state: borrowing State) -> Bool {
        let t = table
        let create = """
            add set inet \(t) probe_hash { type ipv4_addr; flags timeout; }
            add set inet \(t) probe_interval { type ipv4_addr; flags interval, timeout; }
            flush set inet \(t) probe_hash
            flush set inet \(t) probe_interval

            """
        var first = ""
        var second = ""
        for set in ["probe_hash", "probe_interval"] {
            first += "add element inet \(t) \(set) { 192.0.2.1 timeout 3600s, 192.0.2.2 timeout 3600s, 192.0.2.3 }\n"
            second += "add element inet \(t) \(set) { 192.0.2.1 timeout 7200s, 192.0.2.2, 192.0.2.3 timeout 3600s }\n"
        }
        defer {
            do throws(FirewallError) {
                _ = try state.command.run("delete set inet \(t) probe_hash\ndelete set inet \(t) probe_interval\n")
            } catch {
                logger.warning("could not remove probe sets", metadata: ["error": "\(error.message)"])
            }
        }
        do throws(FirewallError) {
            _ = try state.command.run(create + first)
            _ = try state.command.run(second)
            let output = try state.json.run("list table inet \(t)\n")
            let document = try NFTListing.parseProbe(output, setNames: ["probe_hash", "probe_interval"])
            guard document.count == 2 else { return false }
            return document.values.allSatisfy { elements in
                let byAddress = Dictionary(elements.map { ($0.interval.low, $0.remaining) }, uniquingKeysWith: { a, _ in a })
                guard let one = byAddress[0xC000_0201], let two = byAddress[0xC000_0202], let three = byAddress[0xC000_0203] else { return false }
                return (one ?? .zero) > .seconds(3_600) && two == nil && three != nil
            }
        } catch {
            logger.info("could not check timeout refresh, re-bans will use delete + add", metadata: ["error": "\(error.message)"])
            return false
        }
    }
}
