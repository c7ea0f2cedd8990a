// SPDX-License-Identifier: GPL-2.0-or-later

public import ControlPlane
import Firewall
import Foundation
import Glibc
import IntelStore
public import Logging
import NetworkAddress
public import RangePolicy

/// The control plane's `/v1/ranges` over a daemon's `RangeBlocks`.
public struct DaemonRangeAdministration: RangeAdministration {
    public let blocks: RangeBlocks

    public init(blocks: RangeBlocks) {
        self.blocks = blocks
    }

    public func rangeBlocks() throws(AdministrationError) -> [RangeBlockView] {
        blocks.list().map(Self.view)
    }

    public func block(_ request: RangeBlockRequestBody) throws(AdministrationError) -> RangeBlockView {
        guard let selector = RangeSelector.parse(request.selector, namedLists: Set(blocks.settings.lists.keys)) else {
            throw AdministrationError(.invalid, "selector: expected aws:EC2, AS14061, list:NAME or file:/PATH")
        }
        let scope = RangeScope(rawValue: request.scope ?? "sip") ?? .sip
        do throws(RangeBlocks.Failure) {
            return Self.view(try blocks.block(selector, scope: scope, duration: request.blockSeconds.map { .seconds($0) }))
        } catch {
            throw Self.administrationError(error)
        }
    }

    public func unblock(selector text: String) throws(AdministrationError) -> RangeUnblockResult {
        guard let selector = RangeSelector.parse(text, namedLists: Set(blocks.settings.lists.keys)) else {
            throw AdministrationError(.invalid, "selector: expected aws:EC2, AS14061, list:NAME or file:/PATH")
        }
        do throws(RangeBlocks.Failure) {
            return RangeUnblockResult(selector: selector.description, lifted: try blocks.unblock(selector))
        } catch {
            throw Self.administrationError(error)
        }
    }

    static func administrationError(_ failure: RangeBlocks.Failure) -> AdministrationError {
        switch failure.kind {
        case .invalid: AdministrationError(.invalid, failure.description)
        case .refused: AdministrationError(.refused, failure.description)
        case .failed: AdministrationError(.failed, failure.description)
        }
    }

    /// A record as the API shows it.
    public static func view(_ record: RangeBlockRecord) -> RangeBlockView {
        RangeBlockView(
            selector: record.selector.description, scope: record.scope.rawValue, origin: record.origin.rawValue,
            created: RFC3339.format(record.created), expires: record.expires.map(RFC3339.format),
            intervals: record.intervals, refreshed: RFC3339.format(record.refreshed), reason: record.reason)
    }
}

/// `sipwarden ranges list|block|unblock`: through the running daemon's control plane,
/// else on the kernel and the state file directly (a daemon started later reconciles them).
public struct RangesAdministration {
    public let configuration: Configuration
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    private var namedLists: Set<String> { Set(configuration.ranges.lists.keys) }

    /// The local `RangeBlocks` (no daemon): the kernel table set up, unless dry-run.
    func localBlocks() throws(RuntimeFailure) -> RangeBlocks {
        var firewall: RangeBlockFirewall?
        if configuration.firewall == .nftables {
            do throws(FirewallError) {
                let kernel = try RangeBlockFirewall(configuration: configuration.ranges.kernel, logger: logger)
                try kernel.setUp()
                firewall = kernel
            } catch {
                throw RuntimeFailure("range table: \(error.message)")
            }
        }
        do throws(RangeBlocks.Failure) {
            return try RangeBlocks(
                settings: configuration.ranges, stateDirectory: configuration.stateDirectory,
                allowlist: configuration.detection.allowlist.networks, firewall: firewall,
                source: NetworkKnowledge.rangeSource(holder: IntelStoreHolder(intelStore()), settings: configuration.ranges),
                clock: systemClock, logger: logger)
        } catch {
            throw RuntimeFailure(error.description)
        }
    }

    /// The intelligence store of the state directory (providers and AS numbers for selectors).
    private func intelStore() -> IntelStore {
        let (store, problems) = IntelDirectory(stateDirectory: configuration.stateDirectory).loadStore()
        for problem in problems { logger.warning("intel: a stored file is left out", metadata: ["problem": "\(problem)"]) }
        return store
    }

    private func daemon() -> ControlPlaneClient? {
        Administration(configuration: configuration, logger: logger).daemon()
    }

