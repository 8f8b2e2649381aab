/// A dense matrix in contiguous row-major storage.
///
/// `Matrix` is a value type with copy-on-write storage (a Swift array) that only this type mutates:
/// element `(i, j)` lives at `elements[i * columns + j]`, writes go through the subscript (indices
/// checked in debug builds) or ``withUnsafeMutableBufferPointer(_:)``, so the shape and the storage
/// always agree. Hot loops should work on the buffer pointers rather than the subscript.
public struct Matrix<Scalar: BLASScalar>: Equatable, Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns.
    public let columns: Int
    /// The elements, row after row (`rows × columns` of them).
    @usableFromInline
    internal var storage: [Scalar]

    /// The elements, row after row: a read-only view, O(1) (copy-on-write shares the storage).
    @inlinable
    public var elements: [Scalar] { storage }

    /// A `rows × columns` matrix filled with `value`.
    @inlinable
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        self.storage = [Scalar](repeating: value, count: rows * columns)
    }

    /// A `rows × columns` matrix whose storage `initialize` fills: it must write every element
    /// (saves zero-filling buffers that are overwritten anyway).
    @inlinable
    public init(rows: Int, columns: Int, initializingWith initialize: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        guard rows * columns > 0 else {
            // Not through `unsafeUninitializedCapacity`: for zero elements it writes the count into
            // the standard library's shared empty-array storage, a (benign) race ThreadSanitizer reports.
            self.storage = []
            return
        }
        self.storage = [Scalar](unsafeUninitializedCapacity: rows * columns) { buffer, count in
            initialize(buffer)
            count = rows * columns
        }
    }

    /// A matrix that takes ownership of row-major `storage`.
    @inlinable
    public init(rows: Int, columns: Int, storage: [Scalar]) {
        precondition(storage.count == rows * columns, "Storage holds \(storage.count) elements, expected \(rows) × \(columns)")
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    /// A matrix from an array of equally long rows.
    @inlinable
    public init(_ rowArrays: [[Scalar]]) {
        let columns = rowArrays.first?.count ?? 0
        precondition(rowArrays.allSatisfy { $0.count == columns }, "All rows must have the same length")
        self.init(rows: rowArrays.count, columns: columns, storage: rowArrays.flatMap { $0 })
    }

    /// The `n × n` identity matrix.
    @inlinable
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.storage[i * n + i] = 1 }
        return m
    }

    /// A square matrix with `diagonal` on its diagonal.
    @inlinable
    public static func diagonal(_ diagonal: [Scalar]) -> Matrix {
        let n = diagonal.count
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m.storage[i * n + i] = diagonal[i] }
        return m
    }

    /// Element at row `i`, column `j`.
    @inlinable
    public subscript(i: Int, j: Int) -> Scalar {
        get {
            assert(i >= 0 && i < rows && j >= 0 && j < columns, "Matrix index (\(i), \(j)) outside \(rows) × \(columns)")
            return storage[i &* columns &+ j]
        }
        set {
            assert(i >= 0 && i < rows && j >= 0 && j < columns, "Matrix index (\(i), \(j)) outside \(rows) × \(columns)")
            storage[i &* columns &+ j] = newValue
        }
    }

    /// A copy of row `i`.
    @inlinable
    public func row(_ i: Int) -> [Scalar] {
        Array(storage[(i * columns)..<((i + 1) * columns)])
    }

    /// A copy of column `j`.
    @inlinable
    public func column(_ j: Int) -> [Scalar] {
        var out: [Scalar] = []
        out.reserveCapacity(rows)
        for i in 0..<rows { out.append(storage[i &* columns &+ j]) }
        return out
    }

    /// The rows as nested arrays (for serialisation and printing).
    @inlinable
    public var rowArrays: [[Scalar]] { (0..<rows).map(row) }

    /// The transpose. - Complexity: `O(rows·columns)`, in 32 × 32 tiles (both sides stay in cache).
    @inlinable
    public var transposed: Matrix {
        let m = rows, n = columns, tile = 32
        return storage.withUnsafeBufferPointer { src in
            Matrix(rows: n, columns: m) { dst in
                for i0 in stride(from: 0, to: m, by: tile) {
                    for j0 in stride(from: 0, to: n, by: tile) {
                        for i in i0..<Swift.min(m, i0 + tile) {
                            for j in j0..<Swift.min(n, j0 + tile) { (dst.baseAddress! + (j &* m &+ i)).initialize(to: src[i &* n &+ j]) }
                        }
                    }
                }
            }
        }
    }

    /// The diagonal (of the leading square block when the matrix is not square).
    @inlinable
    public var diagonal: [Scalar] {
        let n = Swift.min(rows, columns)
        var out: [Scalar] = []
        out.reserveCapacity(n)
        for i in 0..<n { out.append(storage[i &* columns &+ i]) }
        return out
    }

    /// These rows above those of `other` (the same number of columns): `(rows + other.rows) × columns`.
    @inlinable
    public func stacked(above other: Matrix) -> Matrix {
        precondition(other.columns == columns, "Stacked matrices need the same number of columns")
        return Matrix(rows: rows + other.rows, columns: columns, storage: storage + other.storage)
    }

    /// The rows whose indices are given, in that order.
    @inlinable
    public func selectingRows<C: Collection>(_ indices: C) -> Matrix where C.Element == Int {
        let c = columns, n = rows
        return storage.withUnsafeBufferPointer { src in
            Matrix(rows: indices.count, columns: c) { dst in
                for (r, i) in indices.enumerated() {
                    precondition(i >= 0 && i < n, "Row index \(i) out of range")
                    (dst.start + r &* c).initialize(from: src.start + i &* c, count: c)
                }
            }
        }
    }

    /// The columns whose indices are given, in that order.
    public func selectingColumns(_ indices: [Int]) -> Matrix {
        var out = Matrix(rows: rows, columns: indices.count)
        for i in 0..<rows {
            for (c, j) in indices.enumerated() { out.storage[i * indices.count + c] = storage[i * columns + j] }
        }
        return out
    }

    /// Calls `body` with a pointer to the row-major elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with a mutable pointer to the row-major elements.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        rowArrays.map { $0.map { "\($0)" }.joined(separator: "\t") }.joined(separator: "\n")
    }
}

