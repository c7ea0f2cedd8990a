// SPDX-License-Identifier: GPL-2.0-or-later

import ArgumentParser
import SIPWarden

#if canImport(Glibc)
    import Glibc
#endif

/// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
enum ExitStatus {
    static let runtimeFailure: Int32 = 1
    static let usage: Int32 = 2
}

/// Writes a message to standard error (unbuffered, no shared C `FILE*`).
func printError(_ message: String) {
    var text = message + "\n"
    text.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

do {
    var command = try SipWardenCommand.parseAsRoot(RunCommand.expandingBareJournal(Array(CommandLine.arguments.dropFirst())))
    try command.run()
} catch let error as ConfigurationError {
    printError("sipwarden: \(error)")
    exit(ExitStatus.usage)
} catch let error as RuntimeFailure {
    printError("sipwarden: \(error)")
    exit(ExitStatus.runtimeFailure)
} catch {
    let code = SipWardenCommand.exitCode(for: error)
    if code == .success {
        SipWardenCommand.exit(withError: error) // --help, --version
    }
    let message = SipWardenCommand.fullMessage(for: error)
    if !message.isEmpty { printError(message) }
    // ArgumentParser uses 64 for usage errors; our contract says 2.
    exit(code == .validationFailure ? ExitStatus.usage : ExitStatus.runtimeFailure)
}