    /// The daemon's answer, or nil when none listens (or it runs without range blocks).
    private func throughDaemon<T>(_ request: (ControlPlaneClient) throws(ControlPlaneClientError) -> T) throws(RuntimeFailure) -> T? {
        guard let client = daemon() else { return nil }
        do {
            return try request(client)
        } catch .noDaemon {
            return nil
        } catch let .refused(status, message) {
            if status == 404 { return nil } // a daemon without range blocks: work locally
            throw RuntimeFailure(message)
        } catch {
            throw RuntimeFailure("the running daemon did not answer on \(client.socketPath): \(error)")
        }
    }

    /// A selector from the command line; a relative file is the caller's, not the daemon's.
    func parseSelector(_ text: String) throws(RuntimeFailure) -> RangeSelector {
        guard let selector = RangeSelector.parse(text, namedLists: namedLists) else {
            throw RuntimeFailure("'\(text)' is not a selector (aws:EC2, AS14061, list:NAME, file:/PATH)")
        }
        if case .file(let path) = selector, !path.hasPrefix("/") {
            return .file(FileManager.default.currentDirectoryPath + "/" + path)
        }
        return selector
    }

    public func list(json: Bool) throws(RuntimeFailure) -> String {
        let views: [RangeBlockView]
        if let remote = try throughDaemon({ (c) throws(ControlPlaneClientError) in try c.rangeBlocks() }) {
            views = remote
        } else {
            views = try localBlocks().list().map(DaemonRangeAdministration.view)
        }
        if json {
            return views.map { v in
                var w = JSONLineWriter()
                w.raw("{")
                w.key("selector", first: true)
                w.string(v.selector)
                w.key("scope")
                w.string(v.scope)
                w.key("origin")
                w.string(v.origin)
                w.key("created")
                w.string(v.created)
                if let expires = v.expires {
                    w.key("expires")
                    w.string(expires)
                }
                w.key("intervals")
                w.number(Int64(v.intervals))
                w.key("refreshed")
                w.string(v.refreshed)
                if let reason = v.reason {
                    w.key("reason")
                    w.string(reason)
                }
                w.raw("}\n")
                return String(decoding: w.bytes, as: UTF8.self)
            }.joined()
        }
        guard !views.isEmpty else { return "no range blocks" }
        return views.map { v in
            "\(v.selector)  \(v.scope == "all" ? "everything" : "SIP ports")  \(v.intervals) intervals  \(v.origin)  since \(v.created)  "
                + (v.expires.map { "until \($0)" } ?? "permanent") + (v.reason.map { "  (\($0))" } ?? "")
        }.joined(separator: "\n")
    }

    public func block(_ text: String, scope: RangeScope, duration: Duration?) throws(RuntimeFailure) -> String {
        let selector = try parseSelector(text)
        let seconds = duration.map { d in max(1, d.components.seconds + (d.components.attoseconds > 0 ? 1 : 0)) }
        let body = RangeBlockRequestBody(selector: selector.description, scope: scope.rawValue, blockSeconds: seconds)
        let view: RangeBlockView
        if let remote = try throughDaemon({ (c) throws(ControlPlaneClientError) in try c.block(body) }) {
            view = remote
        } else {
            let local = try localBlocks()
            do throws(RangeBlocks.Failure) {
                view = DaemonRangeAdministration.view(try local.block(selector, scope: scope, duration: duration))
            } catch {
                throw RuntimeFailure(error.description)
            }
        }
        return "blocked \(view.selector) (\(view.intervals) intervals) on " + (scope == .all ? "everything" : "the SIP ports") + " "
            + (duration.map { "for \(DurationParser.format($0))" } ?? "permanently")
    }

    public func unblock(_ text: String) throws(RuntimeFailure) -> String {
        let selector = try parseSelector(text)
        let lifted: Bool
        if let remote = try throughDaemon({ (c) throws(ControlPlaneClientError) in try c.unblock(selector: selector.description) }) {
            lifted = remote.lifted
        } else {
            let local = try localBlocks()
            do throws(RangeBlocks.Failure) {
                lifted = try local.unblock(selector)
            } catch {
                throw RuntimeFailure(error.description)
            }
        }
        return lifted ? "lifted the block of \(selector)" : "\(selector) was not blocked"
    }
}
