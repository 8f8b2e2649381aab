import ArgumentParser
import Foundation
import Latent

/// Standard output and error, and small helpers shared by the commands.
enum Console {
    /// Writes a line to standard error.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Writes a warning to standard error.
    static func warn(_ message: String) { note("warning: \(message)") }

    /// Writes text to standard output.
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Fails early, before any work, if `output` cannot be written or is one of the inputs (see
    /// ``OutputTarget/check(_:inputs:)``). `inputs` pairs a role ("data file") with a path; nil paths
    /// are skipped.
    static func checkOutput(_ output: String, inputs: [(String, String?)]) throws {
        do {
            try OutputTarget.check(output, inputs: inputs.compactMap { role, path in path.map { (role: role, path: $0) } })
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Seconds elapsed while running `body`.
    static func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// A number with `digits` significant digits.
    static func number(_ v: Double, _ digits: Int = 6) -> String { String(format: "%.\(digits)g", v) }
}

/// A failure the command line reports with a hint that names its own flags.
struct CommandLineError: Error, CustomStringConvertible {
    let description: String

    /// Runs `body`, adding `hint` to the message of a degenerate fit.
    static func hinting<T>(_ hint: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch ModelError.degenerateFit(let message) {
            throw CommandLineError(description: message + " " + hint)
        }
    }
}
