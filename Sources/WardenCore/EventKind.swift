// SPDX-License-Identifier: GPL-2.0-or-later

/// What a source did wrong (or, for `authSucceeded`, that it proved to be a real user). Every sensor — log dialect, packet decoder, HEP — reduces
/// what it saw to one of these; detection never knows where an event came from.
public enum EventKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Wrong password or failed digest challenge response.
    case authFailed = "auth_failed"
    /// No such peer, endpoint, account or extension to register as.
    case unknownUser = "unknown_user"
    /// Rejected by an access control list.
    case aclDenied = "acl_denied"
    /// A call to an unknown or unauthorised destination (toll-fraud probing).
    case unauthenticatedCall = "unauthenticated_call"
    /// A known attack tool signature.
    case scanner
    /// Request rate above the configured limit.
    case flood
    /// Unparseable SIP or a malformed request.
    case malformed
    /// Not a failure: the source authenticated successfully (a real user, typos or not).
    /// Never counted towards a ban; it keeps the source's failures out of prefix windows.
    case authSucceeded = "auth_succeeded"

    /// Dense index, for per-kind tables.
    public var index: Int {
        switch self {
        case .authFailed: 0
        case .unknownUser: 1
        case .aclDenied: 2
        case .unauthenticatedCall: 3
        case .scanner: 4
        case .flood: 5
        case .malformed: 6
        case .authSucceeded: 7
        }
    }
}
