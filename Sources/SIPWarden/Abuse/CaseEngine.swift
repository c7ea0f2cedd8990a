// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import AbuseMail
public import Foundation
public import Logging
public import NetworkAddress
import ReportDelivery
public import Storage
import Synchronization
public import WardenCore

/// The case service's core: bans in, cases and reports out, answers and traffic fed to the
/// lifecycle (docs/ABUSE.md). Every change is a transaction on the ledger (`CaseStore`),
/// so the daemon and the command line may act on the same case, and a crash at any point
/// leaves nothing half done that the next start does not finish: opening a ban is
/// idempotent (its source is then in a case: traffic, not a second case), queueing a
/// report is idempotent by its Message-ID, and an answer by its key.
///
/// The clock and the contact look-up are injected; nothing here talks to the network or
/// the MTA (the deliverer is the service's).
public final class CaseEngine: Sendable {
    /// The cases, their messages and the outbox.
    public let store: CaseStore
    /// The bans and their events (what the reports tell).
    public let ledger: Ledger
    /// The `abuse:` section.
    public let settings: AbuseSettings
    /// What reports leave out (this host's addresses and the allowlist).
    public let redaction: RedactionPolicy
    /// Which bans become which case.
    public let openerPolicy: CaseOpener.Policy
    /// The case's folder: `STATE/cases/ID` (evidence packs).
    public let casesDirectory: String
    let lookup: @Sendable (IPAddress) async -> Result<AbuseContact, AbuseContactLookup.LookupError>
    let clock: TimeSource
    let logger: Logger
    /// Called when a case's report went out: the traffic watch starts following it.
    let onReported: Mutex<(@Sendable (AbuseCase) -> Void)?> = Mutex(nil)

    public init(
        store: CaseStore, ledger: Ledger, settings: AbuseSettings, redaction: RedactionPolicy, stateDirectory: String,
        lookup: @escaping @Sendable (IPAddress) async -> Result<AbuseContact, AbuseContactLookup.LookupError>, clock: @escaping TimeSource,
        logger: Logger
    ) {
        self.store = store
        self.ledger = ledger
        self.settings = settings
        self.redaction = redaction
        var opener = CaseOpener.Policy(groupWithin: settings.groupWithin)
        opener.excluded = IPNetworkSet(CaseOpener.Policy.specialPurpose.networks + redaction.ownNetworks.networks)
        openerPolicy = opener
        casesDirectory = stateDirectory + "/cases"
        self.lookup = lookup
        self.clock = clock
        self.logger = logger
    }

    /// What to call when a case's report has gone out.
    public func whenReported(_ body: @escaping @Sendable (AbuseCase) -> Void) { onReported.withLock { $0 = body } }

    var policy: CasePolicy { settings.casePolicy }

    // MARK: - Bans

    /// What a ban did.
    public enum BanOutcome: Sendable, Hashable {
        /// Not reported, and why.
        case ignored(String)
        /// A new case.
        case opened(UUID)
        /// The source joined this not-yet-sent case of its network.
        case joined(UUID)
        /// A source of an active case banned again: traffic for that case.
        case traffic(UUID, IPAddress)
    }

