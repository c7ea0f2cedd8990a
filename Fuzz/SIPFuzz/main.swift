// SPDX-License-Identifier: GPL-2.0-or-later

// libFuzzer target for the SIPMessage parser and stream framer. Built by Fuzz/sip-build.sh
// together with Sources/SIPMessage/*.swift into one module (no SwiftPM), so the
// module's internal API is visible here.

/// Stops the fuzzer with a message when an invariant does not hold.
@inline(never)
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

/// Reads every accessor and checks every range of a parsed message.
func exercise(_ raw: UnsafeRawBufferPointer, options: SIPParseOptions) -> SIPMessage? {
    guard let view = try? SIPMessageView(parsing: raw, options: options) else { return nil }
    let m = view.message
    require(m.endOffset <= raw.count && m.bodyRange.upperBound == m.endOffset, "body beyond buffer")
    var previous = 0
    for field in m.headers {
        require(field.nameRange.lowerBound >= previous, "headers out of order")
        require(field.nameRange.upperBound <= field.valueRange.lowerBound, "name after value")
        require(field.valueRange.upperBound <= m.bodyRange.lowerBound, "header inside body")
        previous = field.valueRange.upperBound
        _ = view.string(field.valueRange)
    }
    require(m.headers.count <= options.maxHeaderCount, "too many headers")
    if let limit = m.maxForwards { require((0...255).contains(limit), "Max-Forwards range") }
    if let code = m.statusCode { require((100...699).contains(code), "status range") }
    _ = (view.method, view.requestURI, view.requestURIParts, view.reasonPhrase, view.callID, view.cseq)
    _ = (view.topViaBranch, view.topViaSentBy, view.topViaHost, view.topViaTransport)
    _ = (view.fromURI, view.fromUser, view.fromTag, view.fromDisplayName, view.toURI, view.toUser, view.toTag)
    _ = (view.contactURI, view.userAgent, view.authorizationUsername, view.authorizationScheme)
    if let cl = m.contentLength, m.deviation == nil { require(m.bodyRange.count == cl, "body length != Content-Length") }
    if !options.lenient { require(m.deviation == nil, "deviation recorded by a strict parse") }
    return m
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    let datagram = exercise(raw, options: .datagram)
    _ = exercise(raw, options: .stream)
    // Lenient mode accepts every conforming message exactly as the strict parse does.
    let lenient = exercise(raw, options: SIPParseOptions(lenient: true))
    if let datagram { require(lenient == datagram, "lenient parse differs on a conforming message") }
    _ = exercise(raw, options: SIPParseOptions(requireContentLength: true, lenient: true))

    // Framer: feed the input in two chunks, split at a point chosen by the input.
    var framer = SIPStreamFramer(maxMessageSize: 65_535)
    let cut = size == 0 ? 0 : Int(data[0]) % (size + 1)
    var framed: [[UInt8]] = []
    do {
        try framer.append(UnsafeRawBufferPointer(rebasing: raw[0..<cut]))
        while let message = try framer.nextMessage() { framed.append(message) }
        try framer.append(UnsafeRawBufferPointer(rebasing: raw[cut..<size]))
        var rounds = 0
        while let message = try framer.nextMessage() {
            framed.append(message)
            rounds += 1
            require(rounds <= size + 1, "framer loops")
        }
    } catch {}
    let total = framed.reduce(0) { $0 + $1.count }
    require(total <= size, "framer produced more bytes than it was given")

    // Differential check (no request smuggling between framing and parsing): a message
    // the parser accepts with a Content-Length is exactly the framer's first message.
    if let datagram, datagram.contentLength != nil {
        var leading = 0
        while leading < size, data[leading] == 0x0d || data[leading] == 0x0a { leading += 1 }
        let expected = Array(UnsafeBufferPointer(rebasing: UnsafeBufferPointer(start: data, count: size)[leading..<datagram.endOffset]))
        require(framed.first == expected, "framer and parser disagree on the message boundary")
    }
    return 0
}
