// SPDX-License-Identifier: GPL-2.0-or-later

// The intelligence store's benchmark (release, one module, no SwiftPM): bench/intel/run.sh.
//   intel-bench generate FILE [v4rows v6rows]  writes a full-size ip2asn combined table
//   intel-bench load FILE                      load time (wall and CPU) and memory
//   intel-bench lookup FILE [millions]         lookups per second on one core
#if canImport(Glibc)
import Glibc
#endif

/// Deterministic generator (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: UInt64) -> UInt64 { next() % n }
}

func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func wallSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A field of /proc/self/status in kB (VmRSS, VmHWM).
func status(_ key: String) -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return -1 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasPrefix(key + ":") {
            return Int(s.dropFirst(key.count + 1).filter { $0.isNumber }) ?? -1
        }
    }
    return -1
}

/// `x` with `digits` decimals (no Foundation).
func fixed(_ x: Double, _ digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let v = (x * scale).rounded() / scale
    var text = "\(v)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return text
}

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fatalError("cannot open \(path)") }
    defer { fclose(f) }
    fseek(f, 0, SEEK_END)
    let size = ftell(f)
    fseek(f, 0, SEEK_SET)
    var bytes = [UInt8](repeating: 0, count: size)
    let n = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, size, f) }
    precondition(n == size)
    return bytes
}

// MARK: generate

let countries = ["US", "DE", "FR", "GB", "NL", "JP", "CN", "BR", "RU", "IN", "AU", "CA", "IT", "ES", "SE", "PL", "UA", "KR",
                 "SG", "HK", "ZA", "NG", "KE", "AR", "MX", "CL", "TR", "IR", "ID", "VN", "TH", "EU", "CH", "AT", "BE", "CZ"]
let words = ["NET", "TELECOM", "HOSTING", "CLOUD", "COMMUNICATIONS", "Networks", "Inc.", "Ltd", "GmbH", "S.A.", "Broadband",
             "Internet", "Services", "DATACENTER", "ISP", "Mobile", "Fiber", "Group", "Holding", "Solutions"]

func generate(_ path: String, v4Rows: Int, v6Rows: Int) {
    var rng = SplitMix64(state: 0x5157_4152_4445_4E21)
    // ~80 k ASes, each with a name of realistic length.
    let asCount = 80_000
    var asns: [UInt32] = []
    var names: [String] = []
    var ccs: [String] = []
    for i in 0..<asCount {
        asns.append(UInt32(1 + rng.below(400_000)) + (i % 7 == 0 ? 200_000 : 0))
        var name = "AS\(i)-" + words[Int(rng.below(UInt64(words.count)))]
        for _ in 0..<rng.below(5) { name += " " + words[Int(rng.below(UInt64(words.count)))] }
        names.append(name)
        ccs.append(countries[Int(rng.below(UInt64(countries.count)))])
    }
    var out: [UInt8] = []
    out.reserveCapacity(v4Rows * 52 + v6Rows * 90)
    func row(_ s: String, _ e: String, routed: Bool) {
        if routed {
            let k = Int(rng.below(UInt64(asCount)))
            out.append(contentsOf: "\(s)\t\(e)\t\(asns[k])\t\(ccs[k])\t\(names[k])\n".utf8)
        } else {
            out.append(contentsOf: "\(s)\t\(e)\t0\tNone\tNot routed\n".utf8)
        }
    }
    // IPv4: 1.0.0.0 – 223.255.255.255 cut into v4Rows ranges (multiples of 256, not CIDR-aligned), ~25 % gaps.
    var cursor: UInt64 = 16_777_216
    let v4End: UInt64 = 3_758_096_383
    for i in 0..<v4Rows {
        let left = v4End - cursor + 1
        let mean = left / UInt64(v4Rows - i) / 256
        let blocks = i == v4Rows - 1 ? left / 256 : max(1, mean / 4 + rng.below(max(1, mean * 3 / 2)))
        let end = min(cursor + blocks * 256 - 1, v4End)
        row(IPAddress.v4(UInt32(cursor)).description, IPAddress.v4(UInt32(end)).description, routed: rng.below(4) != 0)
        cursor = end + 1
        if cursor > v4End { break }
    }
    // IPv6: 2001:200:: – 2c0f:ffff:… cut into v6Rows ranges of whole /48s, ~25 % gaps.
    var c6 = UInt128(0x2001_0200) << 96
    let v6End = (UInt128(0x2c10) << 112) - 1
    let unit = UInt128(1) << 80
    for i in 0..<v6Rows {
        let left = (v6End - c6 + 1) / unit
        let mean = left / UInt128(v6Rows - i)
        let units = i == v6Rows - 1 ? left : max(1, mean / 4 + UInt128(rng.below(UInt64(max(1, mean * 3 / 2)))))
        let end = min(c6 + units * unit - 1, v6End)
        func text(_ k: UInt128) -> String { IPAddress.v6(UInt64(truncatingIfNeeded: k >> 64), UInt64(truncatingIfNeeded: k)).description }
        row(text(c6), text(end), routed: rng.below(4) != 0)
        c6 = end + 1
        if c6 > v6End { break }
    }
    guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    _ = out.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
    print("wrote \(path): \(out.count) bytes")
}