    /// Takes one recorded ban: opens a case, adds its source to one, or counts it as traffic.
    @discardableResult
    public func take(_ record: BanRecord) async throws(LedgerError) -> BanOutcome {
        let now = clock()
        let active = try store.cases(states: Set(CaseState.allCases).subtracting([.closed]), limit: 100_000)
        var open: [CaseOpener.OpenCase] = []
        for c in active {
            open.append(CaseOpener.OpenCase(id: c.id, network: try groupKey(of: c), state: c.state, openedAt: c.openedAt, sources: c.sources))
        }
        let source = record.network.address.unmapped
        switch CaseOpener.decide(record.ban, openCases: open, policy: openerPolicy, now: now) {
        case .ignore(let why):
            return .ignored(why)
        case .traffic(let id):
            try apply(.traffic, to: id, at: record.createdAt)
            return .traffic(id, source)
        case .join(let id):
            let joined = try store.update(id: id, at: now) { c -> Bool in
                guard !c.sources.contains(source) else { return false }
                c.sources.append(source)
                c.annotate("joined by \(source) (\(record.reason))", at: now)
                return true
            }
            if joined == true, let c = try store.abuseCase(id: id), c.contacts.indices.contains(c.currentContact) {
                try queueReports(c, contactIndex: c.currentContact, only: [source], approved: !policy.review)
            }
            return .joined(id)
        case .open:
            let id = UUID()
            var contacts: [String] = []
            var asn = record.enrichment?.asn
            var organisation = record.enrichment?.asName ?? record.enrichment?.provider
            var found: AbuseContact?
            var lookupNote: String?
            switch await lookup(source) {
            case .success(let contact):
                found = contact
                contacts = ([contact.email] + contact.alternatives.map(Optional.some)).compactMap { $0 }
                contacts = contacts.reduce(into: []) { list, c in if !list.contains(c) { list.append(c) } }
                asn = asn ?? contact.asn
                organisation = organisation ?? contact.networkName ?? contact.networkHandle
                if contacts.isEmpty, let form = contact.webForm {
                    lookupNote = "the network takes reports through a web form: \(form.absoluteString)"
                }
            case .failure(let error):
                lookupNote = "no abuse contact: \(error)"
            }
            var c = AbuseCase(
                id: id, sources: [source], asn: asn, organisation: organisation, contacts: contacts, openedAt: now,
                lastTrafficAt: record.createdAt)
            if let found { c.annotate("abuse contact \(found.email ?? "none") (\(found.source.rawValue), \(found.trail.last ?? ""))", at: now) }
            if let lookupNote { c.annotate(lookupNote, at: now) }
            try store.save(c, at: now)
            // Review mode: the report is made now (pending approval), so it can be read first.
            if policy.review, !contacts.isEmpty { try queueReports(c, contactIndex: 0, approved: false) }
            try apply(.open, to: id, at: now)
            logger.notice("case opened", metadata: ["case": "\(Self.key(id))", "source": "\(source)", "contact": "\(contacts.first ?? "none")"])
            return .opened(id)
        }
    }

    /// The network a case was grouped by: as the opener saw its first ban (the AS the
    /// intelligence store knew, else the /24 or /48) — not the AS the RDAP answer named,
    /// which the opener cannot know for a new ban before its look-up.
    func groupKey(of c: AbuseCase) throws(LedgerError) -> CaseOpener.NetworkKey {
        guard let first = c.sources.first else { return .autonomousSystem(c.asn ?? 0) }
        let asn = try ledger.bans(limit: 1, includeInactive: true, network: IPNetwork(host: first)).first?.enrichment?.asn
        return CaseOpener.NetworkKey(address: first, asn: asn)
    }

    static func key(_ id: UUID) -> String { id.uuidString.lowercased() }

    /// How long after a failed contact look-up it is tried again, and for how long after
    /// the case opened (a registry that was down when the ban came).
    public static let contactRetryInterval: Duration = .seconds(600)
    public static let contactRetryFor: Duration = .seconds(86_400)

    /// Asks again for the abuse contact of cases that have none yet (not sent, opened less
    /// than a day ago, the last try at least ten minutes ago). Returns the cases that now
    /// have one: their reports are made (held in review mode, queued in auto mode).
    @discardableResult
    public func retryContacts() async throws(LedgerError) -> [UUID] {
        let now = clock()
        var found: [UUID] = []
        for c in try store.cases(states: [.detected, .review], limit: 100_000) where c.contacts.isEmpty {
            guard now - c.openedAt < Self.contactRetryFor, let last = c.history.last?.time, now - last >= Self.contactRetryInterval,
                let source = c.sources.first
            else { continue }
            switch await lookup(source) {
            case .failure(let error):
                _ = try store.update(id: c.id, at: now) { $0.annotate("no abuse contact (again): \(error)", at: now) }
            case .success(let contact):
                var contacts = ([contact.email] + contact.alternatives.map(Optional.some)).compactMap { $0 }
                contacts = contacts.reduce(into: []) { list, c in if !list.contains(c) { list.append(c) } }
                let named = contacts
                _ = try store.update(id: c.id, at: now) { c in
                    c.contacts = named
                    c.asn = c.asn ?? contact.asn
                    c.organisation = c.organisation ?? contact.networkName ?? contact.networkHandle
                    c.annotate(named.isEmpty ? "no abuse mailbox (again)" : "abuse contact \(named[0]) (\(contact.source.rawValue))", at: now)
                }
                guard !named.isEmpty, let updated = try store.abuseCase(id: c.id) else { continue }
                found.append(c.id)
                if updated.state == .review {
                    try queueReports(updated, contactIndex: 0, approved: false)
                } else {
                    try apply(.open, to: c.id)
                }
            }
        }
        return found
    }

