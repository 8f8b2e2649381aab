import Foundation

/// Reading whole files, with errors that name them.
public enum FileBytes {
    /// The bytes of `path`.
    /// - Throws: ``DataError/fileNotFound(path:)`` or ``DataError/unreadable(path:reason:)``.
    public static func read(_ path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw DataError.fileNotFound(path: path) }
        guard !isDirectory.boolValue else { throw DataError.unreadable(path: path, reason: "it is a directory; give a file") }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DataError.unreadable(path: path, reason: FileManager.default.isReadableFile(atPath: path) ? error.localizedDescription : "permission denied")
        }
    }
}
