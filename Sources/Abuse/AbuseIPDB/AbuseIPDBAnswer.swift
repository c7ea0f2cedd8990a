// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation

/// What AbuseIPDB's answer to a report means for the queue.
///
/// Success is `200` with `{"data": {"ipAddress": …, "abuseConfidenceScore": N}}`; errors
/// carry `{"errors": [{"detail": …, "status": N}]}`. A `429` is either the account's rate
/// limit (with `Retry-After` in seconds: wait, then send again) or the service's rule that
/// one address is reported at most once in 15 minutes (the detail says so: then it was
/// reported already — by this host's key from another run, or another host sharing it).
public enum AbuseIPDBAnswer: Sendable, Hashable {
    /// Accepted; the address's confidence score now.
    case accepted(score: Int?)
    /// Reported by this key within the last 15 minutes: nothing to resend.
    case alreadyReported(detail: String)
    /// Rate limited (or a server error): send again after `after`.
    case retry(after: Duration, detail: String)
    /// Refused for good (bad key, invalid address or category): not sent again.
    case rejected(status: Int, detail: String)

    /// How long to wait after a `429` or `5xx` that names no `Retry-After`.
    public static let defaultRetry: Duration = .seconds(900)
    /// The longest `Retry-After` honoured as given (a day: the daily quota's reset).
    public static let longestRetry: Duration = .seconds(86_400)

    /// Reads an answer: HTTP status, its `Retry-After` header (if any) and body (bounded
    /// by the caller). Never throws: an unreadable body is described, not trusted.
    public static func parse(status: Int, retryAfter: String?, body: [UInt8]) -> AbuseIPDBAnswer {
        let json = (try? JSONSerialization.jsonObject(with: Data(body.prefix(65_536)))) as? [String: Any]
        let detail =
            ((json?["errors"] as? [[String: Any]])?.compactMap { $0["detail"] as? String }.joined(separator: "; "))
            .flatMap { $0.isEmpty ? nil : String($0.prefix(300)) } ?? "HTTP \(status)"
        switch status {
        case 200..<300:
            let data = json?["data"] as? [String: Any]
            return .accepted(score: (data?["abuseConfidenceScore"] as? NSNumber)?.intValue)
        case 429:
            if detail.lowercased().contains("once in 15 minutes") { return .alreadyReported(detail: detail) }
            return .retry(after: retryDelay(retryAfter), detail: detail)
        case 500..<600, 408:
            return .retry(after: retryDelay(retryAfter), detail: detail)
        default:
            return .rejected(status: status, detail: detail)
        }
    }

    /// `Retry-After` as delay-seconds (RFC 9110; the HTTP-date form is not used by the
    /// service and falls back to the default), bounded to a day.
    static func retryDelay(_ header: String?) -> Duration {
        guard let header, let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0 else { return defaultRetry }
        return min(.seconds(seconds), longestRetry)
    }
}