// MARK: load

func load(_ path: String) -> (IntelStore, wall: Double, cpu: Double, rowsV4: Int, rowsV6: Int, bytes: Int) {
    let w0 = wallSeconds(), c0 = cpuSeconds()
    let bytes = readFile(path)
    let dataset: IntelDataset
    do {
        dataset = try IntelParser.parse(bytes: bytes, format: nil, name: "ip2asn")
    } catch {
        fatalError("\(path):\(error)")
    }
    let store = IntelStore(datasets: [dataset])
    return (store, wallSeconds() - w0, cpuSeconds() - c0, dataset.ipv4Count, dataset.ipv6Count, bytes.count)
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    print("usage: intel-bench generate|load|lookup FILE")
    exit(2)
}
switch args[1] {
case "generate":
    generate(args[2], v4Rows: args.count > 3 ? Int(args[3])! : 520_000, v6Rows: args.count > 4 ? Int(args[4])! : 140_000)
case "load":
    let rss0 = status("VmRSS")
    let (store, wall, cpu, v4, v6, size) = load(args[2])
    let rss1 = status("VmRSS")
    let peak = status("VmHWM")
    print("file: \(size) bytes; stored ranges: \(v4) IPv4 + \(v6) IPv6 (routed rows)")
    print("load (read + parse + build): \(fixed(wall, 3)) s wall, \(fixed(cpu, 3)) s CPU")
    print("RSS before \(rss0 / 1024) MB, after \(rss1 / 1024) MB: delta \(fixed(Double(rss1 - rss0) / 1024, 1)) MB (file buffer freed); peak during load \(peak / 1024) MB")
    withExtendedLifetime(store) {}
case "lookup":
    let (store, _, _, _, _, _) = load(args[2])
    let millions = args.count > 3 ? Int(args[3])! : 20
    var rng = SplitMix64(state: 42)
    var addresses: [IPAddress] = []
    for _ in 0..<1_000_000 {
        if rng.below(5) == 0 {
            let hi = (UInt64(0x2001_0200) << 32) &+ rng.below(UInt64(0x2c10_0000_0000_0000) - (UInt64(0x2001_0200) << 32))
            addresses.append(.v6(hi, rng.next()))
        } else {
            addresses.append(.v4(UInt32(16_777_216 + rng.below(3_741_319_168))))
        }
    }
    var hits = 0
    let c0 = cpuSeconds(), w0 = wallSeconds()
    for _ in 0..<millions {
        for a in addresses {
            let m = store.match(a)
            if m.asnRange != nil { hits &+= 1 }
        }
    }
    let cpu = cpuSeconds() - c0, wall = wallSeconds() - w0
    let n = Double(millions) * 1e6
    print("match: \(millions) M lookups (80 % IPv4, 20 % IPv6, uniform) in \(fixed(cpu)) s CPU (\(fixed(wall)) s wall): "
        + "\(fixed(n / cpu / 1e6)) M lookups/s per core, \(fixed(cpu / n * 1e9, 0)) ns each; \(fixed(Double(hits) / n * 100, 0)) % routed")
    // The full answer with strings (what `intel lookup` and enrichment use).
    var names = 0
    let c1 = cpuSeconds()
    for a in addresses {
        if store.lookup(a).enrichment.asName != nil { names &+= 1 }
    }
    let cpu1 = cpuSeconds() - c1
    print("lookup with enrichment values (strings, prefix): 1 M in \(fixed(cpu1)) s CPU: \(fixed(1 / cpu1)) M/s; \(names) named")
default:
    print("unknown command \(args[1])")
    exit(2)
}
