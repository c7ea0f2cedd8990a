// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation

/// A started helper process (through `/usr/bin/env`, stdout and stderr to one pipe), for
/// tests that run something in the background while they act, then collect it.
public final class HelperProcess {
    private let process = Process()
    private let pipe = Pipe()

    public init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
    }

    /// Waits at most `timeout` (then SIGKILLs it, by PID) and returns its exit status and
    /// its combined output.
    public func finish(timeout: Duration) -> (status: Int32, output: String) {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

extension ThrowawayNamespace {
    /// A helper command (ip, python3, …) that failed.
    public struct CommandFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs a helper command through `/usr/bin/env` with a deadline (killed after it);
    /// returns its exit status and its combined stdout and stderr.
    @discardableResult
    public static func run(_ arguments: [String], timeout: Duration = .seconds(15)) throws -> (status: Int32, output: String) {
        try HelperProcess(arguments).finish(timeout: timeout)
    }

    /// A second namespace wired to ours by a veth pair.
    public struct Peer {
        public let namespace: String
        /// Our end of the veth pair.
        public let interface: String
        /// Deletes the veth pair, and the namespace when it was created here.
        public let cleanup: () -> Void
    }

    /// Wires a peer namespace to ours: `SIPWARDEN_PEER_NETNS` (which scripts/test-in-netns.sh
    /// creates) or, failing that, `sw-test-TAG-PID`. Each test target passes its own `tag` and
    /// addresses (CIDR text; IPv6 ones are added without duplicate address detection), so
    /// targets never clash. Addresses must come from 198.18.0.0/15 or 2001:2::/48.
    public static func wirePeer(tag: String, local: [String], peer: [String]) throws -> Peer {
        let pid = String(getpid() % 100_000)
        var created = false
        let name: String
        if let given = environment["SIPWARDEN_PEER_NETNS"], !given.isEmpty {
            name = given
        } else {
            name = "sw-test-\(tag)-\(pid)"
            guard try run(["ip", "netns", "add", name]).status == 0 else {
                throw CommandFailed(description: "ip netns add \(name) failed")
            }
            created = true
        }
        let ours = "sw\(tag)a\(pid)"
        let theirs = "sw\(tag)b\(pid)"
        let cleanup = {
            _ = try? run(["ip", "link", "delete", ours])
            if created { _ = try? run(["ip", "netns", "delete", name]) }
        }
        func add(_ cidr: String, dev: String, namespace: String?) -> [String] {
            let prefix = namespace.map { ["ip", "-n", $0] } ?? ["ip"]
            return cidr.contains(":") ? prefix + ["-6", "addr", "add", cidr, "dev", dev, "nodad"] : prefix + ["addr", "add", cidr, "dev", dev]
        }
        var commands: [[String]] = [
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "add", ours, "type", "veth", "peer", "name", theirs, "netns", name],
        ]
        commands += local.map { add($0, dev: ours, namespace: nil) }
        commands.append(["ip", "link", "set", ours, "up"])
        commands += peer.map { add($0, dev: theirs, namespace: name) }
        commands.append(["ip", "-n", name, "link", "set", theirs, "up"])
        commands.append(["ip", "-n", name, "link", "set", "lo", "up"])
        for command in commands {
            let result = try run(command)
            if result.status != 0 {
                cleanup()
                throw CommandFailed(description: "\(command.joined(separator: " ")): \(result.output)")
            }
        }
        return Peer(namespace: name, interface: ours, cleanup: cleanup)
    }
}
