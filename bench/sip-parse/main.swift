// SPDX-License-Identifier: GPL-2.0-or-later

// Decoding-speed benchmark for SIPMessage (built by bench/sip-parse/run.sh with swiftc -O,
// module sources compiled in, no SwiftPM). Also prints the RFC 4475 classification table
// with `--classify DIR`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let register = Array((
    "REGISTER sip:198.18.0.2 SIP/2.0\r\n"
    + "Via: SIP/2.0/UDP 198.18.0.66:5071;branch=z9hG4bK-2715436148;rport\r\n"
    + "Max-Forwards: 70\r\n"
    + "To: \"100\" <sip:100@198.18.0.2>\r\n"
    + "From: \"100\" <sip:100@198.18.0.2>;tag=3331373234363539333563340133383331393831393331\r\n"
    + "User-Agent: friendly-scanner\r\n"
    + "Call-ID: 1024567817838148726335470\r\n"
    + "Contact: sip:100@198.18.0.66:5071\r\n"
    + "CSeq: 2 REGISTER\r\n"
    + "Authorization: Digest username=\"100\", realm=\"asterisk\", nonce=\"4b3e5c2a\", "
    + "uri=\"sip:198.18.0.2\", response=\"9c1e4d9bd0d5c8b7b2f2a8c7e6d5c4b3\", algorithm=MD5\r\n"
    + "Accept: application/sdp\r\n"
    + "Expires: 3600\r\n"
    + "Content-Length: 0\r\n\r\n").utf8)

let challenge = Array((
    "SIP/2.0 401 Unauthorized\r\n"
    + "Via: SIP/2.0/UDP 198.18.0.66:5071;branch=z9hG4bK-2715436148;received=198.18.0.66;rport=5071\r\n"
    + "From: \"100\" <sip:100@198.18.0.2>;tag=3331373234363539333563340133383331393831393331\r\n"
    + "To: \"100\" <sip:100@198.18.0.2>;tag=as2e95fad1\r\n"
    + "Call-ID: 1024567817838148726335470\r\n"
    + "CSeq: 2 REGISTER\r\n"
    + "Server: Asterisk PBX 20.5.0\r\n"
    + "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE\r\n"
    + "Supported: replaces, timer\r\n"
    + "WWW-Authenticate: Digest algorithm=MD5, realm=\"asterisk\", nonce=\"4b3e5c2a\"\r\n"
    + "Content-Length: 0\r\n\r\n").utf8)

let sdp = "v=0\r\no=- 3874569 3874569 IN IP4 198.18.0.66\r\ns=call\r\nc=IN IP4 198.18.0.66\r\n"
    + "t=0 0\r\nm=audio 10000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    + "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
let invite = Array((
    "INVITE sip:900441234567890@198.18.0.2 SIP/2.0\r\n"
    + "Via: SIP/2.0/UDP 198.18.0.66:5071;branch=z9hG4bK-d8754z-1f2e3d4c5b6a;rport\r\n"
    + "Max-Forwards: 70\r\n"
    + "Contact: <sip:100@198.18.0.66:5071>\r\n"
    + "To: <sip:900441234567890@198.18.0.2>\r\n"
    + "From: \"100\" <sip:100@198.18.0.2>;tag=8a7b6c5d\r\n"
    + "Call-ID: YjQ2ZGQ1ZTc0NjM1MmQ0ZTk1ZDU3NmQ0MjU0ZTU2NDE.\r\n"
    + "CSeq: 1 INVITE\r\n"
    + "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO\r\n"
    + "Content-Type: application/sdp\r\n"
    + "Supported: replaces\r\n"
    + "User-Agent: Zoiper rv2.8.20\r\n"
    + "Content-Length: \(sdp.utf8.count)\r\n\r\n" + sdp).utf8)

func bench(extract: Bool, rounds: Int) -> (perSecond: Double, bytes: Int, checksum: Int) {
    let messages = [register, challenge, invite]
    var checksum = 0
    var bytes = 0
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        for _ in 0..<rounds {
            for message in messages {
                message.withUnsafeBytes { raw in
                    guard let view = try? SIPMessageView(parsing: raw) else { fatalError("benchmark message rejected") }
                    checksum &+= view.message.headers.count &+ Int(view.message.cseqNumber)
                    if extract {
                        checksum &+= view.callID.utf8.count
                        checksum &+= (view.fromUser?.utf8.count ?? 0) &+ (view.userAgent?.utf8.count ?? 0)
                        checksum &+= view.authorizationUsername?.utf8.count ?? 0
                        checksum &+= view.topViaBranch?.utf8.count ?? 0
                    }
                    bytes &+= raw.count
                }
            }
        }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (Double(rounds * messages.count) / seconds, bytes, checksum)
}

func classify(_ dir: String) {
    // Minimal file reading without Foundation: the index lists the files.
    func read(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }
    guard let index = read(dir + "/index.tsv") else { fatalError("no index.tsv in \(dir)") }
    var agree = 0
    var total = 0
    print("| file | expected | ours | reason |")
    print("|---|---|---|---|")
    for line in String(decoding: index, as: UTF8.self).split(separator: "\n").dropFirst() {
        let cols = line.split(separator: "\t")
        guard cols.count >= 3, let bytes = read(dir + "/" + cols[0]) else { continue }
        total += 1
        let expected = String(cols[1])
        let ours: String
        let reason: String
        do {
            let m = try SIPMessage(parsing: bytes)
            ours = "valid"
            reason = m.endOffset < bytes.count ? "accepted; \(bytes.count - m.endOffset) trailing octets ignored" : "accepted"
        } catch {
            ours = "invalid"
            reason = error.description
        }
        if ours == expected { agree += 1 }
        print("| \(cols[0]) | \(expected) | \(ours) | \(reason) |")
    }
    print("\nagreement: \(agree)/\(total)")
}

@main
struct Bench {
    static func main() {
        let args = CommandLine.arguments
        if args.count >= 3, args[1] == "--classify" {
            classify(args[2])
            return
        }
        let rounds = args.count >= 2 ? Int(args[1]) ?? 300_000 : 300_000
        _ = bench(extract: true, rounds: 10_000) // warm-up
        for extract in [false, true] {
            var best = 0.0
            var info = (perSecond: 0.0, bytes: 0, checksum: 0)
            for _ in 0..<5 {
                info = bench(extract: extract, rounds: rounds)
                best = max(best, info.perSecond)
            }
            let avgSize = info.bytes / (rounds * 3)
            print(extract ? "parse + extract 5 Strings:" : "parse only:",
                  "\(Int(best)) msgs/s (best of 5, \(rounds * 3) messages, avg \(avgSize) B/msg,",
                  "\(Int(best * Double(avgSize) / 1e6)) MB/s, checksum \(info.checksum))")
        }
    }
}
