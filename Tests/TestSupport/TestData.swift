import Foundation
import Latent

/// Locations of the real data sets and helpers shared by the test targets.
public enum TestData {
    /// Whether this process runs under AddressSanitizer or ThreadSanitizer (their shadow memory
    /// inflates every resident size, so memory bounds do not apply): a runtime's entry point is then linked in.
    public static var isSanitized: Bool { dlsym(nil, "__asan_init") != nil || dlsym(nil, "__tsan_init") != nil }

    /// The package root, found from this file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The bundled real data sets: `Data/` in the package (see its README for provenance).
    public static let dataDirectory: URL = packageRoot.appendingPathComponent("Data")

    /// Path of a bundled data file.
    public static func path(_ name: String) -> String { dataDirectory.appendingPathComponent(name).path }

    /// Loads the named numeric columns of a bundled CSV file.
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
