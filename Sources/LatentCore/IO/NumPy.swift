import Foundation

/// NumPy's `.npy` format (versions 1–3): 1-D or 2-D arrays of float64, float32 or integers,
/// little or big endian, C or Fortran order.
public enum NumPy {
    /// Reads a `.npy` file as a matrix (a 1-D array becomes one column).
    public static func read(path: String) throws -> Matrix<Double> {
        let data = try FileBytes.read(path)
        return try decode(data, source: path)
    }

    /// Decodes the bytes of a `.npy` file; `source` names it in errors.
    public static func decode(_ data: Data, source: String) throws -> Matrix<Double> {
        let bytes = [UInt8](data)
        let layout = try Layout(bytes, source: source, fileSize: bytes.count)
        var m = Matrix<Double>(rows: layout.rows, columns: layout.columns)
        bytes.withUnsafeBytes { raw in
            let base = raw.start + layout.dataOffset
            for i in 0..<(layout.rows * layout.columns) { m.storage[i] = layout.convert(base + i * layout.width) }
        }
        if layout.fortranOrder {
            m = Matrix(rows: layout.columns, columns: layout.rows, storage: m.storage).transposed
        }
        return m
    }

    /// What a `.npy` header says: the shape, the order, the element width and decoder, where the
    /// data begin. Every size is checked against the file's length.
    public struct Layout {
        public let rows: Int, columns: Int
        public let fortranOrder: Bool
        public let width: Int
        public let dataOffset: Int
        let convert: (UnsafeRawPointer) -> Double

        /// Parses the header at the start of `bytes` (the whole file, or at least its header) of a
        /// file of `fileSize` bytes.
        init(_ bytes: [UInt8], source: String, fileSize: Int) throws {
            func corrupt(_ why: String) -> DataError { .corrupt(path: source, reason: "not a valid .npy file: \(why)") }
            guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
                if bytes.isEmpty { throw DataError.emptyFile(path: source) }
                throw corrupt("missing the \\x93NUMPY magic")
            }
            let major = bytes[6]
            let headerLength: Int, headerStart: Int
            switch major {
            case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
            case 2, 3:
                guard bytes.count >= 12 else { throw corrupt("truncated header") }
                headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
                headerStart = 12
            default: throw DataError.unsupportedFormat(path: source, reason: ".npy version \(major) is not supported (1, 2 and 3 are)")
            }
            guard bytes.count >= headerStart + headerLength,
                  let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1)
            else { throw corrupt("truncated header") }
            guard let descr = capture(header, key: "descr"), let shapeText = capture(header, key: "shape"),
                  let fortranText = capture(header, key: "fortran_order")
            else { throw corrupt("header lacks descr, fortran_order or shape") }
            let fields = shapeText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let shape = fields.compactMap { Int($0) }
            guard shape.count == fields.count, shape.allSatisfy({ $0 >= 0 }) else { throw corrupt("shape (\(shapeText)) is not a list of non-negative integers") }
            guard shape.count == 1 || shape.count == 2 else {
                throw DataError.unsupportedFormat(path: source, reason: "array of shape (\(shapeText)) is not 1-D or 2-D")
            }
            rows = shape[0]
            columns = shape.count == 2 ? shape[1] : 1
            fortranOrder = fortranText.hasPrefix("True") && shape.count == 2
            guard let order = descr.first else { throw corrupt("the dtype is empty") }
            let littleEndian = order == "<" || order == "|" || order == "="
            switch descr.dropFirst() {
            case "f8": width = 8; convert = { p in Double(bitPattern: UInt64(fromBytes: p, littleEndian: littleEndian)) }
            case "f4": width = 4; convert = { p in Double(Float(bitPattern: UInt32(fromBytes: p, littleEndian: littleEndian))) }
            case "i8": width = 8; convert = { p in Double(Int64(bitPattern: UInt64(fromBytes: p, littleEndian: littleEndian))) }
            case "i4": width = 4; convert = { p in Double(Int32(bitPattern: UInt32(fromBytes: p, littleEndian: littleEndian))) }
            case "i2": width = 2; convert = { p in Double(Int16(bitPattern: UInt16(fromBytes: p, littleEndian: littleEndian))) }
            case "i1": width = 1; convert = { p in Double(Int8(bitPattern: p.load(as: UInt8.self))) }
            case "u8": width = 8; convert = { p in Double(UInt64(fromBytes: p, littleEndian: littleEndian)) }
            case "u4": width = 4; convert = { p in Double(UInt32(fromBytes: p, littleEndian: littleEndian)) }
            case "u2": width = 2; convert = { p in Double(UInt16(fromBytes: p, littleEndian: littleEndian)) }
            case "u1", "b1": width = 1; convert = { p in Double(p.load(as: UInt8.self)) }
            default:
                throw DataError.unsupportedFormat(path: source, reason: "dtype '\(descr)' is not supported (float64, float32 and integer arrays are)")
            }
            dataOffset = headerStart + headerLength
            guard let count = CheckedSize.elements([rows, columns], width: width, available: fileSize - dataOffset) else {
                throw corrupt("the header's shape (\(shapeText)) needs more than the \(fileSize - dataOffset) bytes after it")
            }
            guard count > 0 else {
                // An empty array has nothing to model, and a huge dimension beside a zero one would
                // make every loop over rows or columns spin for nothing.
                throw DataError.unsupportedFormat(path: source, reason: "the array of shape (\(shapeText)) holds no values")
            }
        }
    }

    private static func capture(_ header: String, key: String) -> String? {
        guard let range = header.range(of: "'\(key)':") else { return nil }
        var rest = header[range.upperBound...].drop(while: { $0 == " " })
        if rest.first == "(" {
            rest = rest.dropFirst()
            guard let end = rest.firstIndex(of: ")") else { return nil }
            return String(rest[..<end])
        }
        if rest.first == "'" {
            rest = rest.dropFirst()
            guard let end = rest.firstIndex(of: "'") else { return nil }
            return String(rest[..<end])
        }
        return String(rest.prefix(while: { $0 != "," && $0 != "}" }))
    }

    /// The bytes of a float64, C-order, version 1.0 `.npy` file holding `matrix`.
    public static func encode(_ matrix: Matrix<Double>) -> Data {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(matrix.rows), \(matrix.columns)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let n = header.utf8.count
        data.append(contentsOf: [UInt8(n & 0xff), UInt8(n >> 8)])
        data.append(contentsOf: Array(header.utf8))
        matrix.storage.withUnsafeBufferPointer { p in
            for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// Writes `matrix` as a float64 `.npy` file, atomically.
    public static func write(_ matrix: Matrix<Double>, to path: String) throws {
        try AtomicFile.write(encode(matrix), to: path)
    }
}

extension FixedWidthInteger {
    init(fromBytes p: UnsafeRawPointer, littleEndian: Bool) {
        let v = p.loadUnaligned(as: Self.self)
        self = littleEndian ? Self(littleEndian: v) : Self(bigEndian: v)
    }
}
