// SPDX-License-Identifier: GPL-2.0-or-later

#if canImport(Glibc)
    import Glibc
#endif

/// How a sensor thread is scheduled.
///
/// A brute force at line rate is a race between the attacker's packets and the thread that
/// reads the evidence: on a busy two-core PBX a normal thread can wait milliseconds for a
/// CPU after its wake-up, and every millisecond is another ~15 guesses at full speed. A
/// low real-time priority (`SCHED_FIFO`) lets the thread run as soon as it wakes. It only
/// ever runs briefly (it blocks in `poll` between batches), so it cannot starve the PBX.
public enum SensorPriority: Sendable, Hashable {
    /// The default time-sharing scheduler.
    case normal
    /// `SCHED_FIFO` at this priority (1–99; small values are enough).
    case realtime(Int32)

    /// Applies the priority to the calling thread. Returns nil on success or the reason it
    /// could not be applied (e.g. no CAP_SYS_NICE, or an RT budget of zero in a container).
    public func applyToCurrentThread() -> String? {
        guard case .realtime(let priority) = self else { return nil }
        var param = sched_param()
        param.sched_priority = max(1, min(priority, 99))
        let rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param)
        return rc == 0 ? nil : String(cString: strerror(rc))
    }
}
