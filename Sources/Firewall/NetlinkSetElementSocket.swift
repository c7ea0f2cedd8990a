// SPDX-License-Identifier: GPL-2.0-or-later

import Netlink

extension NetlinkSocket {
    /// Sends `batch` (finished) in one datagram and waits until the kernel acknowledged each
    /// of its change messages, or refused one, or `timeout` passed.
    func send(_ batch: inout NetlinkSetElementBatch, timeout: Duration) throws(NetlinkError) {
        try send(&batch.batch, timeout: timeout)
    }
}

extension NetlinkError {
    /// As the firewall reports it: `.commandFailed` with "<strerror> (errno N)" for kernel
    /// refusals, `.unavailable` for the rest.
    var firewallError: FirewallError {
        FirewallError(kind == .kernel ? .commandFailed : .unavailable, message)
    }
}