    // MARK: - The lifecycle

    /// Feeds `input` to case `id` (one transaction) and carries out what it asks.
    @discardableResult
    public func apply(_ input: CaseInput, to id: UUID, at time: Timestamp? = nil, messages: [CaseMessage] = []) throws(LedgerError) -> [CaseAction] {
        let now = time ?? clock()
        let policy = self.policy
        let result = try store.update(id: id, at: now, messages: messages) { c -> ([CaseAction], CaseState, AbuseCase) in
            let before = c.state
            let actions = c.handle(input, at: now, policy: policy)
            return (actions, before, c)
        }
        guard let result else { return [] }
        let (actions, before, after) = result
        if before != after.state, after.state == .sent, let body = onReported.withLock({ $0 }) { body(after) }
        try carryOut(actions, for: id)
        return actions
    }

    /// Carries out the lifecycle's actions for case `id`.
    func carryOut(_ actions: [CaseAction], for id: UUID) throws(LedgerError) {
        for action in actions {
            guard let c = try store.abuseCase(id: id) else { return }
            switch action {
            case .sendReport(let index):
                // The lifecycle asks only when a report may leave: in auto mode, after the
                // operator's approval, or for the next contact of a case already approved.
                try queueReports(c, contactIndex: index, approved: true)
            case .requestApproval(let what):
                logger.notice("waiting for approval: sipwarden cases approve \(Self.key(id))", metadata: ["what": "\(what)"])
            case .notifyOperator(let what):
                logger.warning("case notice: \(what)", metadata: ["case": "\(Self.key(id))"])
            case .escalate(let step):
                try escalate(c, step)
            }
        }
    }

    private func escalate(_ c: AbuseCase, _ step: EscalationStep) throws(LedgerError) {
        let now = clock()
        switch step {
        case .nextContact:
            if c.currentContact + 1 < c.contacts.count {
                let next = c.currentContact + 1
                _ = try store.update(id: c.id, at: now) { $0.currentContact = next }
                if let updated = try store.abuseCase(id: c.id) { try queueReports(updated, contactIndex: next, approved: !policy.review) }
            } else {
                _ = try store.update(id: c.id, at: now) {
                    $0.annotate(
                        "next contact: none known beyond \($0.contacts.last ?? "the abuse desk"); the registry's report procedure is next", at: now)
                }
                logger.warning("case escalation: no further contact known", metadata: ["case": "\(Self.key(c.id))"])
            }
        case .nationalCERT:
            try escalateToCERT(c, at: now)
        case .lawEnforcement:
            let folder = casesDirectory + "/\(Self.key(c.id))/evidence-pack"
            do {
                let count = try writeEvidencePack(c.id, to: folder)
                _ = try store.update(id: c.id, at: now) { $0.annotate("evidence pack for law enforcement: \(folder) (\(count) files)", at: now) }
                logger.warning("case escalation: evidence pack written", metadata: ["case": "\(Self.key(c.id))", "folder": "\(folder)"])
            } catch let error as LedgerError {
                throw error
            } catch {
                _ = try store.update(id: c.id, at: now) { $0.annotate("evidence pack not written: \(error)", at: now) }
            }
        }
    }

