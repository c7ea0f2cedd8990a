// SPDX-License-Identifier: GPL-2.0-or-later
import Foundation
import Testing
@testable import Firewall
import NetworkAddress

/// Kernel tests run only inside a throwaway network namespace (scripts/test-in-netns.sh).
/// With SIPWARDEN_REQUIRE_NETNS=1 (CI) they run anyway and fail if not in one.
enum KernelGate {
    static let required = ProcessInfo.processInfo.environment["SIPWARDEN_REQUIRE_NETNS"] == "1"
    static let benchmark = ProcessInfo.processInfo.environment["SIPWARDEN_BENCH"] == "1"
    static let enabled = inThrowawayNetns || required

    /// True when our network namespace differs from PID 1's. When PID 1's namespace cannot
    /// be read (some containers), true only when we are in a namespace named `sw-test-*`
    /// (which the script creates).
    static let inThrowawayNetns: Bool = {
        guard let mine = inode("/proc/self/ns/net") else { return false }
        if let initial = inode("/proc/1/ns/net") { return mine != initial }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        return names.contains { $0.hasPrefix("sw-test-") && inode("/run/netns/\($0)") == mine }
    }()

    static func inode(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// First line of every kernel test.
    static func check() throws {
        try #require(inThrowawayNetns, "not inside a throwaway network namespace: run via scripts/test-in-netns.sh")
    }
}

/// A table name nobody else uses.
func uniqueTableName(_ tag: String) -> String {
    "swt_\(tag)_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
}

func network(_ text: String) -> IPNetwork {
    guard let network = IPNetwork(text, strict: true) else { fatalError("bad test network \(text)") }
    return network
}

/// Runs a helper command (ip, bash) and returns its exit status; stdout/stderr are captured.
@discardableResult
func shell(_ arguments: [String], timeout: Duration = .seconds(10)) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning, ContinuousClock.now < deadline { usleep(5_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
