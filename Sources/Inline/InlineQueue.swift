// SPDX-License-Identifier: GPL-2.0-or-later

import CNetfilterQueue
import Glibc
public import Logging
import Synchronization
import WardenCore

/// What happens to SIP traffic when sipwarden cannot judge it.
///
/// Two distinct situations: sipwarden is not running (no program bound to the queue:
/// decided by the `--queue-bypass` flag of the firewall rule, see ``InlineRules``), and
/// sipwarden is running but the queue is full (decided by the queue's
/// `NFQA_CFG_F_FAIL_OPEN` flag, set here).
public enum InlineFailMode: String, Hashable, Sendable, CaseIterable {
    /// The default. Not running: traffic passes (the PBX keeps working; the nftables ban
    /// set still applies). Queue full: excess packets are dropped — an overflow is
    /// exactly what a flood aims for, and accepting it would let requests reach the PBX
    /// unjudged. Legitimate clients retransmit.
    case bypassWhenStopped = "bypass"
    /// Everything passes unjudged when sipwarden cannot judge it (stopped or overloaded).
    case open
    /// Nothing reaches the PBX unjudged: no bypass, overflow dropped.
    case closed

    /// Whether the firewall rule carries `--queue-bypass`.
    public var bypassWhenNotListening: Bool { self != .closed }
    /// Whether the queue accepts packets it has no room for.
    public var acceptOnOverflow: Bool { self == .open }
}

/// How to open the queue.
public struct InlineQueueConfiguration: Hashable, Sendable {
    /// The NFQUEUE number the firewall rules send to.
    public var queue: UInt16
    public var failMode: InlineFailMode
    /// Packets the kernel may hold for us (default 65 536; the kernel default of 1 024
    /// overflows within 10 ms of a 150 k packets/s flood).
    public var maxQueueLength: UInt32
    /// Netlink socket receive buffer in bytes (default 32 MiB; forced past rmem_max as root).
    public var receiveBufferBytes: Int
    /// Bytes of each packet copied to us (default 65 535: whole datagrams).
    public var copyBytes: UInt32
    /// The admission rules.
    public var policy: AdmissionPolicy

    public init(
        queue: UInt16, failMode: InlineFailMode = .bypassWhenStopped, maxQueueLength: UInt32 = 65_536,
        receiveBufferBytes: Int = 32 << 20, copyBytes: UInt32 = 65_535, policy: AdmissionPolicy = AdmissionPolicy()
    ) {
        self.queue = queue
        self.failMode = failMode
        self.maxQueueLength = maxQueueLength
        self.receiveBufferBytes = receiveBufferBytes
        self.copyBytes = copyBytes
        self.policy = policy
    }
}

/// Why the queue could not be opened or run.
public enum InlineQueueError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `nfq_open` failed (no nfnetlink_queue support, or not root / CAP_NET_ADMIN).
    case open(errno: Int32)
    /// `nfq_create_queue` failed (another program is bound to this queue number?).
    case createQueue(queue: UInt16, errno: Int32)
    /// A queue setting was refused (`nfq_set_mode`, `nfq_set_queue_maxlen`, `nfq_set_queue_flags`).
    case configure(setting: String, errno: Int32)
    /// pipe or pthread_create failed.
    case system(call: String, errno: Int32)
    /// The policy is invalid (messages from ``AdmissionPolicy/validationErrors()``).
    case invalidPolicy([String])
    /// ``InlineQueue/start()`` after ``InlineQueue/stop()``, or twice.
    case notRestartable

    public var description: String {
        switch self {
        case .open(let e): "inline: cannot open nfnetlink_queue: \(String(cString: strerror(e)))"
        case .createQueue(let q, let e): "inline: cannot bind NFQUEUE \(q): \(String(cString: strerror(e))) (is another program bound to it?)"
        case .configure(let s, let e): "inline: kernel refused \(s): \(String(cString: strerror(e)))"
        case .system(let c, let e): "inline: \(c) failed: \(String(cString: strerror(e)))"
        case .invalidPolicy(let m): "inline: " + m.joined(separator: "; ")
        case .notRestartable: "inline: the queue was already started or stopped"
        }
    }
}