    /// The national CERT step: the country of the case's sources (as the intelligence store
    /// knew it when they were banned) is looked up in the operator's CERT directory; an
    /// e-mail contact becomes the case's next contact and gets the report (approved as a
    /// next contact's would be), a web form is named in the case's history with the command
    /// that prints the text to paste.
    private func escalateToCERT(_ c: AbuseCase, at now: Timestamp) throws(LedgerError) {
        let key = Self.key(c.id)
        var countries: [String] = []
        for source in c.sources {
            for record in try ledger.bans(limit: 5, includeInactive: true, network: IPNetwork(host: source)) {
                if let country = record.ban.enrichment?.country?.uppercased(), !countries.contains(country) { countries.append(country) }
            }
        }
        func note(_ text: String) throws(LedgerError) {
            _ = try store.update(id: c.id, at: now) { $0.annotate(text, at: now) }
            logger.warning("case escalation: \(text)", metadata: ["case": "\(key)"])
        }
        guard let directory = settings.certDirectory else {
            return try note("national CERT: no cert-directory configured; report to the CERT of \(countries.first ?? "the sources' country") by hand")
        }
        guard let country = countries.first else {
            return try note("national CERT: the sources' country is not known (no intelligence data when they were banned); report by hand")
        }
        guard let entry = directory.entry(forCountry: country) else {
            return try note("national CERT: the cert-directory lists no CERT for \(country); report by hand")
        }
        if let form = entry.webForm {
            try note("national CERT (\(country)): submit at \(form.absoluteString); the text: sipwarden report render \(key) --format text")
        }
        guard let email = entry.email else { return }
        guard !c.contacts.contains(email) else {
            return try note("national CERT (\(country)): \(email) was already told")
        }
        let index = c.contacts.count
        _ = try store.update(id: c.id, at: now) {
            $0.contacts.append(email)
            $0.currentContact = index
        }
        if let updated = try store.abuseCase(id: c.id) { try queueReports(updated, contactIndex: index, approved: !policy.review) }
        try note("national CERT (\(country)): report queued to \(email)")
    }

    // MARK: - Reports

    /// The report number of the report about source `sourceIndex` to contact `contactIndex`
    /// (the first report to the first contact is 1, as `OutboxComposer.sequence` says; each
    /// source of a case has its own mail, so its own Message-ID).
    public static func sequence(contactIndex: Int, sourceIndex: Int) -> Int { contactIndex * 100 + sourceIndex + 1 }

    /// The incident of one source of a case as it leaves the host (redacted); nil when the
    /// ledger has no ban with events for it.
    public func incident(of c: AbuseCase, source: IPAddress) throws(LedgerError) -> Result<AbuseIncident, IncidentBuilder.BuildError>? {
        let bans = try ledger.bans(limit: 20, includeInactive: true, network: IPNetwork(host: source))
        guard let record = bans.first(where: { $0.origin == .detector }) ?? bans.first, let row = record.id else { return nil }
        var ban = record.ban
        ban.evidence = []
        let events = try ledger.evidence(forBan: row)
        do throws(IncidentBuilder.BuildError) {
            return .success(redaction.apply(to: try IncidentBuilder.incident(caseID: c.id, ban: ban, events: events)))
        } catch {
            return .failure(error)
        }
    }

    /// The MIME report of one source to one contact (as `report render` shows it).
    public func render(_ c: AbuseCase, sourceIndex: Int, contactIndex: Int, mode: DeliveryMode) throws(LedgerError) -> Result<
        OutboxEntry, ReportFailure
    > {
        let source = c.sources[sourceIndex]
        guard c.contacts.indices.contains(contactIndex) else { return .failure(.init("no contact \(contactIndex + 1)")) }
        switch try incident(of: c, source: source) {
        case nil: return .failure(.init("no detector ban with events for \(source) in the ledger"))
        case .failure(let error): return .failure(.init("\(error)"))
        case .success(let incident):
            do throws(XARFReport.RenderError) {
                return .success(
                    try OutboxComposer.entry(
                        incident: incident, recipient: c.contacts[contactIndex],
                        sequence: Self.sequence(contactIndex: contactIndex, sourceIndex: sourceIndex),
                        reporter: settings.reporterIdentity, policy: DeliveryPolicy(mode: mode), at: clock()))
            } catch {
                return .failure(.init("\(error)"))
            }
        }
    }

    /// Why a report could not be made.
    public struct ReportFailure: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
        init(_ text: String) { description = text }
    }