extension Matrix where Scalar == Double {
    /// Converts to single precision.
    public var float: Matrix<Float> { Matrix<Float>(rows: rows, columns: columns, storage: storage.map(Float.init)) }

    /// Whether some element is NaN (a missing value). One vector pass (`x − x` is NaN only for NaN
    /// and ±∞), then an exact scan only when that pass flags something: the common complete matrix
    /// costs a quarter of an element-by-element test.
    public var containsNaN: Bool {
        storage.withUnsafeBufferPointer { p in
            let n = p.count, base = UnsafeRawPointer(p.baseAddress)
            var acc = SIMD8<Double>.zero, i = 0
            while i + 8 <= n {
                let v = base!.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Double>.self)
                acc += v - v
                i += 8
            }
            while i < n { acc[0] += p[i] - p[i]; i += 1 }
            return acc.sum().isNaN && p.contains(where: \.isNaN)
        }
    }
}

extension Matrix where Scalar == Float {
    /// Converts to double precision.
    public var double: Matrix<Double> { Matrix<Double>(rows: rows, columns: columns, storage: storage.map(Double.init)) }
}

extension Matrix: Codable where Scalar: Codable {
    private enum CodingKeys: String, CodingKey { case rows, columns, elements }

    /// Decodes `{rows, columns, elements}` (row after row). - Throws: `DecodingError.dataCorrupted`
    /// when the shape is negative or the element count is not `rows × columns`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try container.decode(Int.self, forKey: .rows), columns = try container.decode(Int.self, forKey: .columns)
        let elements = try container.decode([Scalar].self, forKey: .elements)
        let product = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, !product.overflow, product.partialValue == elements.count else {
            throw DecodingError.dataCorruptedError(forKey: .elements, in: container,
                                                   debugDescription: "\(elements.count) elements for a \(rows) × \(columns) matrix")
        }
        self.init(rows: rows, columns: columns, storage: elements)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rows, forKey: .rows)
        try container.encode(columns, forKey: .columns)
        try container.encode(storage, forKey: .elements)
    }
}
