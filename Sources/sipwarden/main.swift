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

do {
    var command = try SipWardenCommand.parseAsRoot()
    try command.run()
} catch let error as ConfigurationError {
    fputs("sipwarden: \(error)\n", stderr)
    exit(ExitStatus.usage)
} catch let error as RuntimeFailure {
    fputs("sipwarden: \(error)\n", stderr)
    exit(ExitStatus.runtimeFailure)
} catch {
    let code = SipWardenCommand.exitCode(for: error)
    if code == .success {
        SipWardenCommand.exit(withError: error) // --help, --version
    }
    let message = SipWardenCommand.fullMessage(for: error)
    if !message.isEmpty { fputs("\(message)\n", stderr) }
    // ArgumentParser uses 64 for usage errors; our contract says 2.
    exit(code == .validationFailure ? ExitStatus.usage : ExitStatus.runtimeFailure)
}
