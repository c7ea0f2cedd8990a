// SPDX-License-Identifier: GPL-2.0-or-later
import Foundation
import Testing

/// Live capture tests run only inside a throwaway network namespace (scripts/test-in-netns.sh);
/// with SIPWARDEN_REQUIRE_NETNS=1 (CI) they run anyway and fail if not in one.
enum PacketCaptureGate {
    static let required = ProcessInfo.processInfo.environment["SIPWARDEN_REQUIRE_NETNS"] == "1"
    static let enabled = inThrowawayNetns || required

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

    static func check() throws {
        try #require(inThrowawayNetns, "not inside a throwaway network namespace: run via scripts/test-in-netns.sh")
        try #require(getuid() == 0, "live capture needs root")
    }
}

/// Runs a helper command (ip, python3) with a deadline; returns its status and output.
@discardableResult
func captureShell(_ arguments: [String], timeout: Duration = .seconds(15)) throws -> (status: Int32, output: String) {
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
