// SPDX-License-Identifier: GPL-2.0-or-later

/// The sequence numbers of an exchange still waiting for their acknowledgement, and the
/// exchange's window (`first ..< first + span`, modulo 2^32) that tells its replies from
/// late ones. Without allocation for windows of up to 64 messages (every ban batch).
struct PendingAcknowledgements {
    private let first: UInt32
    private let span: UInt32
    private var small: UInt64 = 0
    private var large: Set<UInt32> = []
    private(set) var count = 0

    init(_ sequences: [UInt32], first: UInt32, span: UInt32) {
        self.first = first
        self.span = span
        for sequence in sequences where inWindow(sequence) {
            let offset = sequence &- first
            if span <= 64 {
                guard small & (1 << UInt64(offset)) == 0 else { continue }
                small |= 1 << UInt64(offset)
            } else {
                guard large.insert(sequence).inserted else { continue }
            }
            count += 1
        }
    }

    /// True when every acknowledgement arrived.
    var isEmpty: Bool { count == 0 }

    /// Whether `sequence` belongs to the exchange.
    func inWindow(_ sequence: UInt32) -> Bool { sequence &- first < span }

    /// Notes the acknowledgement of `sequence` (repeats and strangers change nothing).
    mutating func remove(_ sequence: UInt32) {
        guard inWindow(sequence) else { return }
        if span <= 64 {
            let bit: UInt64 = 1 << UInt64(sequence &- first)
            guard small & bit != 0 else { return }
            small &= ~bit
        } else {
            guard large.remove(sequence) != nil else { return }
        }
        count -= 1
    }
}
