/// Numeric data with named columns, as read from a file. Missing values are NaN.
public struct DataTable: Sendable, Equatable {
    /// Where the data came from (for messages).
    public var source: String
    /// One name per column.
    public var columnNames: [String]
    /// The values, one row per observation; NaN marks a missing value.
    public var values: Matrix<Double>
    /// The row number in the source file of each row of ``values`` (CSV line number, or 0-based
    /// index for binary formats), so messages can point at the original row.
    public var sourceRows: [Int]

    public init(source: String, columnNames: [String], values: Matrix<Double>, sourceRows: [Int]? = nil) {
        precondition(columnNames.count == values.columns, "One name per column")
        self.source = source
        self.columnNames = columnNames
        self.values = values
        self.sourceRows = sourceRows ?? Array(0..<values.rows)
    }

    /// Number of rows.
    public var count: Int { values.rows }

    /// Whether any value is missing.
    public var hasMissingValues: Bool { values.storage.contains { $0.isNaN } }

    /// Throws ``DataError/missingValue(path:line:column:)`` at the first missing value.
    public func requireComplete() throws {
        let d = values.columns
        if let i = values.storage.firstIndex(where: { $0.isNaN }) {
            throw DataError.missingValue(path: source, line: sourceRows[i / d], column: columnNames[i % d])
        }
    }

    /// Throws ``DataError/allMissingRows(path:lines:)`` if some row has no observed value.
    public func requireSomeObservedPerRow() throws {
        let d = values.columns
        var bad: [Int] = []
        for i in 0..<values.rows {
            var any = false
            for j in 0..<d where !values.storage[i * d + j].isNaN { any = true; break }
            if !any { bad.append(sourceRows[i]) }
        }
        if !bad.isEmpty { throw DataError.allMissingRows(path: source, lines: bad) }
    }

    /// The table restricted to the named columns, in the order given.
    public func selecting(columns names: [String]) throws -> DataTable {
        let unknown = names.filter { !columnNames.contains($0) }
        if !unknown.isEmpty { throw DataError.unknownColumns(path: source, unknown: unknown, available: columnNames) }
        let idx = names.map { columnNames.firstIndex(of: $0)! }
        return DataTable(source: source, columnNames: names, values: values.selectingColumns(idx), sourceRows: sourceRows)
    }
}
