// SPDX-License-Identifier: GPL-2.0-or-later

extension ProbeReport {
    /// The report for a terminal: verdict, per-method summary, findings and advice.
    /// Text that came from the network has its control characters replaced.
    public func renderText() -> String {
        var out = "sipwarden probe \(target) (\(transport.rawValue.uppercased())): existing user \"\(existingUser)\" "
        out += "vs unknown users \(unknownUsers.joined(separator: ", "))\n"
        switch verdict {
        case .leak: out += "Verdict: LEAKS — an attacker can tell existing users from unknown ones (svwar-style enumeration)\n"
        case .noLeak: out += "Verdict: no leak — existing and unknown users get the same answers to the methods tested\n"
        case .inconclusive: out += "Verdict: inconclusive — the target answered none of the requests\n"
        }
        if let serverProduct { out += "Server looks like: \(serverProduct)\n" }
        out += "\n"
        for m in methods {
            let state = !m.tested ? "not tested" : (m.leaks ? "LEAKS" : "same")
            out += pad(m.method.rawValue, 9) + pad(state, 11) + "existing: \(m.existing); unknown: \(m.unknown)"
            if let e = m.existingMedianMilliseconds, let u = m.unknownMedianMilliseconds {
                out += " [median \(Self.format(e)) / \(Self.format(u)) ms]"
            }
            out += "\n"
        }
        out += "\nFindings:\n"
        for f in findings {
            out += "  [\(f.severity.rawValue)] \(f.message)\n"
            if f.severity != .info {
                for d in f.differences { out += "      \(d)\n" }
            }
        }
        if !remediation.isEmpty {
            out += "\nWhat to change:\n"
            for a in remediation { out += "  - \(a.product): \(a.text)\n" }
        }
        return ProbeText.cleanMultiline(out)
    }

    /// The report as one JSON object (UTF-8 text, no trailing newline), with
    /// `verdict`, `leaks`, `methods`, `findings`, `remediation` and every observation.
    public func renderJSON() -> String {
        let w = JSONWriter()
        w.object {
            w.field("target", target)
            w.field("transport", transport.rawValue)
            w.field("existingUser", existingUser)
            w.field("unknownUsers") { w.array(unknownUsers) { w.string($0) } }
            w.field("verdict", verdict.rawValue)
            w.field("leaks", leaks)
            w.field("serverProduct", serverProduct)
            w.field("methods") {
                w.array(methods) { m in
                    w.object {
                        w.field("method", m.method.rawValue)
                        w.field("tested", m.tested)
                        w.field("leaks", m.leaks)
                        w.field("existing", m.existing)
                        w.field("unknown", m.unknown)
                        w.field("existingMedianMs", m.existingMedianMilliseconds)
                        w.field("unknownMedianMs", m.unknownMedianMilliseconds)
                    }
                }
            }
            w.field("findings") {
                w.array(findings) { f in
                    w.object {
                        w.field("method", f.method.rawValue)
                        w.field("kind", f.kind.rawValue)
                        w.field("severity", f.severity.rawValue)
                        w.field("message", f.message)
                        w.field("differences") { w.array(f.differences) { w.string($0) } }
                    }
                }
            }
            w.field("remediation") {
                w.array(remediation) { a in
                    w.object {
                        w.field("product", a.product)
                        w.field("text", a.text)
                    }
                }
            }
            w.field("observations") {
                w.array(observations) { o in
                    w.object {
                        w.field("method", o.method.rawValue)
                        w.field("subject", o.subject.rawValue)
                        w.field("user", o.user)
                        w.field("repetition", o.repetition)
                        w.field("finalStatus", o.finalStatus)
                        w.field("reasonPhrase", o.reasonPhrase)
                        w.field("provisionalStatuses") { w.array(o.provisionalStatuses) { w.number($0) } }
                        w.field("responseCount", o.responseCount)
                        w.field("transmissions", o.transmissions)
                        w.field("latencyMs", o.latencyMilliseconds)
                        w.field("firstResponseMs", o.firstResponseMilliseconds)
                        w.field("cleanup") { w.array(o.cleanup) { w.string($0) } }
                        if let h = o.headers {
                            w.field("headers") {
                                w.object {
                                    w.field("wwwAuthenticate", h.wwwAuthenticate?.summary)
                                    w.field("proxyAuthenticate", h.proxyAuthenticate?.summary)
                                    w.field("server", h.server)
                                    w.field("userAgent", h.userAgent)
                                    w.field("warnings") { w.array(h.warnings) { w.string($0) } }
                                    w.field("contactCount", h.contactCount)
                                    w.field("allow", h.allow)
                                    w.field("supported", h.supported)
                                    w.field("contentType", h.contentType)
                                    w.field("contentLength", h.contentLength)
                                    w.field("bodyLength", h.bodyLength)
                                }
                            }
                        }
                    }
                }
            }
        }
        return w.text
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}

extension ProbeText {
    /// Like ``clean(_:)`` but keeps newlines and has no length limit.
    static func cleanMultiline(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            let bad = (scalar.value < 0x20 && scalar != "\n") || scalar.value == 0x7f
            out.unicodeScalars.append(bad ? "?" : scalar)
        }
        return out
    }
}

/// A minimal streaming JSON writer (RFC 8259). A class so that the nested closures
/// that write members can share it; it never leaves the function that creates it.
final class JSONWriter {
    private(set) var text = ""
    /// Values written so far in each open container.
    private var counts: [Int] = []
    /// A key was just written: the next value belongs to it and takes no comma.
    private var afterKey = false

    private func beginValue() {
        if afterKey {
            afterKey = false
            return
        }
        comma()
    }

    private func comma() {
        guard let last = counts.last else { return }
        if last > 0 { text += "," }
        counts[counts.count - 1] = last + 1
    }

    func object(_ body: () -> Void) {
        beginValue()
        text += "{"
        counts.append(0)
        body()
        counts.removeLast()
        text += "}"
    }

    func array<C: Collection>(_ items: C, _ element: (C.Element) -> Void) {
        beginValue()
        text += "["
        counts.append(0)
        for item in items { element(item) }
        counts.removeLast()
        text += "]"
    }

    /// Writes `"name":` then lets `value` write exactly one value.
    func field(_ name: String, _ value: () -> Void) {
        key(name)
        value()
    }

    func field(_ name: String, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    func field(_ name: String, _ value: Bool) {
        key(name)
        beginValue()
        text += value ? "true" : "false"
    }

    func field(_ name: String, _ value: Int?) {
        key(name)
        if let value { number(value) } else { null() }
    }

    func field(_ name: String, _ value: Double?) {
        key(name)
        if let value, value.isFinite {
            beginValue()
            text += ProbeReport.formatJSON(value)
        } else {
            null()
        }
    }

    func string(_ s: String) {
        beginValue()
        quoted(s)
    }

    private func quoted(_ s: String) {
        text += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }

    func number(_ n: Int) {
        beginValue()
        text += String(n)
    }

    func null() {
        beginValue()
        text += "null"
    }

    private func key(_ name: String) {
        comma()
        quoted(name)
        text += ":"
        afterKey = true
    }
}

extension ProbeReport {
    /// Milliseconds with three decimals, as JSON number text.
    static func formatJSON(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let sign = thousandths < 0 ? "-" : ""
        let a = abs(thousandths)
        let frac = String(a % 1000)
        return "\(sign)\(a / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }
}