/// Counters of a running queue.
public struct InlineQueueStatistics: Hashable, Sendable {
    /// Packets received from the kernel and given a verdict.
    public var verdicts = 0
    public var accepted = 0
    /// Packets refused (dropped for a reason of the admission rules or the packet layer).
    public var dropped = 0
    /// Retransmissions of held requests, dropped because the held original goes on
    /// (``AdmissionDropReason/retransmissionOfHeld``): not refusals.
    public var absorbed = 0
    /// `recv` reported ENOBUFS: the socket buffer overflowed and the kernel dropped (or,
    /// fail-open, accepted) packets we never saw.
    public var receiveOverruns = 0
    /// `nfq_set_verdict` failed (the packet stays queued until the kernel gives up).
    public var verdictErrors = 0
    /// The receive buffer the kernel actually granted, in bytes.
    public var receiveBufferBytes = 0
    /// The packet layer's counters (published every few thousand packets and when idle).
    public var filter = InlineFilterStatistics()
    /// The admission core's counters (published with `filter`).
    public var admission = AdmissionStatistics()

    public init() {}
}

/// The inline shell: binds an NFQUEUE, reads every queued packet on a dedicated thread,
/// judges it with an ``InlineFilter`` and gives the verdict at once (`NF_ACCEPT` /
/// `NF_DROP`) — or, for a request that waits for room in flight
/// (``AdmissionPolicy/holdTime``), later, by packet id, as soon as the PBX's answers make
/// room or the hold time passes (checked every few milliseconds while anything is held).
/// Failures and exhaustions go to `onEvent` on that thread, after the verdict — keep the
/// callback short (e.g. yield into an `AsyncStream`).
public final class InlineQueue: Sendable {
    public let configuration: InlineQueueConfiguration
    private let shared: SharedCounters
    private let handles: Mutex<Handles>

    /// Opens and configures the queue (the thread starts with ``start()``). Needs
    /// CAP_NET_ADMIN in the current network namespace.
    public init(
        configuration: InlineQueueConfiguration, logger: Logger,
        onEvent: @escaping @Sendable (AdmissionEvent) -> Void
    ) throws(InlineQueueError) {
        let problems = configuration.policy.validationErrors()
        guard problems.isEmpty else { throw .invalidPolicy(problems) }
        self.configuration = configuration
        let shared = SharedCounters(policy: configuration.policy)
        self.shared = shared

        guard let h = nfq_open() else { throw .open(errno: errno) }
        // Kernels since 3.8 ignore these; older ones need the family bound once.
        for family in [AF_INET, AF_INET6] {
            _ = nfq_unbind_pf(h, UInt16(family))
            _ = nfq_bind_pf(h, UInt16(family))
        }
        let worker = Worker(
            filter: InlineFilter(controller: AdmissionController(policy: configuration.policy)),
            shared: shared, logger: logger, onEvent: onEvent
        )
        let context = Unmanaged.passRetained(worker).toOpaque()
        func fail(_ error: InlineQueueError, queue qh: OpaquePointer? = nil) -> InlineQueueError {
            if let qh { _ = nfq_destroy_queue(qh) }
            _ = nfq_close(h)
            Unmanaged<Worker>.fromOpaque(context).release()
            return error
        }
        guard let qh = nfq_create_queue(h, configuration.queue, inlineQueueCallback, context) else {
            throw fail(.createQueue(queue: configuration.queue, errno: errno))
        }
        if nfq_set_mode(qh, UInt8(NFQNL_COPY_PACKET.rawValue), configuration.copyBytes) < 0 {
            throw fail(.configure(setting: "copy mode", errno: errno), queue: qh)
        }
        if nfq_set_queue_maxlen(qh, configuration.maxQueueLength) < 0 {
            throw fail(.configure(setting: "queue length \(configuration.maxQueueLength)", errno: errno), queue: qh)
        }
        let flag = UInt32(NFQA_CFG_F_FAIL_OPEN)
        if nfq_set_queue_flags(qh, flag, configuration.failMode.acceptOnOverflow ? flag : 0) < 0 {
            throw fail(.configure(setting: "fail-open flag", errno: errno), queue: qh)
        }
        let granted = Int(nfnl_rcvbufsiz(nfq_nfnlh(h), UInt32(clamping: configuration.receiveBufferBytes)))
        shared.snapshot.withLock { $0.receiveBufferBytes = granted }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { throw fail(.system(call: "pipe", errno: errno), queue: qh) }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let wake = pipeFDs[0]
        worker.handle = h
        worker.queueHandle = qh
        worker.fd = nfq_fd(h)
        worker.wakeFD = wake
        handles = Mutex(Handles(handle: h, queueHandle: qh, context: context, wakeFD: wake, wakeWriteFD: pipeFDs[1]))
        logger.info(
            "inline: bound NFQUEUE \(configuration.queue)",
            metadata: [
                "fail_mode": "\(configuration.failMode.rawValue)", "queue_maxlen": "\(configuration.maxQueueLength)",
                "rcvbuf": "\(granted)", "max_retry": "\(configuration.policy.maxRetry)",
            ])
    }

