// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc

/// Why the inline firewall rules could not be installed or removed.
public enum InlineRulesError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Ports must be 1...65535, lower ≤ upper, 1 to 15 entries (the multiport limit).
    case invalidPorts(String)
    /// The tool could not be started (not installed?).
    case spawn(tool: String, errno: Int32)
    /// The tool ran and failed.
    case failed(command: String, status: Int32)

    public var description: String {
        switch self {
        case .invalidPorts(let m): "inline rules: \(m)"
        case .spawn(let t, let e): "inline rules: cannot run \(t): \(String(cString: strerror(e)))"
        case .failed(let c, let s): "inline rules: `\(c)` exited with status \(s)"
        }
    }
}

/// What ``InlineRules/install(queue:ports:failMode:)`` found and did.
public struct InlineRulesReport: Hashable, Sendable, CustomStringConvertible {
    /// Whether this kernel accepts nft's `queue` statement (informational: the xt
    /// NFQUEUE target is used either way, since it works on every kernel that has
    /// nfnetlink_queue).
    public var nftQueueStatementAvailable: Bool
    /// The tools rules were installed with (`iptables-nft`, and `ip6tables-nft` when present).
    public var tools: [String]
    /// The rules as `iptables -S` would print them.
    public var rules: [String]

    public var description: String {
        "nft queue statement \(nftQueueStatementAvailable ? "available" : "not available"); installed with \(tools.joined(separator: ", ")): "
            + rules.joined(separator: "; ")
    }
}

/// Installs the firewall rules that send SIP over UDP through the inline queue — the
/// Swift twin of `scripts/inline-rules.sh`, for the daemon's start-up (it spawns
/// `iptables-nft` with `posix_spawn`, a few times, never on the hot path). Acts on the
/// network namespace of the calling process.
public enum InlineRules {
    public static let inputChain = "SIPWARDEN_INLINE_IN"
    public static let outputChain = "SIPWARDEN_INLINE_OUT"

    /// Replaces any previous inline rules with: towards the PBX, `udp dport PORTS` (not
    /// from `lo`) → NFQUEUE `queue`; from the PBX, `udp sport PORTS` (not to `lo`) → the
    /// same queue; `--queue-bypass` unless `failMode` is `.closed`.
    public static func install(
        queue: UInt16, ports: [ClosedRange<UInt16>] = [5060...5060], failMode: InlineFailMode = .bypassWhenStopped
    ) throws(InlineRulesError) -> InlineRulesReport {
        let portList = try multiportList(ports)
        let bypass = failMode.bypassWhenNotListening ? ["--queue-bypass"] : []
        let tools = availableTools()
        var rules: [String] = []
        for tool in tools {
            try removeRules(tool)
            try run(tool, ["-w", "-N", inputChain])
            try run(tool, ["-w", "-N", outputChain])
            let input =
                ["!", "-i", "lo", "-p", "udp", "-m", "multiport", "--dports", portList, "-j", "NFQUEUE", "--queue-num", String(queue)] + bypass
            let output =
                ["!", "-o", "lo", "-p", "udp", "-m", "multiport", "--sports", portList, "-j", "NFQUEUE", "--queue-num", String(queue)] + bypass
            try run(tool, ["-w", "-A", inputChain] + input)
            try run(tool, ["-w", "-A", outputChain] + output)
            try run(tool, ["-w", "-I", "INPUT", "1", "-j", inputChain])
            try run(tool, ["-w", "-I", "OUTPUT", "1", "-j", outputChain])
            rules.append("\(tool) -A \(inputChain) " + input.joined(separator: " "))
            rules.append("\(tool) -A \(outputChain) " + output.joined(separator: " "))
        }
        return InlineRulesReport(nftQueueStatementAvailable: nftQueueStatementAvailable(queue: queue), tools: tools, rules: rules)
    }

    /// Removes the inline rules (no error when there are none).
    public static func remove() throws(InlineRulesError) {
        for tool in availableTools() { try removeRules(tool) }
    }

    /// `5060,5080:5081`, validated.
    static func multiportList(_ ports: [ClosedRange<UInt16>]) throws(InlineRulesError) -> String {
        guard (1...15).contains(ports.count) else { throw .invalidPorts("between 1 and 15 port entries are needed, got \(ports.count)") }
        var parts: [String] = []
        for range in ports {
            guard range.lowerBound >= 1 else { throw .invalidPorts("port 0 is not a port") }
            parts.append(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound):\(range.upperBound)")
        }
        return parts.joined(separator: ",")
    }

    private static func availableTools() -> [String] {
        ["iptables-nft", "ip6tables-nft"].filter { resolve($0) != nil }
    }

    /// The absolute path of `tool` in the usual system directories (PATH is not trusted).
    private static func resolve(_ tool: String) -> String? {
        ["/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"].lazy.map { $0 + tool }.first { access($0, X_OK) == 0 }
    }

    private static func removeRules(_ tool: String) throws(InlineRulesError) {
        for (hook, chain) in [("INPUT", inputChain), ("OUTPUT", outputChain)] {
            var n = 0
            while n < 16, (try? status(tool, ["-w", "-C", hook, "-j", chain])) == 0 {
                try run(tool, ["-w", "-D", hook, "-j", chain])
                n += 1
            }
            if try status(tool, ["-w", "-S", chain]) == 0 {
                try run(tool, ["-w", "-F", chain])
                try run(tool, ["-w", "-X", chain])
            }
        }
    }

    private static func nftQueueStatementAvailable(queue: UInt16) -> Bool {
        // `nft -c` checks against the kernel without committing anything.
        let probe = "table inet sw_inline_probe { chain c { queue num \(queue) bypass; }; }"
        return (try? status("nft", ["-c", probe])) == 0
    }

    private static func run(_ tool: String, _ arguments: [String]) throws(InlineRulesError) {
        let code = try status(tool, arguments)
        guard code == 0 else { throw .failed(command: ([tool] + arguments).joined(separator: " "), status: code) }
    }

    /// Runs `tool` (from the system directories) with its output discarded; returns its exit status.
    private static func status(_ tool: String, _ arguments: [String]) throws(InlineRulesError) -> Int32 {
        guard let path = resolve(tool) else { throw .spawn(tool: tool, errno: ENOENT) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0) }
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { for p in environment { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, &environment)
        guard rc == 0 else { throw .spawn(tool: tool, errno: rc) }
        var wstatus: Int32 = 0
        while waitpid(pid, &wstatus, 0) < 0 {
            guard errno == EINTR else { throw .spawn(tool: tool, errno: errno) }
        }
        // WIFEXITED / WEXITSTATUS (macros Swift does not import).
        return wstatus & 0x7F == 0 ? (wstatus >> 8) & 0xFF : 128 + (wstatus & 0x7F)
    }
}
