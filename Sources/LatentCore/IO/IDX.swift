import Foundation

/// The IDX format of the MNIST files: a big-endian header (magic, dimensions) and unsigned bytes.
public enum IDX {
    /// Reads an IDX file of unsigned bytes. The first dimension becomes the rows and the others are
    /// flattened into columns (a 28 × 28 image becomes 784 columns). Values are the raw bytes 0…255.
    public static func read(path: String) throws -> Matrix<Double> {
        let data = try FileBytes.read(path)
        return try decode(data, source: path)
    }

    /// Decodes IDX bytes; `source` names them in errors.
    public static func decode(_ data: Data, source: String) throws -> Matrix<Double> {
        let bytes = [UInt8](data)
        guard !bytes.isEmpty else { throw DataError.emptyFile(path: source) }
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw DataError.corrupt(path: source, reason: "not an IDX file (bad magic number)")
        }
        guard bytes[2] == 0x08 else {
            throw DataError.unsupportedFormat(path: source, reason: "IDX element type 0x\(String(bytes[2], radix: 16)) is not supported (unsigned bytes, 0x08, are)")
        }
        let dims = Int(bytes[3])
        guard dims >= 1, bytes.count >= 4 + 4 * dims else {
            throw DataError.corrupt(path: source, reason: "truncated IDX header")
        }
        var shape: [Int] = []
        for d in 0..<dims {
            let o = 4 + 4 * d
            shape.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let start = 4 + 4 * dims
        guard let count = CheckedSize.elements(shape, width: 1, available: bytes.count - start), count == bytes.count - start, count > 0 else {
            throw DataError.corrupt(path: source, reason: "the header's dimensions \(shape.map(String.init).joined(separator: " × ")) do not match the \(bytes.count - start) bytes of data")
        }
        let rows = shape[0]
        let columns = count / rows
        return Matrix(rows: rows, columns: columns, storage: bytes[start...].map(Double.init))
    }
}
