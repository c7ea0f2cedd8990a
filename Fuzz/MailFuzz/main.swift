// SPDX-License-Identifier: GPL-2.0-or-later

//
// libFuzzer target for the answers' parse path (Sources/Abuse/Mail): the intake gate, the
// lenient RFC 5322/MIME reader, the classifier, ticket and address extraction and the
// matcher against a small index. Built by Fuzz/mail-build.sh (NetworkAddress and
// Abuse/Mail as one module), run by Fuzz/mail-run.sh. Besides "never traps": the bounds
// hold (parts, lookups), and a match names a case only through a step that could find it.

import Foundation

let fuzzIndex: InMemoryAnswerIndex = {
    var index = InMemoryAnswerIndex()
    let a = UUID(uuidString: "00000000-0000-4000-8000-000000000001")!
    let b = UUID(uuidString: "00000000-0000-4000-8000-000000000002")!
    index.sent("sipwarden.00000000-0000-4000-8000-000000000001.1@reports.example", for: a)
    index.ticket("2026120312345", for: a)
    index.ticket("abuse #12345", for: b)
    index.open(a, sources: [IPAddress("198.51.100.7")!])
    index.open(b, sources: [IPAddress("198.51.100.7")!, IPAddress("2001:db8::7")!])
    return index
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let message: MailMessage
    switch MailIntake.read(bytes) {
    case .failure(let rejection):
        _ = rejection.description
        // The reader must hold whatever the gate refused, too.
        message = MailMessage(parsing: bytes)
    case .success(let m):
        message = m
    }
    precondition(message.allParts.count <= 1 + 64 + 64 * 64 + 64 * 64 * 64 + 64 * 64 * 64 * 64, "more parts than the bounds allow")
    _ = message.text
    _ = message.subject
    _ = message.referencedMessageIDs
    let matched = AnswerMatcher.match(message, index: fuzzIndex)
    switch matched.match {
    case .unmatched, .ambiguous: precondition(matched.caseID == nil, "a case without a match")
    case .reference, .returnedMessage, .ticket, .address: precondition(matched.caseID != nil, "a match without a case")
    }
    precondition(AnswerMatcher.addresses(in: message.text).count <= AnswerMatcher.maxLookups, "too many addresses")
    precondition(TicketID.all(in: message.text).count <= 64, "too many tickets")
    if matched.classification.kind != .bounce { precondition(matched.failedRecipients.isEmpty, "failed recipients of a non-bounce") }
    return 0
}
