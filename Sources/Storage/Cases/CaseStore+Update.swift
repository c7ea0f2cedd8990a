// SPDX-License-Identifier: GPL-2.0-or-later

public import Abuse
public import Foundation
import GRDB
public import NetworkAddress
public import WardenCore

extension CaseStore {
    /// Reads the case `id`, lets `body` change it, and stores it with `messages`, all in one
    /// write transaction: the daemon and the command line may change the same case, and
    /// SQLite serialises the two, so neither loses the other's change. Returns nil when
    /// there is no such case (nothing is written).
    public func update<T>(
        id: UUID, at now: Timestamp, messages: [CaseMessage] = [], _ body: (inout AbuseCase) throws -> T
    ) throws(LedgerError) -> T? {
        try ledger.write { db -> T? in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, data FROM abuse_case WHERE id = ?", arguments: [Self.key(id)]) else {
                return nil
            }
            var abuseCase = try Self.decodeCase(row)
            let result = try body(&abuseCase)
            try Self.upsert(abuseCase, data: try Self.encode(abuseCase), at: now, db)
            for m in messages { _ = try Self.insert(m, db) }
            return result
        }
    }

    /// Whether an incoming message with this key (its Message-ID, else a hash of its bytes)
    /// is already kept with `caseID`: recording an answer is idempotent by it.
    public func hasIncoming(caseID: UUID, key: String) throws(LedgerError) -> Bool {
        try ledger.read { db in
            try Int.fetchOne(
                db, sql: "SELECT 1 FROM abuse_message WHERE caseId = ? AND direction = 'in' AND messageID = ? LIMIT 1",
                arguments: [Self.key(caseID), key]) != nil
        }
    }
}

/// The case store is the answers' index (docs/ABUSE.md "Matching"): our Message-IDs, the
/// tickets the cases carry, the sources of open cases. A look-up that cannot read the
/// ledger finds nothing (the answer then stays unmatched, never attached by guess).
extension CaseStore: AnswerIndex {
    public func caseID(forSentMessageID id: String) -> UUID? {
        (try? caseID(forMessageID: "<\(id)>")) ?? nil
    }

    public func cases(withTicket ticket: String) -> Set<UUID> {
        let ids: [String] =
            (try? ledger.read { db in try String.fetchAll(db, sql: "SELECT id FROM abuse_case WHERE ticket = ?", arguments: [ticket]) }) ?? []
        return Set(ids.compactMap(UUID.init(uuidString:)))
    }

    public func openCases(withSource address: IPAddress) -> Set<UUID> {
        let open = (try? cases(states: Set(CaseState.allCases).subtracting([.closed]), limit: 100_000)) ?? []
        let wanted = address.unmapped
        return Set(open.filter { $0.sources.contains { $0.unmapped == wanted } }.map(\.id))
    }
}
