import Foundation

/// Reading whole files, with errors that name them.
public enum FileBytes {
    /// The bytes of `path`.
    /// - Throws: ``DataError/fileNotFound(path:)`` or ``DataError/unreadable(path:reason:)``.
    public static func read(_ path: String) throws -> Data {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DataError.unreadable(path: path, reason: error.localizedDescription)
        }
    }
}
