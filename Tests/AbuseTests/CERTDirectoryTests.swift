// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import Abuse

@Suite("National CERT directory (the operator's file)")
struct CERTDirectoryTests {
    @Test func entriesWithMailFormOrBothCommentsAndBlankLines() throws {
        let text = """
            # country  contact(s)

            de  cert@example.org   # a comment after the entry
            NL\thttps://cert.example.nl/report incident@example.nl\r
            FR https://cert.example.fr/form
            """
        let directory = try CERTDirectory(parsing: text)
        #expect(directory.entries.count == 3)
        #expect(directory.entry(forCountry: "DE")?.email == "cert@example.org")
        #expect(directory.entry(forCountry: "de")?.webForm == nil)
        let nl = try #require(directory.entry(forCountry: "nl"))
        #expect(nl.email == "incident@example.nl")
        #expect(nl.webForm?.absoluteString == "https://cert.example.nl/report")
        #expect(directory.entry(forCountry: "FR")?.email == nil)
        #expect(directory.entry(forCountry: "FR")?.webForm?.host == "cert.example.fr")
        #expect(directory.entry(forCountry: "US") == nil)
        #expect(CERTDirectory().entries.isEmpty)
    }

    @Test(arguments: [
        ("DEU cert@example.org", 1, "not a two-letter country code"),
        ("D1 cert@example.org", 1, "not a two-letter country code"),
        ("DE", 1, "has no contact"),
        ("DE a@example.org\nde b@example.org", 2, "listed twice"),
        ("DE a@example.org b@example.org", 1, "two e-mail addresses"),
        ("DE https://a.example https://b.example", 1, "two web forms"),
        ("DE a@example.org https://a.example extra@example.org", 1, "at most one"),
        ("DE http://cert.example.org/form", 1, "neither an e-mail address nor"),
        ("DE https://", 1, "not a valid https URL"),
        ("# ok\nDE \"x\"@example.org", 2, "neither an e-mail address nor"),
        ("DE a@example.org,b@example.org", 1, "neither an e-mail address nor"),
        ("DE a@localhost", 1, "neither an e-mail address nor"),
        ("DE <a@example.org>", 1, "neither an e-mail address nor"),
    ])
    func badLinesAreRefusedWithTheirLine(text: String, line: Int, reason: String) {
        do {
            _ = try CERTDirectory(parsing: text, name: "certs.txt")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.file == "certs.txt")
            #expect(error.line == line, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
            #expect(error.description.hasPrefix("certs.txt:\(line): "))
        }
    }

    @Test func arbitraryBytesNeverCrashTheParser() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("DEFRNL @.:/#\t\r\nhttps-abc\"<>,é\u{0}".unicodeScalars)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0..<80, using: &generator)
            var text = String.UnicodeScalarView()
            for _ in 0..<length { text.append(alphabet.randomElement(using: &generator)!) }
            if let directory = try? CERTDirectory(parsing: String(text)) {
                for entry in directory.entries.values {
                    #expect(entry.email != nil || entry.webForm != nil)
                    #expect(entry.country.count == 2)
                }
            }
        }
    }
}