    deinit { stop() }

    /// The admission rules in force: the configuration's, or the last one given to
    /// ``replacePolicy(_:)``.
    public var policy: AdmissionPolicy {
        shared.policy.withLock { $0.current }
    }

    /// Judges every packet from the next one on under `policy` (a configuration reload).
    /// The verdict thread takes it over before it reads the next batch of packets (within
    /// a second when the queue is idle); what the admission core knows is kept where it
    /// still applies (``AdmissionController/reconfigure(with:)``). An invalid policy
    /// changes nothing.
    public func replacePolicy(_ policy: AdmissionPolicy) throws(InlineQueueError) {
        let problems = policy.validationErrors()
        guard problems.isEmpty else { throw .invalidPolicy(problems) }
        shared.policy.withLock {
            $0.current = policy
            $0.pending = policy
        }
        shared.policyPending.store(true, ordering: .releasing)
    }

    /// Gives sources covered by provider, AS or list rules a lower max-retry of their own
    /// (nil: none), from the next batch on, as ``replacePolicy(_:)`` does
    /// (``AdmissionController/replaceSourceLimits(_:)``).
    public func replaceSourceLimits(_ limits: (any AdmissionMaxRetryLookup)?) {
        shared.pendingLimits.withLock { $0 = .some(limits) }
        shared.policyPending.store(true, ordering: .releasing)
    }

    /// Starts the verdict thread.
    public func start() throws(InlineQueueError) {
        let result: InlineQueueError? = handles.withLock { h in
            guard h.phase == .opened, let context = h.context else { return .notRestartable }
            var thread = pthread_t()
            let rc = pthread_create(
                &thread, nil,
                { raw in
                    guard let raw else { return nil }
                    Unmanaged<Worker>.fromOpaque(raw).takeUnretainedValue().run()
                    return nil
                }, context)
            guard rc == 0 else { return .system(call: "pthread_create", errno: rc) }
            h.thread = thread
            h.phase = .running
            return nil
        }
        if let result { throw result }
    }

    /// Wakes and joins the thread, then unbinds and destroys the queue. Packets still
    /// queued get the kernel's treatment for a queue without listener (bypass or drop,
    /// per the rule). Idempotent.
    public func stop() {
        handles.withLock { h in
            guard h.phase != .stopped else { return }
            if h.phase == .running, let thread = h.thread {
                var one: UInt8 = 1
                _ = write(h.wakeWriteFD, &one, 1)
                _ = pthread_join(thread, nil)
            }
            if let qh = h.queueHandle { _ = nfq_destroy_queue(qh) }
            if let handle = h.handle { _ = nfq_close(handle) }
            if h.wakeFD >= 0 { close(h.wakeFD) }
            if h.wakeWriteFD >= 0 { close(h.wakeWriteFD) }
            if let context = h.context { Unmanaged<Worker>.fromOpaque(context).release() }
            h = Handles(handle: nil, queueHandle: nil, context: nil, wakeFD: -1, wakeWriteFD: -1)
            h.phase = .stopped
        }
    }

    /// Counters so far.
    public var statistics: InlineQueueStatistics {
        var s = shared.snapshot.withLock { $0 }
        s.verdicts = shared.verdicts.load(ordering: .relaxed)
        s.accepted = shared.accepted.load(ordering: .relaxed)
        s.dropped = shared.dropped.load(ordering: .relaxed)
        s.absorbed = shared.absorbed.load(ordering: .relaxed)
        s.receiveOverruns = shared.overruns.load(ordering: .relaxed)
        s.verdictErrors = shared.verdictErrors.load(ordering: .relaxed)
        return s
    }
}

/// The C handles, owned by the queue object and only touched under its lock (the
/// worker thread has its own copies and is joined before they are released).
private struct Handles {
    enum Phase { case opened, running, stopped }
    var handle: OpaquePointer?
    var queueHandle: OpaquePointer?
    var context: UnsafeMutableRawPointer?
    var wakeFD: Int32
    var wakeWriteFD: Int32
    var thread: pthread_t?
    var phase = Phase.opened
}

