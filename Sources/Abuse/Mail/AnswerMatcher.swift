// SPDX-License-Identifier: GPL-2.0-or-later

public import Foundation
public import NetworkAddress

/// What the case store knows about the reports it sent: the look-ups an answer is matched
/// with. The case store implements it; ``InMemoryAnswerIndex`` is a plain one (tests, and
/// the shell until the store exists). Every look-up is exact: no prefix, no fuzzy match.
public protocol AnswerIndex {
    /// The case whose report was sent with this Message-ID (without angle brackets).
    func caseID(forSentMessageID id: String) -> UUID?
    /// The cases that already carry this ticket ID (an abuse desk's, as taken from an
    /// earlier acknowledgement).
    func cases(withTicket ticket: String) -> Set<UUID>
    /// The *open* cases (not closed) one of whose reported sources is `address`.
    func openCases(withSource address: IPAddress) -> Set<UUID>
}

/// How an answer was tied to its case.
public enum AnswerMatch: Sendable, Hashable {
    /// `In-Reply-To`/`References` named a report we sent (the Message-ID).
    case reference(String)
    /// A bounce or feedback report carries our report's headers (the Message-ID found in
    /// its `message/rfc822` or `text/rfc822-headers` part, or in the returned text).
    case returnedMessage(String)
    /// A ticket ID the case already has.
    case ticket(String)
    /// The only open case with a source address the answer names.
    case address(IPAddress)
    /// Several cases fit equally (`by`: "ticket" or "address"): never a guess.
    case ambiguous(by: String, cases: [UUID])
    /// Nothing ties it to a case.
    case unmatched
}

/// An answer, classified and (where possible) tied to its case: what the case service
/// records and feeds to the lifecycle as ``CaseInput/answer(_:)``.
public struct MatchedAnswer: Sendable, Hashable {
    /// The answer's own Message-ID (without brackets), the key that makes recording it
    /// idempotent; nil when it has none (the shell then keys it by a hash of its bytes).
    public var messageID: String?
    /// The case it belongs to (nil: unmatched or ambiguous).
    public var caseID: UUID?
    /// How it was matched.
    public var match: AnswerMatch
    /// What it is: acknowledgement (and its ticket), human, bounce, out-of-office,
    /// feedback report.
    public var classification: AnswerClassification
    /// For a bounce: every recipient it names as failed (DSN `Original-Recipient` and
    /// `Final-Recipient`, `X-Failed-Recipients`), lowercased, so the case service can check
    /// that the contact it bounces is the one the case is using.
    public var failedRecipients: [String]

    public init(messageID: String?, caseID: UUID?, match: AnswerMatch, classification: AnswerClassification, failedRecipients: [String]) {
        self.messageID = messageID
        self.caseID = caseID
        self.match = match
        self.classification = classification
        self.failedRecipients = failedRecipients
    }
}

/// Ties an answer to its case. Pure: the index is the only input besides the mail.
///
/// Order: (1) `In-Reply-To`, then `References` from the latest back; (2) for a bounce or a
/// feedback report, the Message-ID of the message it returns; (3) a ticket ID the case
/// already has; (4) the source addresses the subject and text name, of open cases only.
/// A step that fits more than one case ends the search unmatched (`ambiguous`): an answer
/// is never attached by guess.
public enum AnswerMatcher {
    /// At most this many Message-IDs, ticket candidates and addresses are looked up.
    static let maxLookups = 64

    public static func match(_ mail: MailMessage, index: some AnswerIndex) -> MatchedAnswer {
        let classification = AnswerClassifier.classify(mail)
        let ownID = MailMessage.messageIDs(mail.header("Message-ID") ?? "").first
        let failed = failedRecipients(mail, classification)
        func result(_ id: UUID?, _ how: AnswerMatch) -> MatchedAnswer {
            MatchedAnswer(messageID: ownID, caseID: id, match: how, classification: classification, failedRecipients: failed)
        }

        // 1. The thread: In-Reply-To is the direct parent; References end with the latest.
        let threaded =
            mail.headers("In-Reply-To").flatMap(MailMessage.messageIDs) + mail.headers("References").flatMap(MailMessage.messageIDs).reversed()
        for id in threaded.prefix(maxLookups) {
            if let c = index.caseID(forSentMessageID: id) { return result(c, .reference(id)) }
        }
        // 2. The message a bounce or a feedback report returns.
        if classification.kind == .bounce || classification.kind == .feedbackReport {
            for id in returnedMessageIDs(mail).prefix(maxLookups) {
                if let c = index.caseID(forSentMessageID: id) { return result(c, .returnedMessage(id)) }
            }
        }
        let text = mail.subject + "\n" + mail.text
        // 3. A ticket the case already has.
        var byTicket: [(String, Set<UUID>)] = []
        for ticket in TicketID.all(in: text).prefix(maxLookups) {
            let found = index.cases(withTicket: ticket)
            if !found.isEmpty { byTicket.append((ticket, found)) }
        }
        let ticketCases = byTicket.reduce(into: Set<UUID>()) { $0.formUnion($1.1) }
        if ticketCases.count == 1 { return result(ticketCases.first, .ticket(byTicket[0].0)) }
        if ticketCases.count > 1 { return result(nil, .ambiguous(by: "ticket", cases: ticketCases.sorted { $0.uuidString < $1.uuidString })) }
        // 4. The addresses named, of open cases only.
        var byAddress: [(IPAddress, Set<UUID>)] = []
        for address in addresses(in: text).prefix(maxLookups) {
            let found = index.openCases(withSource: address)
            if !found.isEmpty { byAddress.append((address, found)) }
        }
        let addressCases = byAddress.reduce(into: Set<UUID>()) { $0.formUnion($1.1) }
        if addressCases.count == 1 { return result(addressCases.first, .address(byAddress[0].0)) }
        if addressCases.count > 1 {
            return result(nil, .ambiguous(by: "address", cases: addressCases.sorted { $0.uuidString < $1.uuidString }))
        }
        return result(nil, .unmatched)
    }

