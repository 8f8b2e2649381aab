/// Loads a data file by its extension: `.csv`, `.npy`, or IDX (`.idx3-ubyte`, `.idx1-ubyte`, `.idx`).
public enum DataLoader {
    /// Whether ``load(path:columns:)`` reads `path` as an IDX file (raw bytes, such as image pixels 0–255).
    public static func isIDX(_ path: String) -> Bool {
        let lower = path.lowercased()
        return !lower.hasSuffix(".csv") && !lower.hasSuffix(".txt") && !lower.hasSuffix(".npy")
            && (lower.contains("idx") || lower.hasSuffix("-ubyte"))
    }

    /// Loads `path`. `columns` selects CSV columns by name (for `.npy` and IDX, names are `x1`, `x2`, …).
    /// The second result lists CSV columns skipped because they hold no numbers.
    public static func load(path: String, columns: [String]? = nil) throws -> (table: DataTable, skipped: [String]) {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") || lower.hasSuffix(".txt") {
            return try CSV.read(path: path, columns: columns)
        }
        let matrix: Matrix<Double>
        if lower.hasSuffix(".npy") {
            matrix = try NumPy.read(path: path)
        } else if isIDX(path) {
            matrix = try IDX.read(path: path)
        } else {
            throw DataError.unsupportedFormat(path: path, reason: "unknown file type; use .csv (with a header row), .npy or an IDX file")
        }
        let names = (0..<matrix.columns).map { "x\($0 + 1)" }
        var table = DataTable(source: path, columnNames: names, values: matrix)
        for (i, v) in matrix.storage.enumerated() where v.isInfinite {
            throw DataError.nonFinite(path: path, line: i / matrix.columns, column: names[i % matrix.columns], value: v)
        }
        if let columns { table = try table.selecting(columns: columns) }
        return (table, [])
    }
}