/// Counters written by the worker thread and read by anyone.
private final class SharedCounters: Sendable {
    let verdicts = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)
    let absorbed = Atomic<Int>(0)
    let overruns = Atomic<Int>(0)
    let verdictErrors = Atomic<Int>(0)
    let snapshot = Mutex(InlineQueueStatistics())
    /// A policy handed over by ``InlineQueue/replacePolicy(_:)`` and not yet taken by the
    /// worker (`pending`), and the one in force once it is (`current`).
    let policy: Mutex<(current: AdmissionPolicy, pending: AdmissionPolicy?)>
    /// Source limits handed over by ``InlineQueue/replaceSourceLimits(_:)`` and not yet
    /// taken (the outer optional: none pending).
    let pendingLimits = Mutex<(any AdmissionMaxRetryLookup)??>(nil)
    /// Set with `policy.pending` or `pendingLimits`: the worker's per-batch check is one atomic load.
    let policyPending = Atomic<Bool>(false)

    init(policy: AdmissionPolicy) {
        self.policy = Mutex((current: policy, pending: nil))
    }
}

/// The netlink callback (a C function pointer: no captures).
private func inlineQueueCallback(
    _ qh: OpaquePointer?, _ message: UnsafeMutablePointer<nfgenmsg>?, _ nfad: OpaquePointer?, _ data: UnsafeMutableRawPointer?
) -> Int32 {
    guard let qh, let nfad, let data else { return 0 }
    return Unmanaged<Worker>.fromOpaque(data).takeUnretainedValue().onPacket(qh, nfad)
}

/// Everything the verdict thread owns. Created by `InlineQueue.init`, then used only by
/// that thread (and by nfq callbacks it runs) until it is joined.
private final class Worker {
    var filter: InlineFilter
    let shared: SharedCounters
    let logger: Logger
    let onEvent: @Sendable (AdmissionEvent) -> Void
    var handle: OpaquePointer?
    var queueHandle: OpaquePointer?
    var fd: Int32 = -1
    var wakeFD: Int32 = -1
    private var events: [AdmissionEvent] = []
    private var releases: [AdmissionRelease] = []
    private var sincePublish = 0
    private var verdicts = 0, accepted = 0, dropped = 0, absorbed = 0

    init(filter: InlineFilter, shared: SharedCounters, logger: Logger, onEvent: @escaping @Sendable (AdmissionEvent) -> Void) {
        self.filter = filter
        self.shared = shared
        self.logger = logger
        self.onEvent = onEvent
        events.reserveCapacity(8)
    }

