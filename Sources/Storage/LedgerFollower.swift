// SPDX-License-Identifier: GPL-2.0-or-later

public import WardenCore

/// A consumer's place in the ledger, for catching up on bans it did not receive live.
///
/// A consumer of the fan-out notes each ban it receives live (`admitLive`). When its queue
/// overflowed (the fan-out's `onGap`), it makes sure the ledger has committed what was
/// published so far and calls `catchUp`: the bans recorded after its cursor that it has
/// not seen live, in the order they were recorded. The ledger is the durable record, so a
/// consumer that lost messages loses nothing the ledger holds.
public struct LedgerFollower: Sendable {
    /// The last row id read from the ledger.
    public private(set) var cursor: Int64
    /// Bans handled live that the cursor has not passed yet.
    private var seenLive: Set<BanID> = []
    /// Bans returned by `catchUp` whose live copy may still arrive.
    private var caughtUp: Set<BanID> = []
    /// Most live ids remembered; past it the oldest knowledge is dropped (a ban handled
    /// live whose ledger write failed, or one caught up that never arrives live, must not
    /// make the sets grow forever). Forgetting can only deliver a ban twice, never lose one.
    public static let maxRemembered = 100_000

    /// Starts after row `cursor` (`Ledger.lastRow()` for a consumer that starts now).
    public init(cursor: Int64) {
        self.cursor = cursor
    }

    /// Notes a ban arriving live; false when `catchUp` already returned it (it was
    /// recorded and read back before its live copy arrived): skip it.
    public mutating func admitLive(_ id: BanID) -> Bool {
        if caughtUp.remove(id) != nil { return false }
        if seenLive.count >= Self.maxRemembered { seenLive.removeAll() }
        seenLive.insert(id)
        return true
    }

    /// The bans recorded after the cursor and not handled live, oldest first; the cursor
    /// moves past everything read. Reads in pages of `pageSize` until the end.
    public mutating func catchUp(from ledger: Ledger, pageSize: Int = 1_000) throws(LedgerError) -> [BanRecord] {
        var missed: [BanRecord] = []
        while true {
            let page = try ledger.bans(afterRow: cursor, limit: pageSize)
            for record in page {
                if seenLive.remove(record.banID) == nil {
                    missed.append(record)
                    if caughtUp.count >= Self.maxRemembered { caughtUp.removeAll() }
                    caughtUp.insert(record.banID)
                }
                if let id = record.id { cursor = max(cursor, id) }
            }
            if page.count < pageSize { return missed }
        }
    }
}