    /// The Message-IDs of the message a bounce returns: the `Message-ID` of every
    /// `message/rfc822` and `text/rfc822-headers` part (RFC 3464, RFC 6522), then the
    /// `Message-ID:` lines of the text (MTAs that return the message inline: Exim, qmail,
    /// Gmail, Office 365's "Original message headers").
    public static func returnedMessageIDs(_ mail: MailMessage) -> [String] {
        var ids: [String] = []
        for part in mail.allParts.dropFirst() {
            switch part.contentType {
            case "message/rfc822", "message/global":
                if let inner = part.parts.first { ids += inner.headers("Message-ID").flatMap(MailMessage.messageIDs) }
            case "text/rfc822-headers", "message/global-headers":
                ids += MailMessage(parsing: part.body).headers("Message-ID").flatMap(MailMessage.messageIDs)
            default: break
            }
        }
        for line in mail.text.split(whereSeparator: \.isNewline).prefix(20_000) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" || $0 == ">" }
            guard trimmed.count > 11, trimmed.prefix(11).lowercased() == "message-id:" else { continue }
            ids += MailMessage.messageIDs(String(trimmed.dropFirst(11)))
        }
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// IPv4 and IPv6 addresses written in `text` (each once, in order): runs of hex digits,
    /// dots and colons that parse as an address, an IPv4 with a `:port` included. At most
    /// ``maxLookups``.
    public static func addresses(in text: String) -> [IPAddress] {
        var found: [IPAddress] = []
        var seen = Set<IPAddress>()
        var token = ""
        func flush() {
            defer { token = "" }
            guard token.count >= 2, found.count < maxLookups else { return }
            var t = Substring(token)
            while let last = t.last, last == "." || last == ":" { t = t.dropLast() }
            while let first = t.first, first == "." { t = t.dropFirst() }
            var address = IPAddress(t)
            // 198.51.100.7:5060 — an IPv4 with its port.
            if address == nil, t.contains("."), t.filter({ $0 == ":" }).count == 1, let colon = t.firstIndex(of: ":") {
                address = IPAddress(t[..<colon])
            }
            if let a = address, seen.insert(a).inserted { found.append(a) }
        }
        for c in text.unicodeScalars {
            let v = c.value
            let part = (v >= 0x30 && v <= 0x3A) || v == 0x2E || (v >= 0x41 && v <= 0x46) || (v >= 0x61 && v <= 0x66)
            if part, token.utf8.count < 64 {
                token.unicodeScalars.append(c)
            } else if part {
                token = "" // longer than any address: not one
            } else {
                flush()
            }
        }
        flush()
        return found
    }

    /// Every recipient a bounce names as failed, lowercased and without `rfc822;`.
    static func failedRecipients(_ mail: MailMessage, _ c: AnswerClassification) -> [String] {
        guard c.kind == .bounce else { return [] }
        var out: [String] = []
        func add(_ raw: String) {
            let value = raw.split(separator: ";", maxSplits: 1).last.map(String.init) ?? raw
            let address = value.trimmingCharacters(in: CharacterSet(charactersIn: " \t<>")).lowercased()
            if address.contains("@"), address.count <= 254, !out.contains(address) { out.append(address) }
        }
        for part in mail.allParts where part.contentType == "message/delivery-status" {
            for block in AnswerClassifier.recipientBlocks(part.parts.first?.body ?? part.body) {
                block.headers("Original-Recipient").forEach(add)
                block.headers("Final-Recipient").forEach(add)
            }
        }
        for field in mail.headers("X-Failed-Recipients") { field.split(separator: ",").map(String.init).forEach(add) }
        if let one = c.failedRecipient { add(one) }
        return out
    }
}

/// An ``AnswerIndex`` held in memory (tests; the shell before the case store has one).
public struct InMemoryAnswerIndex: AnswerIndex, Sendable {
    public var sentMessageIDs: [String: UUID]
    public var tickets: [String: Set<UUID>]
    public var openSources: [IPAddress: Set<UUID>]

    public init(sentMessageIDs: [String: UUID] = [:], tickets: [String: Set<UUID>] = [:], openSources: [IPAddress: Set<UUID>] = [:]) {
        self.sentMessageIDs = sentMessageIDs
        self.tickets = tickets
        self.openSources = openSources
    }

    /// Records a report sent for `caseID` (the Message-ID with or without brackets).
    public mutating func sent(_ messageID: String, for caseID: UUID) {
        sentMessageIDs[messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<> "))] = caseID
    }

    /// Records an open case's sources.
    public mutating func open(_ caseID: UUID, sources: [IPAddress]) {
        for s in sources { openSources[s, default: []].insert(caseID) }
    }

    /// Records a ticket the case got.
    public mutating func ticket(_ ticket: String, for caseID: UUID) { tickets[ticket, default: []].insert(caseID) }

    public func caseID(forSentMessageID id: String) -> UUID? { sentMessageIDs[id] }
    public func cases(withTicket ticket: String) -> Set<UUID> { tickets[ticket] ?? [] }
    public func openCases(withSource address: IPAddress) -> Set<UUID> { openSources[address] ?? [] }
}
