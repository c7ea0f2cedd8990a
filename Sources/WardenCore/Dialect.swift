// SPDX-License-Identifier: GPL-2.0-or-later

/// Which decoder produced an event.
public enum Dialect: String, Sendable, Hashable, Codable, CaseIterable {
    /// An Asterisk log (chan_sip, res_pjsip, IAX2, AMI, the security log).
    case asterisk
    /// A FreeSWITCH log.
    case freeswitch
    /// A `SIPWARDEN` line from the Kamailio snippet.
    case kamailio
    /// A `SIPWARDEN` line from the OpenSIPS snippet.
    case opensips
    /// SIP seen on the wire (capture, HEP, inline).
    case sip
}
