// SPDX-License-Identifier: GPL-2.0-or-later

/// One conclusion of the probe.
public struct ProbeFinding: Sendable, Hashable, Codable {
    /// What kind of difference was found.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Different final status codes (the svwar signal).
        case statusCode = "status-code"
        /// One user is answered, the other is not (or only provisionally).
        case silence
        /// Same status, but a header, reason phrase or provisional sequence differs.
        case header
        /// The answers take consistently different times (warning only).
        case timing
        /// No difference for this method.
        case noDifference = "no-difference"
        /// Neither user got an answer: the method could not be compared.
        case untested
    }

    /// How much the finding matters.
    public enum Severity: String, Sendable, Hashable, Codable {
        /// Users can be told apart: enumeration is possible.
        case leak
        /// A possible side channel that needs a closer look; not a verdict.
        case warning
        /// Nothing to fix.
        case info
    }

    /// The method concerned.
    public var method: ProbeMethod
    /// The kind of finding.
    public var kind: Kind
    /// Its severity.
    public var severity: Severity
    /// One sentence for humans.
    public var message: String
    /// The answer features that differ (`feature: existing | unknown`), for details.
    public var differences: [String]

    /// Creates a finding.
    public init(method: ProbeMethod, kind: Kind, severity: Severity, message: String, differences: [String] = []) {
        self.method = method
        self.kind = kind
        self.severity = severity
        self.message = message
        self.differences = differences
    }
}

/// Overall outcome.
public enum ProbeVerdict: String, Sendable, Hashable, Codable {
    /// At least one method lets an attacker tell existing users from unknown ones.
    case leak
    /// Every method that got an answer answered both users alike.
    case noLeak = "no-leak"
    /// No method got an answer at all.
    case inconclusive
}

/// A piece of advice for a server product.
public struct ProbeAdvice: Sendable, Hashable, Codable {
    /// The product it applies to (`Asterisk chan_sip`, `Kamailio`, ..., or `Any server`).
    public var product: String
    /// What to change.
    public var text: String
}

/// The result of a probe: per-method comparison of the answers for the existing user
/// and for random unknown users, findings, and what to change.
///
/// Decision rules (see docs/PROBE.md): for each method, every answer is reduced to
/// features (final status, reason phrase, provisional codes, challenge parameters,
/// Server / User-Agent / Warning / Allow / Supported / Contact / body). A feature
/// *leaks* when the values seen for the existing user and those seen for the unknown
/// users are disjoint sets (a consistent difference an attacker can rely on). Timing is
/// a warning only: it is reported when the latency ranges do not overlap, the medians
/// differ by more than 5 ms and the slower median is more than 3 times the faster.
public struct ProbeReport: Sendable, Hashable, Codable {
    /// Result for one method.
    public struct MethodResult: Sendable, Hashable, Codable {
        /// The method.
        public var method: ProbeMethod
        /// Whether answers could be compared (at least one side got an answer).
        public var tested: Bool
        /// Whether the method lets users be told apart.
        public var leaks: Bool
        /// Short description of the answers for the existing user.
        public var existing: String
        /// Short description of the answers for the unknown users.
        public var unknown: String
        /// Median latency of final answers for the existing user, in milliseconds.
        public var existingMedianMilliseconds: Double?
        /// Median latency of final answers for the unknown users, in milliseconds.
        public var unknownMedianMilliseconds: Double?
    }

    /// The target, `host:port`.
    public var target: String
    /// Transport used.
    public var transport: ProbeTransport
    /// The user said to exist.
    public var existingUser: String
    /// The random users used as nonexistent ones.
    public var unknownUsers: [String]
    /// Overall verdict.
    public var verdict: ProbeVerdict
    /// `verdict == .leak`.
    public var leaks: Bool
    /// Per-method results.
    public var methods: [MethodResult]
    /// Findings, leaks first.
    public var findings: [ProbeFinding]
    /// The server product guessed from Server / User-Agent, if recognised.
    public var serverProduct: String?
    /// What to change (empty when nothing leaks and no warning was raised).
    public var remediation: [ProbeAdvice]
    /// Every observation, in the order the requests were sent.
    public var observations: [ProbeObservation]

