// SPDX-License-Identifier: GPL-2.0-or-later

public import ControlPlane
public import Storage
public import WardenCore

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
        if let e = record.enrichment { setEnrichment(e) }
    }

    /// Sets the enrichment members (`asn`, `as_name`, …) from what the store knew.
    public mutating func setEnrichment(_ e: IntelEnrichment) {
        asn = e.asn.map(Int64.init)
        asName = e.asName
        country = e.country
        prefix = e.prefix?.description
        provider = e.provider
        service = e.service
        region = e.region
    }

    /// True when the view carries no enrichment.
    public var lacksEnrichment: Bool {
        asn == nil && asName == nil && country == nil && prefix == nil && provider == nil && service == nil && region == nil
    }
}
