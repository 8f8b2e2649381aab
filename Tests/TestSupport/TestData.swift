import Foundation
import Latent

/// Locations of the real data sets and helpers shared by the test targets.
public enum TestData {
    /// The package root, found from this file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/data` beside the package (the real data sets), or `LATENT_DATA` if set.
    public static let sharedDirectory: URL = {
        if let env = ProcessInfo.processInfo.environment["LATENT_DATA"] { return URL(fileURLWithPath: env) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }()

    /// Path of a shared data file.
    public static func path(_ name: String) -> String { sharedDirectory.appendingPathComponent(name).path }

    /// Loads the named numeric columns of a shared CSV file.
    public static func csv(_ name: String, columns: [String]? = nil) throws -> DataTable {
        try CSV.read(path: path(name), columns: columns).table
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latent-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
