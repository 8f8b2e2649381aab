import Foundation

/// A source of rows read a block at a time: data larger than memory.
public protocol RowBlocks {
    /// Rows in the source.
    var rowCount: Int { get }
    /// Columns of every row.
    var columnCount: Int { get }
    /// What errors call the source (a file path).
    var sourceName: String { get }
    /// Rows `range` as a `range.count × columnCount` matrix.
    func rows(_ range: Range<Int>) throws -> Matrix<Double>
}

extension Matrix: RowBlocks where Scalar == Double {
    public var rowCount: Int { rows }
    public var columnCount: Int { columns }
    public var sourceName: String { "the data" }
    public func rows(_ range: Range<Int>) throws -> Matrix<Double> { selectingRows(range) }
}

/// The rows of a C-order `.npy` file, read a block at a time with positioned reads: memory holds
/// one block, whatever the file's size.
public final class NumPyRowReader: RowBlocks {
    public let path: String
    public let layout: NumPy.Layout
    private let handle: FileHandle
    private let fileSize: Int

    /// Opens `path` and reads its header.
    /// - Throws: ``DataError`` naming the file when it is missing, not a valid `.npy` file, or
    ///   stored in Fortran order (whose rows are not contiguous).
    public init(path: String) throws {
        self.path = path
        let handle = try FileHandle.forReadingRows(path)
        self.handle = handle
        fileSize = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        var prefix = [UInt8](try handle.read(upToCount: 12) ?? Data())
        if prefix.count >= 10 {
            let length = prefix[6] == 1 ? Int(prefix[8]) | Int(prefix[9]) << 8
                : prefix.count >= 12 ? Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24 : 0
            let headerEnd = (prefix[6] == 1 ? 10 : 12) + min(length, max(0, fileSize - 12))
            try handle.seek(toOffset: 0)
            prefix = [UInt8](try handle.read(upToCount: headerEnd) ?? Data())
        }
        layout = try NumPy.Layout(prefix, source: path, fileSize: fileSize)
        guard !layout.fortranOrder else {
            throw DataError.unsupportedFormat(path: path, reason: "a Fortran-order array cannot be read a block of rows at a time; save it in C order (numpy.ascontiguousarray)")
        }
    }

    deinit { try? handle.close() }

    public var rowCount: Int { layout.rows }
    public var columnCount: Int { layout.columns }
    public var sourceName: String { path }

    /// Rows `range`. - Throws: ``DataError/corrupt(path:reason:)`` if the file is shorter than its
    /// header said (it changed while being read). - Complexity: one read of `range.count` rows.
    public func rows(_ range: Range<Int>) throws -> Matrix<Double> {
        precondition(range.lowerBound >= 0 && range.upperBound <= rowCount, "Rows \(range) outside 0..<\(rowCount)")
        let rowBytes = layout.columns * layout.width
        try handle.seek(toOffset: UInt64(layout.dataOffset + range.lowerBound * rowBytes))
        let data = try handle.read(upToCount: range.count * rowBytes) ?? Data()
        guard data.count == range.count * rowBytes else {
            throw DataError.corrupt(path: path, reason: "the file ended at row \(range.lowerBound + data.count / max(1, rowBytes)) of \(rowCount) (did it change while being read?)")
        }
        var m = Matrix<Double>(rows: range.count, columns: layout.columns)
        data.withUnsafeBytes { raw in
            m.withUnsafeMutableBufferPointer { out in
                for i in 0..<out.count { out[i] = layout.convert(raw.start + i * layout.width) }
            }
        }
        return m
    }
}

extension FileHandle {
    /// A handle for reading the file at `path` in pieces (the readers of data larger than memory).
    /// - Throws: ``DataError`` naming `path` when it is missing, a directory or unreadable.
    static func forReadingRows(_ path: String) throws -> FileHandle {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw DataError.fileNotFound(path: path) }
        guard !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError.unreadable(path: path, reason: isDirectory.boolValue ? "it is a directory; give a file" : "permission denied")
        }
        return handle
    }
}
