// SPDX-License-Identifier: GPL-2.0-or-later
public import ControlPlane
public import Storage

extension BanView {
    /// A ledger record as the API and the command line show it: the one mapping from
    /// `BanRecord` (Storage) to `BanView` (ControlPlane, which imports no Storage).
    /// - Parameter inKernel: whether the kernel set holds it (nil: not known, dry run).
    public init(_ record: BanRecord, inKernel: Bool?) {
        self.init(
            id: record.id, network: record.network.description, kind: record.rule.description, reason: record.reason,
            origin: record.origin.rawValue, offence: record.offence, created: RFC3339.format(record.createdAt),
            expires: record.expiresAt.map(RFC3339.format), lifted: record.liftedAt.map(RFC3339.format), inKernel: inKernel,
            banID: record.banID.description)
    }
}