    /// Queues the reports of `c` (every source, or `only` these) to contact `contactIndex`:
    /// held for review unless `approved`. Idempotent (by Message-ID).
    func queueReports(_ c: AbuseCase, contactIndex: Int, only: [IPAddress]? = nil, approved: Bool) throws(LedgerError) {
        var problems: [String] = []
        for (k, source) in c.sources.enumerated() where only?.contains(source) ?? true {
            switch try render(c, sourceIndex: k, contactIndex: contactIndex, mode: approved ? .auto : .review) {
            case .success(let entry):
                var e = entry
                // An entry approved later: queue the held copy rather than a second one.
                if approved, let held = try store.outbox(caseID: c.id).first(where: { $0.messageID == e.messageID }),
                    held.state == .pendingApproval
                {
                    _ = try store.approve(caseID: c.id, at: clock())
                    continue
                }
                e.nextAttemptAt = clock()
                try store.enqueue(e)
            case .failure(let why):
                problems.append("report about \(source) not made: \(why)")
            }
        }
        if !problems.isEmpty {
            let now = clock()
            _ = try store.update(id: c.id, at: now) { c in for p in problems { c.annotate(p, at: now) } }
            for p in problems { logger.warning("case report", metadata: ["case": "\(Self.key(c.id))", "problem": "\(p)"]) }
        }
    }

    // MARK: - Delivery results

    /// Feeds sent outbox entries to their cases (`delivered`): those a pass just handed
    /// over, and at start every case still `detected`/`review` with a sent entry (a crash
    /// between the hand-over and the case's update).
    public func delivered(_ entries: [OutboxEntry]) throws(LedgerError) {
        for e in entries where e.state == .sent {
            guard let c = try store.abuseCase(id: e.caseID) else { continue }
            let index = c.contacts.firstIndex(of: e.recipient) ?? c.currentContact
            let at = e.sentAt ?? clock()
            // Already fed (an answer to it came first), or a report to a contact the case has left.
            if c.state != .detected, c.state != .review, index != c.currentContact || (c.clockStart.map { $0 >= at } ?? false) { continue }
            try apply(.delivered(contactIndex: index), to: c.id, at: at)
        }
    }

    /// An answer to a report proves it went out: a case not yet `sent` (the answer came
    /// back before the delivery pass fed the hand-over to it) is made so first.
    func deliveredBeforeAnswer(_ id: UUID) throws(LedgerError) {
        guard let c = try store.abuseCase(id: id), c.state == .detected || c.state == .review else { return }
        guard let e = try store.outbox(caseID: id, states: [.sent, .handingOver]).first else { return }
        var entry = e
        entry.state = .sent
        entry.sentAt = e.sentAt ?? clock()
        try delivered([entry])
    }

    /// The start's repair: cases not yet `sent` whose report was sent.
    public func reconcileSent() throws(LedgerError) {
        for c in try store.cases(states: [.detected, .review], limit: 100_000) {
            if let sent = try store.outbox(caseID: c.id, states: [.sent]).first { try delivered([sent]) }
        }
        // Opened but not yet handed to the lifecycle (a crash inside `take`).
        for c in try store.cases(states: [.detected], limit: 100_000) {
            if policy.review, !c.contacts.isEmpty { try queueReports(c, contactIndex: 0, approved: false) }
            try apply(.open, to: c.id)
        }
    }

    /// Approves case `id`: its held reports leave, or the escalation step waiting is taken.
    public func approve(_ id: UUID) throws(LedgerError) -> Int {
        let released = try store.approve(caseID: id, at: clock())
        try apply(.approve, to: id)
        return released
    }

    // MARK: - Answers

