// SPDX-License-Identifier: GPL-2.0-or-later

public import NetworkAddress
import PacketDecoding
import SIPCorrelation
import Synchronization
import WardenCore

/// Settings of the HEP listener (`--hep ADDR:PORT`).
public struct HEPSettings: Sendable, Hashable {
    /// `IPv4:PORT` or `[IPv6]:PORT` to listen on.
    public var endpoint: String
    /// UDP senders (capture agents) whose packets are believed. HEP is unauthenticated
    /// UDP: anyone who can reach the listener could otherwise get any address banned.
    public var agents: IPNetworkSet
    /// When set, packets must carry this HEP auth key.
    public var authKey: String?

    public init(endpoint: String, agents: IPNetworkSet = IPNetworkSet([IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]), authKey: String? = nil) {
        self.endpoint = endpoint
        self.agents = agents
        self.authKey = authKey
    }
}

/// One wire sensor's path into the shared pipeline: its own transaction correlator (each
/// sensor thread owns one, so no two threads share correlation state), then the detector.
final class CorrelatingSink: Sendable {
    let sensor: String
    private let correlator: Mutex<SIPCorrelator>
    private let pipeline: Pipeline
    private let clock: TimeSource

    init(
        sensor: String, sipPorts: Set<UInt16>, scannerSignatures: Bool, serverAddresses: IPNetworkSet,
        pipeline: Pipeline, clock: @escaping TimeSource
    ) {
        self.sensor = sensor
        var configuration = CorrelatorConfiguration(sipPorts: sipPorts)
        // This host is the server side of what its sensors see; never judge it.
        configuration.serverAddresses = serverAddresses.isEmpty ? nil : serverAddresses
        if !scannerSignatures {
            configuration.scannerUserAgents = []
            configuration.detectSipviciousShape = false
        }
        correlator = Mutex(SIPCorrelator(configuration: configuration))
        self.pipeline = pipeline
        self.clock = clock
    }

    /// Decoded capture output (payloads, TCP gaps and closes).
    func handle(_ output: DecodedOutput) {
        let received = clock()
        var events: [SecurityEvent] = []
        correlator.withLock { c in c.ingest(output, sensor: sensor) { events.append($0) } }
        if !events.isEmpty { pipeline.judge(events, received: received) }
    }

    /// A whole SIP message from a HEP agent.
    func handle(_ payload: WirePayload) {
        handle(.payload(payload))
    }

    /// Judges requests whose outcome is overdue (unanswered, abandoned challenges: the
    /// flood rule) and forgets old transactions; call periodically.
    func expire() {
        let now = clock()
        var events: [SecurityEvent] = []
        correlator.withLock { $0.expire(now: now, sensor: sensor) { events.append($0) } }
        if !events.isEmpty { pipeline.judge(events, received: now) }
    }
}
