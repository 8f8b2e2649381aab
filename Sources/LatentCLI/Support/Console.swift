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

    /// Warnings about the input data (columns skipped, say), kept so that ``printJSON(_:)`` can
    /// put them in `warnings`; written to standard error too unless `quiet`.
    static func dataWarning(_ message: String, quiet: Bool) {
        if !quiet { note(message) }
        dataWarnings.withLock { $0.append(message) }
    }

    private static let dataWarnings = Locked<[String]>([])

    /// Writes a `--json` document: `object` with the data warnings gathered so far added to its
    /// `warnings` (the key is created when there are any).
    static func printJSON(_ object: JSONObject) {
        var o = object
        let notes = dataWarnings.withLock { $0 }
        if !notes.isEmpty {
            var all = notes.map { JSONValue.string($0) }
            if case .array(let existing)? = o["warnings"] { all = existing + all }
            o["warnings"] = .array(all)
        }
        print(o.render() + "\n")
    }

    /// While set, standard-output text is collected here instead of written: `latent compare` runs
    /// `fit` and `score` in-process and reads their `--json` documents.
    private static let captured = Locked<String?>(nil)

    /// Writes text to standard output (or to the capture of ``capturingOutput(_:)``).
    static func print(_ text: String) {
        let isCaptured = captured.withLock { buffer -> Bool in
            guard buffer != nil else { return false }
            buffer! += text
            return true
        }
        if !isCaptured { FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    /// Runs `body` and returns what it wrote to standard output instead of writing it.
    static func capturingOutput(_ body: () throws -> Void) throws -> String {
        captured.withLock { $0 = "" }
        defer { captured.withLock { $0 = nil } }
        try body()
        return captured.withLock { $0 ?? "" }
    }

    /// Rows of output text rendered and written per block, so that per-row output never builds
    /// the whole text in memory.
    static let outputBlockRows = 4096

    /// Writes `header` and then the rows of `rows` as CSV, ``outputBlockRows`` at a time.
    static func printCSV(header: [String], rows: Matrix<Double>) {
        if !header.isEmpty { print(header.joined(separator: ",") + "\n") }
        var start = 0
        while start < rows.rows {
            let end = min(rows.rows, start + outputBlockRows)
            print(CSV.render(rows: rows, start..<end))
            start = end
        }
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
extension Console {
    /// This process's peak resident memory so far (Linux `VmHWM`), in MB; nil where unknown.
    static func peakResidentMegabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }
}

struct CommandLineError: Error, CustomStringConvertible {
    let description: String

    /// Runs `body`, adding `hint` to the message of a degenerate fit.
    static func hinting<T>(_ hint: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch ModelError.degenerateFit(let message) {
            throw CommandLineError(description: message + " " + hint)
        }
    }
}

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
