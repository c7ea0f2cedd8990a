// SPDX-License-Identifier: GPL-2.0-or-later

import NetworkAddress
import SIPMessage
import TestSupport

@testable import Probe

/// The parts of a request the tests look at, copied out of the parser's view.
struct ParsedRequest {
    var method: String
    var requestURI: String
    var branch: String?
    var viaSentBy: String
    var viaCount: Int
    var rport: Bool
    var fromURI: String
    var fromUser: String?
    var fromTag: String?
    var toURI: String
    var toUser: String?
    var toTag: String?
    var callID: String
    var cseqNumber: UInt32
    var cseqMethod: String
    var maxForwards: Int?
    var contentLength: Int?
    var contactURI: String?
    var userAgent: String?
    var hasCredentials: Bool
    var routes: [String]
    var headerNames: [SIPHeaderName]
    var expires: [String]
    var bodyCount: Int

    init(_ bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { raw in
            let view = try SIPMessageView(parsing: raw)
            return ParsedRequest(view: view)
        }
    }

    private init(view: SIPMessageView) {
        method = view.method ?? ""
        requestURI = view.requestURI ?? ""
        branch = view.topViaBranch
        viaSentBy = view.topViaSentBy
        viaCount = view.message.viaCount
        rport = view.values(of: .via).first?.contains(";rport") ?? false
        fromURI = view.fromURI
        fromUser = view.fromUser
        fromTag = view.fromTag
        toURI = view.toURI
        toUser = view.toUser
        toTag = view.toTag
        callID = view.callID
        cseqNumber = view.cseq.number
        cseqMethod = view.cseq.method
        maxForwards = view.message.maxForwards
        contentLength = view.message.contentLength
        contactURI = view.contactURI
        userAgent = view.userAgent
        hasCredentials = view.message.hasCredentials
        routes = view.values(of: .route)
        headerNames = view.message.headers.map(\.name)
        expires = view.values(of: .expires)
        bodyCount = view.body.count
    }
}

/// Builds a response to `request` as a UAS would (Via, From, Call-ID, CSeq copied; To
/// gets `toTag` when given).
func response(
    to request: [UInt8], status: Int, reason: String, toTag: String? = "srvtag1",
    headers: [String] = [], cseqMethod: String? = nil
) throws -> [UInt8] {
    let lines: [String] = try request.withUnsafeBytes { raw in
        let view = try SIPMessageView(parsing: raw)
        var out = ["SIP/2.0 \(status) \(reason)"]
        for via in view.values(of: .via) { out.append("Via: \(via)") }
        out.append("From: \(view.values(of: .from).first ?? "")")
        let to = view.values(of: .to).first ?? ""
        out.append("To: \(to)\(toTag.map { ";tag=\($0)" } ?? "")")
        out.append("Call-ID: \(view.callID)")
        out.append("CSeq: \(view.cseq.number) \(cseqMethod ?? view.cseq.method)")
        return out
    }
    let text = (lines + headers + ["Content-Length: 0", "", ""]).joined(separator: "\r\n")
    return Array(text.utf8)
}

let loopbackTarget = try! ProbeTarget(parsing: "127.0.0.1:5070", iOwnThisHost: false)
let localEndpoint = ProbeLocalEndpoint(address: IPAddress("127.0.0.1")!, port: 40_000)

func makeProbe(
    target: ProbeTarget = loopbackTarget, user: String = "100", methods: [ProbeMethod] = ProbeMethod.allCases,
    repetitions: Int = 3, seed: UInt64 = 42
) throws -> EnumerationProbe {
    let configuration = ProbeConfiguration(existingUser: user, version: "9.9.9", methods: methods, repetitions: repetitions)
    return try EnumerationProbe(target: target, local: localEndpoint, configuration: configuration, random: SplitMix64(seed: seed))
}

/// A simulated server: given a parsed request, the datagrams it answers with and after
/// what delay.
typealias SimulatedServer = (_ request: ParsedRequest, _ bytes: [UInt8]) throws -> [(delay: Duration, datagram: [UInt8])]

/// Runs `probe` against `server` on a virtual clock; returns every request sent.
@discardableResult
func simulate(_ probe: inout EnumerationProbe, server: SimulatedServer, limit: Duration = .seconds(600)) throws -> [(at: Duration, bytes: [UInt8])] {
    var now: Duration = .zero
    var sent: [(at: Duration, bytes: [UInt8])] = []
    var pending: [(at: Duration, datagram: [UInt8])] = []
    func deliver(_ datagrams: [[UInt8]]) throws {
        for d in datagrams {
            sent.append((now, d))
            let request = try ParsedRequest(d)
            for (delay, answer) in try server(request, d) { pending.append((now + delay, answer)) }
        }
    }
    try deliver(probe.start(at: now))
    var steps = 0
    while !probe.isFinished, steps < 100_000, now < limit {
        steps += 1
        pending.sort { $0.at < $1.at }
        let wake = probe.nextWakeup ?? limit
        if let first = pending.first, first.at <= wake {
            pending.removeFirst()
            now = max(now, first.at)
            try deliver(probe.receive(datagram: first.datagram, at: now))
        } else {
            now = max(now, wake)
        }
        try deliver(probe.advance(to: now))
    }
    return sent
}
