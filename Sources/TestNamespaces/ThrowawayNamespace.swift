// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation

/// The gate every kernel-touching test goes through (nftables, AF_PACKET, NFQUEUE).
///
/// Such tests run only inside a throwaway network namespace (`scripts/test-in-netns.sh`),
/// never against the host's own network and firewall. Outside one they are skipped —
/// unless `SIPWARDEN_REQUIRE_NETNS=1` (CI), in which case they run and fail, so a CI that
/// forgot the namespace cannot pass by skipping them.
public enum ThrowawayNamespace {
    public static let environment = ProcessInfo.processInfo.environment
    /// `SIPWARDEN_REQUIRE_NETNS=1`: kernel tests must run.
    public static let required = environment["SIPWARDEN_REQUIRE_NETNS"] == "1"
    /// `SIPWARDEN_BENCH=1`: the benchmark tests run too.
    public static let benchmark = environment["SIPWARDEN_BENCH"] == "1"
    /// Whether kernel tests are enabled (use with `.enabled(if:)`).
    public static let enabled = isCurrent || required

    /// True when our network namespace differs from PID 1's. When PID 1's namespace cannot
    /// be read (some containers), true only inside a namespace named `sw-test-*` (which the
    /// script creates) or `$SIPWARDEN_NETNS_PREFIX-*` (the script's prefix when set).
    public static let isCurrent: Bool = {
        guard let mine = inode("/proc/self/ns/net") else { return false }
        if let initial = inode("/proc/1/ns/net") { return mine != initial }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        let prefixes = ["sw-test-"] + (environment["SIPWARDEN_NETNS_PREFIX"].map { $0.isEmpty ? [] : ["\($0)-"] } ?? [])
        return names.contains { name in prefixes.contains { name.hasPrefix($0) } && inode("/run/netns/\(name)") == mine }
    }()

    /// Why a kernel test refused to run.
    public struct NotAllowed: Error, CustomStringConvertible {
        public let description: String
    }

    /// First line of every kernel test: throws unless inside a throwaway namespace (and,
    /// with `root`, running as root).
    public static func check(root: Bool = false) throws {
        guard isCurrent else {
            throw NotAllowed(description: "not inside a throwaway network namespace: run via scripts/test-in-netns.sh")
        }
        if root && getuid() != 0 { throw NotAllowed(description: "this test needs root") }
    }

    static func inode(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }
}