    /// Analyses `observations` (normally from ``EnumerationProbe/report()``).
    public init(target: ProbeTarget, configuration: ProbeConfiguration, unknownUsers: [String], observations: [ProbeObservation]) {
        self.target = target.description
        self.transport = target.transport
        self.existingUser = configuration.existingUser
        self.unknownUsers = unknownUsers
        self.observations = observations
        var methods: [MethodResult] = []
        var findings: [ProbeFinding] = []
        for method in configuration.methods {
            let existing = observations.filter { $0.method == method && $0.subject == .existing }
            let unknown = observations.filter { $0.method == method && $0.subject == .unknown }
            let (result, methodFindings) = Self.compare(method: method, existing: existing, unknown: unknown)
            methods.append(result)
            findings += methodFindings
        }
        let order: [ProbeFinding.Severity: Int] = [.leak: 0, .warning: 1, .info: 2]
        findings = findings.enumerated().sorted { a, b in
            let (x, y) = (order[a.element.severity] ?? 3, order[b.element.severity] ?? 3)
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
        self.methods = methods
        self.findings = findings
        let leaks = methods.contains { $0.leaks }
        self.leaks = leaks
        verdict = leaks ? .leak : (methods.contains { $0.tested } ? .noLeak : .inconclusive)
        let product = Self.guessProduct(observations)
        serverProduct = product
        remediation = Self.advice(for: findings, product: product)
    }

    // MARK: Comparison

    /// One comparable feature of an answer.
    struct Feature: Hashable {
        let name: String
        let value: String
    }

    static let featureOrder = [
        "answer", "reason", "provisional", "WWW-Authenticate", "Proxy-Authenticate", "Server", "User-Agent",
        "Warning", "Contact", "Allow", "Supported", "body",
    ]

    /// The comparable features of one observation (user names in free text are masked).
    static func features(_ o: ProbeObservation) -> [String: String] {
        var f: [String: String] = [:]
        if let code = o.finalStatus {
            f["answer"] = String(code)
        } else {
            f["answer"] = o.answered ? "only provisional answers" : "no answer"
        }
        f["provisional"] = o.provisionalStatuses.isEmpty ? "none" : o.provisionalStatuses.map(String.init).joined(separator: " ")
        guard o.finalStatus != nil, let h = o.headers else { return f }
        f["reason"] = mask(o.reasonPhrase ?? "", user: o.user)
        f["WWW-Authenticate"] = h.wwwAuthenticate?.summary ?? "absent"
        f["Proxy-Authenticate"] = h.proxyAuthenticate?.summary ?? "absent"
        f["Server"] = h.server ?? "absent"
        f["User-Agent"] = h.userAgent ?? "absent"
        f["Warning"] = h.warnings.isEmpty ? "absent" : h.warnings.map { mask($0, user: o.user) }.joined(separator: "; ")
        f["Contact"] = h.contactCount == 0 ? "absent" : "present"
        f["Allow"] = h.allow.map(normalizedList) ?? "absent"
        f["Supported"] = h.supported.map(normalizedList) ?? "absent"
        f["body"] = h.bodyLength == 0 ? "none" : "present (\(h.contentType ?? "no Content-Type"))"
        return f
    }

    static func compare(method: ProbeMethod, existing: [ProbeObservation], unknown: [ProbeObservation]) -> (MethodResult, [ProbeFinding]) {
        let existingText = describe(existing)
        let unknownText = describe(unknown)
        let eLat = existing.compactMap(timingSample)
        let uLat = unknown.compactMap(timingSample)
        var result = MethodResult(
            method: method, tested: false, leaks: false, existing: existingText, unknown: unknownText,
            existingMedianMilliseconds: median(eLat), unknownMedianMilliseconds: median(uLat)
        )
        let name = method.rawValue
        guard !existing.isEmpty, !unknown.isEmpty, existing.contains(where: \.answered) || unknown.contains(where: \.answered) else {
            return (
                result,
                [
                    ProbeFinding(
                        method: method, kind: .untested, severity: .info,
                        message: "\(name): no answer for either user — not tested"
                    )
                ]
            )
        }
        result.tested = true
        let eFeatures = existing.map(features)
        let uFeatures = unknown.map(features)
        var differences: [String] = []
        var differing: Set<String> = []
        for key in featureOrder {
            let eValues = Set(eFeatures.compactMap { $0[key] })
            let uValues = Set(uFeatures.compactMap { $0[key] })
            // Features only present on one side (e.g. headers of a final answer the other
            // side never got) are covered by the "answer" feature.
            guard !eValues.isEmpty, !uValues.isEmpty, eValues.isDisjoint(with: uValues) else { continue }
            differing.insert(key)
            differences.append("\(key): \(eValues.sorted().joined(separator: " / ")) | \(uValues.sorted().joined(separator: " / "))")
        }
        var findings: [ProbeFinding] = []
        if differing.contains("answer") {
            let eAnswered = existing.contains { $0.finalStatus != nil }
            let uAnswered = unknown.contains { $0.finalStatus != nil }
            let kind: ProbeFinding.Kind = (eAnswered && uAnswered) ? .statusCode : .silence
            let tail =
                kind == .statusCode
                ? "svwar can enumerate extensions"
                : "the silence itself tells existing users apart"
            findings.append(
                ProbeFinding(
                    method: method, kind: kind, severity: .leak,
                    message: "\(name): existing user gets \(existingText), unknown user gets \(unknownText) — \(tail)",
                    differences: differences
                ))
        } else if !differing.isEmpty {
            let names = featureOrder.filter { differing.contains($0) }
            findings.append(
                ProbeFinding(
                    method: method, kind: .header, severity: .leak,
                    message: "\(name): same status (\(existingText)) but \(names.joined(separator: ", ")) "
                        + "\(names.count == 1 ? "differs" : "differ") between existing and unknown users — an attacker can tell them apart",
                    differences: differences
                ))
        }
        result.leaks = !findings.isEmpty
        if let timing = timingFinding(method: method, existing: eLat, unknown: uLat) { findings.append(timing) }
        if !result.leaks {
            findings.append(
                ProbeFinding(
                    method: method, kind: .noDifference, severity: .info,
                    message: "\(name): no difference (\(existingText) for both) — not enumerable with this method"
                ))
        }
        return (result, findings)
    }

    /// The latency compared between users: time to the final answer, except for an
    /// INVITE we cancelled, whose final answer only came because of our CANCEL: there,
    /// time to its first (provisional) answer.
    static func timingSample(_ o: ProbeObservation) -> Double? {
        o.cleanup.contains("CANCEL") ? o.firstResponseMilliseconds : o.latencyMilliseconds
    }

    /// Timing rule: ranges disjoint, medians more than 5 ms apart and more than 3x.
    static func timingFinding(method: ProbeMethod, existing: [Double], unknown: [Double]) -> ProbeFinding? {
        guard existing.count >= 2, unknown.count >= 2,
            let em = median(existing), let um = median(unknown),
            let eMin = existing.min(), let eMax = existing.max(), let uMin = unknown.min(), let uMax = unknown.max()
        else { return nil }
        let disjoint = eMax < uMin || uMax < eMin
        let (slow, fast) = em > um ? (em, um) : (um, em)
        guard disjoint, slow - fast > 5, slow > 3 * fast else { return nil }
        let who = em > um ? "the existing user" : "unknown users"
        return ProbeFinding(
            method: method, kind: .timing, severity: .warning,
            message: "\(method.rawValue): answers for \(who) are consistently slower (median \(format(em)) ms for the existing user, "
                + "\(format(um)) ms for unknown users) — a possible timing side channel; warning only"
        )
    }

    /// `401 Unauthorized (challenge)`, `404 Not Found`, `401/404`, `no answer`.
    static func describe(_ observations: [ProbeObservation]) -> String {
        var seen: [String] = []
        for o in observations {
            let text: String
            if let code = o.finalStatus {
                let challenge = (o.headers?.wwwAuthenticate != nil || o.headers?.proxyAuthenticate != nil) ? " (challenge)" : ""
                let reason = (o.reasonPhrase ?? "").isEmpty ? "" : " \(o.reasonPhrase ?? "")"
                let cancelled = o.cleanup.contains("CANCEL")
                let before = o.provisionalStatuses.filter { $0 > 100 }.map(String.init).joined(separator: "/")
                text =
                    cancelled
                    ? "\(before.isEmpty ? "" : before + " then ")\(code)\(reason) after our CANCEL"
                    : "\(code)\(reason)\(challenge)"
            } else if o.answered {
                text = "only \(o.provisionalStatuses.map(String.init).joined(separator: "/")) (no final answer)"
            } else {
                text = "no answer"
            }
            if !seen.contains(text) { seen.append(text) }
        }
        return seen.isEmpty ? "nothing (not sent)" : seen.joined(separator: " or ")
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func format(_ ms: Double) -> String {
        let tenths = Int((ms * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Replaces whole-word occurrences of `user` (2+ characters) with `<user>`.
    static func mask(_ text: String, user: String) -> String {
        guard user.count >= 2, text.contains(user) else { return text }
        var out = ""
        var rest = text[...]
        while let range = rest.firstRange(of: user) {
            let before = range.lowerBound == rest.startIndex ? out.last : rest[rest.index(before: range.lowerBound)]
            let after = range.upperBound < rest.endIndex ? rest[range.upperBound] : nil
            let boundary = !(before.map(isWordCharacter) ?? false) && !(after.map(isWordCharacter) ?? false)
            out += rest[..<range.lowerBound]
            out += boundary ? "<user>" : String(rest[range])
            rest = rest[range.upperBound...]
        }
        return out + rest
    }

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber }

    static func normalizedList(_ text: String) -> String {
        text.split(separator: ",").map { $0.trimmingSpaces.uppercased() }.filter { !$0.isEmpty }.sorted().joined(separator: ",")
    }

    // MARK: Remediation

    static func guessProduct(_ observations: [ProbeObservation]) -> String? {
        for o in observations {
            let text = ((o.headers?.server ?? "") + " " + (o.headers?.userAgent ?? "")).lowercased()
            if text.contains("asterisk") || text.contains("freepbx") { return "Asterisk" }
            if text.contains("kamailio") || text.contains("openser") || text.contains("sip-router") { return "Kamailio" }
            if text.contains("opensips") { return "OpenSIPS" }
            if text.contains("freeswitch") { return "FreeSWITCH" }
        }
        return nil
    }

    static let adviceTable: [(family: String, advice: ProbeAdvice)] = [
        (
            "Asterisk",
            ProbeAdvice(
                product: "Asterisk chan_sip",
                text: "Set alwaysauthreject=yes in the [general] section of sip.conf, so rejected INVITEs and REGISTERs "
                    + "always get the same 401 as a wrong password. It is the default since Asterisk 1.8 (1.4 and 1.6.2 "
                    + "defaulted to no), so look for an explicit alwaysauthreject=no. Also set allowguest=no, and keep nat= "
                    + "the same in [general] and in every peer (differing NAT settings leaked peers: AST-2011-013)."
            )
        ),
        (
            "Asterisk",
            ProbeAdvice(
                product: "Asterisk res_pjsip",
                text: "res_pjsip challenges requests it cannot match to an endpoint (its \"artificial endpoint\"), so by "
                    + "default unknown users get a 401 too. A leak usually means an endpoint without inbound auth= (answered "
                    + "without a challenge), or an anonymous / IP-identified endpoint whose dialplan answers differently per "
                    + "extension: give every endpoint inbound auth and make those dialplan paths reject alike. "
                    + "unidentified_request_count / unidentified_request_period in [global] only decide when repeated "
                    + "unidentified requests are logged as security events (useful to sipwarden and fail2ban); they hide nothing."
            )
        ),
        (
            "Kamailio",
            ProbeAdvice(
                product: "Kamailio",
                text: "Authenticate before looking the user up: call auth_check() (or www_authorize() / proxy_authorize()) "
                    + "before any is_subscriber(), lookup() or registered() test that replies 404 or 403, and answer every "
                    + "negative auth_check() result with auth_challenge() (or one fixed reply), never with a user-specific "
                    + "404. Without credentials auth_check() returns -5 whether or not the user exists, so challenging first "
                    + "reveals nothing."
            )
        ),
        (
            "OpenSIPS",
            ProbeAdvice(
                product: "OpenSIPS",
                text: "Same rule as Kamailio: run www_authorize() / proxy_authorize() and challenge before any lookup() or "
                    + "subscriber check that can reply 404, and reply to an unknown user exactly as to a wrong password."
            )
        ),
        (
            "FreeSWITCH",
            ProbeAdvice(
                product: "FreeSWITCH (mod_sofia)",
                text: "The stock profiles challenge REGISTER and (with auth-calls=true) INVITE before looking at the user; "
                    + "a leak usually comes from a profile with auth-calls=false, an ACL that lets requests skip "
                    + "authentication, or a dialplan that answers unknown extensions before authentication. Set "
                    + "log-auth-failures=true in the profile so failed attempts are logged for sipwarden / fail2ban."
            )
        ),
    ]

    static let genericAdvice = ProbeAdvice(
        product: "Any server",
        text: "Answer a request about an unknown user exactly like one about an existing user without valid "
            + "credentials: same status code (normally a 401/407 challenge), same reason phrase and headers, no "
            + "silent drop. Run sipwarden to ban sources that try many users."
    )

    static let timingAdvice = ProbeAdvice(
        product: "Any server",
        text: "Make the unknown-user path take as long as the existing-user path (for example always run the same "
            + "credential lookup); re-run the probe a few times before acting, since load and network jitter also "
            + "move latencies."
    )

    static func advice(for findings: [ProbeFinding], product: String?) -> [ProbeAdvice] {
        var out: [ProbeAdvice] = []
        if findings.contains(where: { $0.severity == .leak }) {
            out.append(genericAdvice)
            let relevant = adviceTable.filter { product == nil || $0.family == product }
            out += relevant.map(\.advice)
        }
        if findings.contains(where: { $0.kind == .timing }) { out.append(timingAdvice) }
        return out
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
