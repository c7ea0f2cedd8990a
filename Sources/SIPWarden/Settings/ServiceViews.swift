// SPDX-License-Identifier: GPL-2.0-or-later

extension ConfigurationSchema {
    /// Each service's view of the configuration: everything it reads from it, at start or
    /// on a reload. A setting that changes a service's view must name that service among
    /// its owners, and an owner's view must change with it (`ConfigurationSchemaTests`):
    /// a service can no longer depend on a setting nobody told it about — the way SIGHUP
    /// once never reached inline admission.
    public static let serviceViews: [(service: String, view: @Sendable (Configuration) -> AnyHashable)] = [
        (ServiceName.ledger, { AnyHashable($0.ledgerSettings) }),
        (ServiceName.enforcer, { c in AnyHashable([AnyHashable(c.enforcerSettings), AnyHashable(c.nftablesConfiguration)]) }),
        (
            ServiceName.detection,
            { c in
                AnyHashable([AnyHashable(c.detection), AnyHashable(c.logUTCOffsetSeconds), AnyHashable(c.ignoreSelf), AnyHashable(c.stateDirectory)])
            }
        ),
        (
            ServiceName.journal,
            { c in
                AnyHashable([AnyHashable(c.journal), AnyHashable(c.fromStart), AnyHashable(c.realtimeSensors), AnyHashable(c.stateDirectory)])
            }
        ),
        (
            ServiceName.logs,
            { c in
                AnyHashable([AnyHashable(c.logs), AnyHashable(c.logsAreDefaults), AnyHashable(c.fromStart), AnyHashable(c.realtimeSensors)])
            }
        ),
        (
            ServiceName.capture,
            { c in
                AnyHashable([AnyHashable(c.captures), AnyHashable(c.scannerSignatures), AnyHashable(c.realtimeSensors), AnyHashable(c.firewall)])
            }
        ),
        (ServiceName.hep, { c in AnyHashable([AnyHashable(c.hep), AnyHashable(c.scannerSignatures), AnyHashable(c.realtimeSensors)]) }),
        (ServiceName.inline, { c in AnyHashable([AnyHashable(c.inline), AnyHashable(c.admissionPolicy)]) }),
        (
            ServiceName.floodReports,
            { c in
                AnyHashable([
                    AnyHashable(c.realtimeSensors), AnyHashable(c.firewall), AnyHashable(c.floodGuard == nil),
                    AnyHashable(c.floodGuard?.reportGroup), AnyHashable(c.floodGuard?.reportReason),
                ])
            }
        ),
        (ServiceName.feeds, { c in AnyHashable([AnyHashable(c.feeds), AnyHashable(c.detection.allowlist), AnyHashable(c.stateDirectory)]) }),
        (ServiceName.intelUpdate, { c in AnyHashable([AnyHashable(c.intel), AnyHashable(c.stateDirectory)]) }),
        (ServiceName.intel, { c in AnyHashable([AnyHashable(c.ranges), AnyHashable(c.stateDirectory)]) }),
        (
            ServiceName.ranges,
            { c in
                AnyHashable([AnyHashable(c.ranges), AnyHashable(c.detection.allowlist), AnyHashable(c.stateDirectory), AnyHashable(c.firewall)])
            }
        ),
        (
            ServiceName.controlPlane,
            { c in
                AnyHashable([
                    AnyHashable(c.controlPlane), AnyHashable(c.stateDirectory), AnyHashable(c.detection.allowlist), AnyHashable(c.firewall),
                    AnyHashable(c.nftTable), AnyHashable(c.floodGuard),
                ])
            }
        ),
        (
            ServiceName.cases,
            { c in AnyHashable([AnyHashable(c.abuse), AnyHashable(c.stateDirectory), AnyHashable(c.firewall), AnyHashable(c.nftTable)]) }
        ),
    ]
}