    /// The thread body: poll the netlink socket and the wake-up pipe until woken.
    func run() {
        guard let handle else { return }
        let capacity = 0x20000
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            // Held requests need their hold time checked even when no packet arrives.
            let ready = poll(&fds, 2, filter.heldRequests > 0 ? Self.holdTickMilliseconds : 1_000)
            if ready < 0, errno != EINTR {
                logger.error("inline: poll failed: \(String(cString: strerror(errno)))")
                break
            }
            if fds[1].revents != 0 { break }
            takePendingPolicy()
            if filter.heldRequests > 0 {
                filter.expireHeld(time: Self.now())
                giveDeferredVerdicts()
            }
            if ready <= 0 {
                publish()
                continue
            }
            // Drain: one netlink message per queued packet.
            var budget = 65_536
            while budget > 0 {
                budget -= 1
                let n = recv(fd, buffer, capacity, Int32(MSG_DONTWAIT))
                if n > 0 {
                    _ = nfq_handle_packet(handle, buffer.assumingMemoryBound(to: CChar.self), Int32(n))
                    continue
                }
                if n < 0 {
                    let e = errno
                    if e == EINTR { continue }
                    if e == ENOBUFS {
                        let total = shared.overruns.add(1, ordering: .relaxed).newValue
                        if total == 1 || total % 1_000 == 0 {
                            logger.warning("inline: netlink receive buffer overran (\(total) times): the kernel handled packets per the fail mode")
                        }
                        continue
                    }
                    if e != EAGAIN && e != EWOULDBLOCK {
                        logger.error("inline: recv failed: \(String(cString: strerror(e)))")
                    }
                }
                break
            }
            publish()
        }
        releaseHeldAtStop()
        publish()
    }

    /// How often held requests are checked for their hold time while some are held.
    static let holdTickMilliseconds: Int32 = 5

    /// Gives the verdicts the admission core decided for held packets.
    private func giveDeferredVerdicts() {
        filter.takeReleases(into: &releases)
        guard !releases.isEmpty, let queueHandle else {
            releases.removeAll(keepingCapacity: true)
            return
        }
        for release in releases {
            let admitted = release.decision.isAdmitted
            if nfq_set_verdict(queueHandle, release.ticket, UInt32(admitted ? NF_ACCEPT : NF_DROP), 0, nil) < 0 {
                shared.verdictErrors.add(1, ordering: .relaxed)
            }
            verdicts += 1
            if admitted { accepted += 1 } else { dropped += 1 }
        }
        releases.removeAll(keepingCapacity: true)
    }

    /// At stop, packets still held are decided as at the end of their hold time: admitted
    /// if they fit, else dropped (a verdict for each, rather than leaving them to the
    /// kernel when the queue goes away).
    private func releaseHeldAtStop() {
        let count = filter.heldRequests
        guard count > 0 else { return }
        filter.expireHeld(time: Timestamp(microseconds: .max))
        giveDeferredVerdicts()
        logger.notice("inline: stopping with \(count) requests held: their hold ended at stop")
    }

    /// One queued packet: judge, verdict, then report.
    func onPacket(_ qh: OpaquePointer, _ nfad: OpaquePointer) -> Int32 {
        guard let header = nfq_get_msg_packet_hdr(nfad) else { return 0 }
        // struct nfqnl_msg_packet_hdr is packed: packet_id (be32), hw_protocol (be16), hook (u8).
        let raw = UnsafeRawPointer(header)
        let id = UInt32(bigEndian: raw.loadUnaligned(as: UInt32.self))
        let hook = raw.load(fromByteOffset: 6, as: UInt8.self)
        var payload: UnsafeMutablePointer<UInt8>?
        let length = nfq_get_payload(nfad, &payload)
        var verdict = UInt32(NF_ACCEPT)
        var held = false
        var absorbed = false
        if length > 0, let payload {
            // NF_INET_LOCAL_OUT = 3 (the PBX's own packets); everything else is towards it.
            let direction: InlineDirection = hook == 3 ? .outbound : .inbound
            let bytes = UnsafeRawBufferPointer(start: payload, count: Int(length))
            let decision = filter.judge(packet: bytes, direction: direction, time: Self.now(), events: &events, ticket: id)
            switch decision {
            case .admit: break
            case .drop(let reason):
                verdict = UInt32(NF_DROP)
                absorbed = !reason.isRefusal
            case .hold: held = true
            }
        }
        if !held {
            if nfq_set_verdict(qh, id, verdict, 0, nil) < 0 {
                shared.verdictErrors.add(1, ordering: .relaxed)
            }
            verdicts += 1
            if verdict == UInt32(NF_ACCEPT) { accepted += 1 } else if absorbed { self.absorbed += 1 } else { dropped += 1 }
        }
        // An answer from the PBX may have made room for held requests.
        giveDeferredVerdicts()
        if !events.isEmpty {
            for event in events { onEvent(event) }
            events.removeAll(keepingCapacity: true)
        }
        sincePublish += 1
        if sincePublish >= 4_096 { publish() }
        return 0
    }

    /// Applies a policy handed over since the last batch, before any packet of the next.
    private func takePendingPolicy() {
        guard shared.policyPending.exchange(false, ordering: .acquiring) else { return }
        if let next = shared.policy.withLock({ state -> AdmissionPolicy? in
            defer { state.pending = nil }
            return state.pending
        }) {
            filter.reconfigure(with: next)
            logger.notice("inline: admission policy replaced", metadata: ["max_retry": "\(next.maxRetry)"])
        }
        if case .some(let limits) = shared.pendingLimits.withLock({ pending in
            defer { pending = nil }
            return pending
        }) {
            filter.replaceSourceLimits(limits)
        }
    }

    private func publish() {
        sincePublish = 0
        shared.verdicts.store(verdicts, ordering: .relaxed)
        shared.accepted.store(accepted, ordering: .relaxed)
        shared.dropped.store(dropped, ordering: .relaxed)
        shared.absorbed.store(absorbed, ordering: .relaxed)
        let f = filter.statistics
        let a = filter.controller.statistics
        shared.snapshot.withLock {
            $0.filter = f
            $0.admission = a
        }
    }

    private static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000)
    }
}
