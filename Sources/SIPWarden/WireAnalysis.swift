// SPDX-License-Identifier: GPL-2.0-or-later

public import Detection
public import IntelStore
public import PacketDecoding
import SIPCorrelation
public import WardenCore

#if canImport(Glibc)
    import Glibc
#endif

/// `sipwarden events --pcap` and `replay --pcap`: capture files through the same packet
/// decoder and transaction correlator as the live wire sensors.
public enum WireAnalysis {
    /// Decodes every frame of each capture file (pcap or pcapng) and calls `body` with each
    /// security event, in frame order. Events carry the 1-based frame number that completed them.
    public static func decode(files: [String], ports portSet: PortSet = .sipDefault, _ body: (SecurityEvent) -> Void) throws(RuntimeFailure) {
        for file in files {
            let fd = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw RuntimeFailure("\(file): cannot open: \(String(cString: strerror(errno)))") }
            defer { if fd != 0 { close(fd) } }
            var reader = CaptureFileReader { buffer in
                while true {
                    let n = read(fd, buffer.baseAddress, buffer.count)
                    if n < 0 && errno == EINTR { continue }
                    return n
                }
            }
            var decoder = PacketDecoder(configuration: PacketDecoder.Configuration(ports: portSet))
            var correlator = SIPCorrelator(configuration: CorrelatorConfiguration(sipPorts: portSet.portNumbers))
            var last = Timestamp(microseconds: 0)
            do {
                try reader.forEachFrame { frame in
                    last = frame.timestamp
                    decoder.decode(linkType: frame.linkType, timestamp: frame.timestamp, frame: frame.bytes, origin: .frame(frame.number)) { output in
                        correlator.ingest(output, sensor: file, emit: body)
                    }
                }
            } catch {
                throw RuntimeFailure("\(file): \(error)")
            }
            decoder.finish(time: last) { output in correlator.ingest(output, sensor: file, emit: body) }
            // The capture ended: requests still waiting for an outcome are judged as if the
            // outcome timeout had passed (unanswered, abandoned challenges).
            let end = last + correlator.configuration.floodOutcomeTimeout
            correlator.expire(now: end, sensor: file, emit: body)
        }
    }

    /// Writes one JSON object per event (JSON Lines) for capture files.
    /// With `intel`, each event carries what the store knows of its source.
    public static func printEvents(files: [String], ports: PortSet = .sipDefault, intel: IntelStore? = nil) throws(RuntimeFailure) {
        let out = OutputStream(fd: 1)
        var writer = JSONLineWriter(reservingCapacity: 1 << 20)
        var failure: RuntimeFailure?
        try decode(files: files, ports: ports) { event in
            writer.append(event, enrichment: intel?.enrichment(for: event.source))
            if writer.bytes.count >= 1 << 20, failure == nil {
                do throws(RuntimeFailure) { try out.write(writer.bytes) } catch { failure = error }
                writer.removeAll()
            }
        }
        if let failure { throw failure }
        try out.write(writer.bytes)
    }

    /// Detection over the events of capture files, on the packets' own timestamps.
    public static func replay(files: [String], ports: PortSet = .sipDefault, policy: DetectionPolicy) throws(RuntimeFailure) -> [Verdict] {
        if files.count == 1 {
            // One capture is in time order already: judge as it is decoded, in constant memory.
            var judge = ReplayJudge(policy: policy)
            try decode(files: files, ports: ports) { judge.observe($0) }
            return judge.verdicts
        }
        var events: [SecurityEvent] = []
        try decode(files: files, ports: ports) { events.append($0) }
        return OfflineAnalysis.judge(events, policy: policy)
    }
}

extension PortSet {
    /// Every port in the set (SIP port lists are short ranges).
    var portNumbers: Set<UInt16> {
        var out = Set<UInt16>()
        for r in ranges { for p in r { out.insert(p) } }
        return out
    }
}
