// SPDX-License-Identifier: GPL-2.0-or-later

import SIPMessage

/// What a final response says about the request it answers, for the flood rule: only
/// unproductive requests count towards a source's flood rate (docs/WIRE-DETECTION.md).
enum RequestOutcome: Equatable {
    /// Accepted, redirected, or not accepted for a reason that is not the client's fault
    /// (busy, unavailable, terminated, server overloaded): productive.
    case settled
    /// A digest challenge (401/407) to a request without credentials, or with a stale
    /// nonce: productive only if a credentialed retry in the same exchange is accepted.
    case challenge
    /// Refused because of the request itself (wrong credentials, unknown user or number,
    /// forbidden, malformed, method not allowed, …): unproductive at once.
    case refused

    /// 4xx answers that are a normal part of legitimate traffic rather than a refusal of
    /// the client: 408 Request Timeout, 422 Session Interval Too Small and 423 Interval Too
    /// Brief (the client retries with a larger value), 480 Temporarily Unavailable, 481
    /// Call/Transaction Does Not Exist (state lost, e.g. after a restart), 486 Busy Here,
    /// 487 Request Terminated (after CANCEL), 491 Request Pending (glare).
    static let neutralClientErrors: Set<Int> = [408, 422, 423, 480, 481, 486, 487, 491]

    /// Classifies a final response (`code` ≥ 200).
    static func of(code: Int, method: SIPMethod, hasCredentials: Bool, staleChallenge: Bool) -> RequestOutcome {
        switch code {
        case 401, 407:
            // RFC 3261 §22.1: CANCEL and ACK cannot be challenged; a 401 to them is a refusal.
            if method == .cancel { return .refused }
            return !hasCredentials || staleChallenge ? .challenge : .refused
        case 400..<500:
            return neutralClientErrors.contains(code) ? .settled : .refused
        default:
            // 2xx, 3xx; 5xx (the server's problem, e.g. 503 when a storm overloads it) and
            // 6xx (the callee's decision) say nothing against the client.
            return .settled
        }
    }
}
