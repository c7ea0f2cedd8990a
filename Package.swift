// swift-tools-version: 6.1
// SPDX-License-Identifier: GPL-2.0-or-later
// sipwarden — SIP attack detection and kernel-level banning.
import PackageDescription

let strictSwift6: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "sipwarden",
    platforms: [.macOS(.v15)],
    products: [
        // The binary keeps its name; the target is SIPWardenCLI so that no two source
        // directories differ only in case (Sources/SIPWarden).
        .executable(name: "sipwarden", targets: ["SIPWardenCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // No default traits: neither swift-configuration nor full Foundation is needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // SHA-256 of report evidence (already built for HummingbirdTesting's TLS stack).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // HTTPS for RDAP, intelligence sources and blocklist feeds (already built for HummingbirdTesting).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // SMTP submission of abuse reports (STARTTLS): already built for hummingbird and async-http-client.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // MARK: C libraries (Debian packages)
        .systemLibrary(
            name: "CNFTables",
            pkgConfig: "libnftables",
            providers: [.apt(["libnftables-dev"])]
        ),

        .systemLibrary(
            name: "CNetfilterQueue",
            pkgConfig: "libnetfilter_queue",
            providers: [.apt(["libnetfilter-queue-dev"])]
        ),

        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),

        // zlib's inflate for gzip-compressed intelligence sources (ip2asn-combined.tsv.gz).
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // bpf(2) for the capture sensor's banned-source filter (linux/bpf.h, no library).
        .target(name: "CBPF"),

        // MARK: Pure cores (no I/O)
        .target(name: "NetworkAddress", swiftSettings: strictSwift6),
        // The shared vocabulary: events, time, transport, ban identity and origin.
        .target(name: "WardenCore", dependencies: ["NetworkAddress"], swiftSettings: strictSwift6),
        .target(name: "DedicatedThreads", swiftSettings: strictSwift6),
        // Enforced bans to every consumer: bounded per-consumer queues, never blocking the ban path.
        .target(name: "BanFanOut", dependencies: ["WardenCore", "DedicatedThreads"], swiftSettings: strictSwift6),
        // Netlink: a pure codec (headers, attributes, batches, message walk) and a thin socket shell.
        .target(name: "Netlink", swiftSettings: strictSwift6),
        // Abuse reporting: RDAP contacts, XARF v4 and text reports, redaction (pure).
        .target(
            name: "Abuse",
            dependencies: ["WardenCore", "NetworkAddress", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSwift6
        ),
        .target(name: "SIPMessage", swiftSettings: strictSwift6),
        // The PBX log dialects (only the targets that read logs depend on it).
        .target(name: "LogFormats", dependencies: ["WardenCore", "NetworkAddress"], swiftSettings: strictSwift6),
        .target(name: "Detection", dependencies: ["WardenCore", "NetworkAddress"], swiftSettings: strictSwift6),
        // The offline intelligence store: address → announced range, AS, country, provider (docs/INTEL.md).
        .target(name: "IntelStore", dependencies: ["WardenCore", "NetworkAddress"], swiftSettings: strictSwift6),
        // Address ranges: merging, interval subtraction (allowlist carve-outs), differences.
        .target(name: "AddressRanges", dependencies: ["NetworkAddress"], swiftSettings: strictSwift6),
        // Provider, AS and named-list policy: selectors, range sources, max-retry look-up, blocks (pure).
        .target(name: "RangePolicy", dependencies: ["AddressRanges", "NetworkAddress", "WardenCore"], swiftSettings: strictSwift6),
        .target(name: "PacketDecoding", dependencies: ["WardenCore", "NetworkAddress"], swiftSettings: strictSwift6),
        .target(
            name: "SIPCorrelation",
            dependencies: ["SIPMessage", "PacketDecoding", "WardenCore", "NetworkAddress"],
            swiftSettings: strictSwift6
        ),

        // MARK: I/O shells
        .target(
            name: "Firewall",
            dependencies: ["CNFTables", "Netlink", "NetworkAddress", "AddressRanges", "WardenCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "Sensors",
            dependencies: [
                "CSystemd", "CBPF", "Netlink", "WardenCore", "PacketDecoding", "NetworkAddress", "DedicatedThreads",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "Storage",
            dependencies: ["Detection", "Abuse", "WardenCore", "NetworkAddress", "DedicatedThreads", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSwift6
        ),

        .target(
            name: "Inline",
            dependencies: [
                "CNetfilterQueue", "SIPMessage", "PacketDecoding", "WardenCore", "NetworkAddress",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),

        .target(
            name: "Probe",
            dependencies: ["SIPMessage", "NetworkAddress"],
            swiftSettings: strictSwift6
        ),

        // Prometheus metrics: the registry, the ban path's instruments, the text exposition.
        .target(
            name: "Telemetry",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSwift6
        ),

        // The control plane: an HTTP API (Unix socket, optional TCP) over the daemon's ban
        // administration and read-only snapshots; it imports no daemon module.
        .target(
            name: "ControlPlane",
            dependencies: [
                "NetworkAddress",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),

        // Intelligence source updates: conditional HTTPS fetches, gunzip, validation hook,
        // shrink guard, atomic swap under STATE/intel (docs/INTEL.md "Updates").
        .target(
            name: "IntelUpdate",
            dependencies: [
                "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),
        // Blocklist feeds in (APIBAN, VoIPBL, FireHOL .netset, text, JSON): pure parsers and
        // planner, fetched through IntelUpdate's HTTP shell (docs/FEEDS.md).
        .target(
            name: "Feeds",
            dependencies: ["IntelUpdate", "NetworkAddress", "WardenCore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift6
        ),

        // Answers to abuse reports: the Maildir they arrive in (`cases ingest`, an MTA), its
        // inotify watcher with quarantine; matching and classification are Abuse's (pure).
        .target(
            name: "AbuseMail",
            dependencies: [
                "Abuse", "DedicatedThreads", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),

        // Abuse report delivery: the outbox's pure scheduling core, sendmail and SMTP (STARTTLS, AUTH) transports,
        // exactly-once hand-over across restarts (docs/ABUSE.md "Delivery").
        .target(
            name: "ReportDelivery",
            dependencies: [
                "Abuse", "Storage", "WardenCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSwift6
        ),

        // MARK: The daemon and its command line
        .target(
            name: "SIPWarden",
            dependencies: [
                "WardenCore", "BanFanOut", "LogFormats", "Detection", "Firewall", "Sensors", "Storage", "NetworkAddress",
                "SIPMessage", "PacketDecoding", "SIPCorrelation", "Inline", "Probe", "Telemetry", "ControlPlane", "Abuse",
                "IntelStore", "IntelUpdate", "Feeds", "AddressRanges", "RangePolicy", "ReportDelivery", "AbuseMail",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "SIPWardenCLI",
            dependencies: [
                "SIPWarden", "NetworkAddress", "WardenCore", "LogFormats", "Probe", "Sensors", "Inline", "Abuse", "AbuseMail", "RangePolicy",
                "IntelStore", "ReportDelivery", "Storage", "ControlPlane",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),

        // MARK: Tests
        // Shared by the test targets that touch the kernel (not shipped in the product).
        .target(name: "TestNamespaces", path: "Sources/TestNamespaces", swiftSettings: strictSwift6),
        // Shared by every test target that generates random input: the seeded generator.
        .target(name: "TestSupport", dependencies: ["WardenCore"], path: "Sources/TestSupport", swiftSettings: strictSwift6),
        .testTarget(name: "NetworkAddressTests", dependencies: ["NetworkAddress"], swiftSettings: strictSwift6),
        .testTarget(name: "LogFormatsTests", dependencies: ["LogFormats", "WardenCore", "TestSupport"], swiftSettings: strictSwift6),
        .testTarget(name: "DetectionTests", dependencies: ["Detection"], swiftSettings: strictSwift6),
        .testTarget(name: "IntelStoreTests", dependencies: ["IntelStore", "NetworkAddress", "WardenCore"], swiftSettings: strictSwift6),
        .testTarget(name: "AddressRangesTests", dependencies: ["AddressRanges", "NetworkAddress"], swiftSettings: strictSwift6),
        .testTarget(
            name: "RangePolicyTests", dependencies: ["RangePolicy", "AddressRanges", "NetworkAddress", "WardenCore"], swiftSettings: strictSwift6),
        .testTarget(name: "BanFanOutTests", dependencies: ["BanFanOut", "WardenCore", "NetworkAddress"], swiftSettings: strictSwift6),
        .testTarget(name: "AbuseTests", dependencies: ["Abuse", "WardenCore", "NetworkAddress"], swiftSettings: strictSwift6),
        .testTarget(
            name: "AbuseMailTests", dependencies: ["AbuseMail", "Abuse", .product(name: "Logging", package: "swift-log")], swiftSettings: strictSwift6
        ),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "TestNamespaces", "TestSupport"], swiftSettings: strictSwift6),
        .testTarget(name: "FirewallTests", dependencies: ["Firewall", "Netlink", "TestNamespaces"], swiftSettings: strictSwift6),
        .testTarget(name: "SensorsTests", dependencies: ["Sensors", "TestNamespaces", "TestSupport"], swiftSettings: strictSwift6),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "WardenCore", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["Fixtures"],
            swiftSettings: strictSwift6
        ),
        .testTarget(name: "SIPWardenTests", dependencies: ["SIPWarden", "TestNamespaces"], swiftSettings: strictSwift6),
        .testTarget(
            name: "PacketDecodingTests", dependencies: ["PacketDecoding", "TestSupport"], exclude: ["Fixtures", "HEPFixtures"],
            swiftSettings: strictSwift6),
        .testTarget(name: "SIPCorrelationTests", dependencies: ["SIPCorrelation"], swiftSettings: strictSwift6),
        .testTarget(name: "ProbeTests", dependencies: ["Probe", "TestSupport"], swiftSettings: strictSwift6),
        .testTarget(name: "InlineTests", dependencies: ["Inline", "TestNamespaces", "TestSupport"], swiftSettings: strictSwift6),
        .testTarget(
            name: "TelemetryTests",
            dependencies: ["Telemetry", .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "ControlPlaneTests",
            dependencies: ["ControlPlane", "NetworkAddress", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "IntelUpdateTests",
            dependencies: [
                "IntelUpdate", "Feeds", "NetworkAddress", "WardenCore", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "ReportDeliveryTests",
            dependencies: [
                "ReportDelivery", "Abuse", "Storage", "WardenCore", "NetworkAddress",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(name: "SIPMessageTests", dependencies: ["SIPMessage", "TestSupport"], exclude: ["Fixtures"], swiftSettings: strictSwift6),
    ]
)
