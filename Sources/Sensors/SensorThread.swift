// SPDX-License-Identifier: GPL-2.0-or-later

import DedicatedThreads
import Logging

/// A sensor's own thread and the signal that stops it: the one way the tailer, the
/// capture, the HEP listener and the NFLOG listener start and stop their loops.
struct SensorThread: Sendable {
    let thread: PosixThread
    let signal: StopSignal

    /// Starts `loop` on a new thread that first asks for `priority`; when it cannot get
    /// it, it logs why (`name` keeps normal scheduling) and runs all the same.
    ///
    /// As with `PosixThread`, `loop` need not be `Sendable`: what it captures belongs to
    /// the new thread from now on.
    init(
        _ name: String, priority: SensorPriority, signal: StopSignal, logger: Logger,
        metadata: Logger.Metadata = [:], loop: @escaping () -> Void
    ) throws(PosixThread.StartFailure) {
        self.signal = signal
        // "tail thread" → "sw-tail", "NFLOG receive thread" → "sw-nflog" (ps -L, perf).
        let threadName = "sw-" + (name.split(separator: " ").first.map { $0.lowercased() } ?? "sensor")
        thread = try PosixThread(name: threadName) {
            if let problem = priority.applyToCurrentThread() {
                logger.warning("\(name) keeps normal scheduling: \(problem)", metadata: metadata)
            }
            loop()
        }
    }

    /// Signals the loop to end and waits for the thread. Called on the thread itself (a
    /// handler stopping its own sensor), it only signals and detaches.
    func stop() {
        signal.signal()
        if thread.isCurrent {
            thread.detach()
        } else {
            thread.join()
        }
    }
}
