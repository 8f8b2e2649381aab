import Foundation

/// Runs the built `latent` executable, as a user would.
public enum CommandRunner {
    public struct Result: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// The `latent` binary built beside the test bundle.
    public static let executable: URL? = {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [here, here.deletingLastPathComponent(),
                          TestData.packageRoot.appendingPathComponent(".build/release"),
                          TestData.packageRoot.appendingPathComponent(".build/debug")]
        return candidates.map { $0.appendingPathComponent("latent") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `latent` with `arguments` and waits for it; `environment` adds to (or overrides) the
    /// variables it inherits.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        guard let executable else { throw CocoaError(.fileNoSuchFile) }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes while the process runs, so a large output cannot block it. The reader
        // hands its bytes over through a semaphore, which orders its write before our read.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let done = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        Thread {
            errBox.data = errHandle.readDataToEndOfFile()
            done.signal()
        }.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        done.wait()
        let errData = errBox.data
        return Result(status: process.terminationStatus,
                      standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errData, as: UTF8.self))
    }
}