    /// Records an answer with its case (idempotent by the mail's key) and feeds it to the
    /// lifecycle; an answer tied to no case is logged for the operator (it stays in the
    /// Maildir's `cur/`).
    public func record(_ mail: IncomingMail, _ matched: MatchedAnswer) throws {
        guard let id = matched.caseID else {
            logger.notice(
                "answer not tied to a case",
                metadata: ["file": "\(mail.fileName)", "match": "\(matched.match)", "kind": "\(matched.classification.kind.rawValue)"])
            return
        }
        let key = mail.key
        if try store.hasIncoming(caseID: id, key: key) { return }
        try deliveredBeforeAnswer(id)
        let now = clock()
        let message = CaseMessage(
            caseID: id, direction: .incoming, messageID: key, time: now, peer: mail.message.header("From"), raw: mail.bytes,
            classification: CaseMessage.Classification(matched.classification))
        var input = CaseInput.answer(matched.classification)
        // A bounce of a contact the case no longer writes to changes nothing.
        if matched.classification.kind == .bounce, let c = try store.abuseCase(id: id), c.contacts.indices.contains(c.currentContact),
            !matched.failedRecipients.isEmpty, !matched.failedRecipients.contains(c.contacts[c.currentContact].lowercased())
        {
            input = .tick
        }
        try apply(input, to: id, at: now, messages: [message])
        logger.notice(
            "answer recorded",
            metadata: [
                "case": "\(Self.key(id))", "kind": "\(matched.classification.kind.rawValue)", "ticket": "\(matched.classification.ticket ?? "")",
            ])
    }

    // MARK: - Traffic and time

    /// The traffic watch's events, fed to their cases.
    public func traffic(_ events: [TrafficEvent]) {
        for event in events {
            do throws(LedgerError) {
                switch event {
                case .traffic(let id, _, let at, _), .resumed(let id, _, let at, _): try apply(.traffic, to: id, at: at)
                case .mitigated(let id, _, _): try apply(.tick, to: id)
                }
            } catch {
                logger.warning("case traffic not recorded", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Checks every active case's deadlines; returns the cases closed by it.
    @discardableResult
    public func tick() throws(LedgerError) -> [UUID] {
        var closed: [UUID] = []
        for c in try store.cases(states: Set(CaseState.allCases).subtracting([.closed, .detected]), limit: 100_000) {
            try apply(.tick, to: c.id)
            if try store.abuseCase(id: c.id)?.state == .closed { closed.append(c.id) }
        }
        return closed
    }

    // MARK: - Evidence

    /// Writes the case's evidence pack into `folder`; returns the number of files.
    @discardableResult
    public func writeEvidencePack(_ id: UUID, to folder: String) throws -> Int {
        guard let c = try store.abuseCase(id: id) else { throw ReportFailure("no case \(Self.key(id))") }
        var incidents: [AbuseIncident] = []
        var xarf: [String: [UInt8]] = [:]
        for source in c.sources {
            if case .success(let incident) = try incident(of: c, source: source) {
                incidents.append(incident)
                if let doc = try? XARFReport.render(incident, reporter: settings.reporterIdentity, timestamp: clock()) {
                    xarf[incident.source.description] = Array(doc)
                }
            }
        }
        let messages = try store.messages(caseID: id).map { m in
            EvidencePack.Message(
                direction: m.direction == .incoming ? .incoming : .outgoing, time: m.time, counterpart: m.peer ?? "",
                subject: m.messageID ?? "", classification: m.classification?.kind.rawValue, raw: m.raw ?? [])
        }
        let files = EvidencePack.files(
            for: c, incidents: incidents, xarf: xarf, messages: messages, reporter: settings.reporterIdentity, now: clock())
        let fm = FileManager.default
        for file in files {
            let url = URL(fileURLWithPath: folder).appending(path: file.path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.bytes).write(to: url, options: .atomic)
        }
        return files.count
    }
}

extension CaseEngine {
    /// The engine the command line uses on the ledger of `configuration` (no contact
    /// look-ups: cases are opened by the daemon only). Nil without an `abuse:` section.
    public static func commandLine(configuration: Configuration, logger: Logger) throws(LedgerError) -> CaseEngine? {
        guard let settings = configuration.abuse else { return nil }
        let ledger = try Ledger(directory: configuration.stateDirectory)
        return CaseEngine(
            store: CaseStore(ledger: ledger), ledger: ledger, settings: settings,
            redaction: settings.redact.policy(ownNetworks: LocalAddresses.current().networks + configuration.detection.allowlist.networks),
            stateDirectory: configuration.stateDirectory,
            lookup: { _ in .failure(.bootstrap(settings.rdapBootstrap, "not looked up by the command line")) },
            clock: systemClock, logger: logger)
    }
}
